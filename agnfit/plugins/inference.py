"""Built-in plugin: inference backends (MAP with optax; more in agnfit.inference_backends)."""

from __future__ import annotations

from ..registry.hookspecs import hookimpl
from .map import MAP


def map_backend(optimizer: str = "lbfgs", learning_rate: float = 0.02, max_steps: int = 2000,
                tol: float = 1e-9, staged: bool = True, continuum_steps: int = 500):
    """Maximum a posteriori point by optax (``lbfgs`` or ``adam``), staged continuum -> full model."""
    return MAP(optimizer, float(learning_rate), int(max_steps), float(tol), bool(staged), int(continuum_steps))


@hookimpl
def register_inference_backends():
    return {"map": map_backend}

"""Built-in plugin: inference backends (MAP, Laplace, NUTS).

Each factory takes keyword options only (the ``[[inference]]`` stage options
of a config) and returns an :class:`~agnfit.core.inference.AbstractInference`.
Stages are composed with :func:`agnfit.plugins.staged.backend_from_config`.
"""

from __future__ import annotations

import dataclasses
import inspect

from ..registry.hookspecs import hookimpl
from .laplace import Laplace
from .map import MAP
from .nuts import NUTS


def map_backend(
    optimizer: str = "lm",
    learning_rate: float = 0.02,
    max_steps: int = 2000,
    tol: float = 1e-9,
    staged: bool = True,
    continuum_steps: int = 500,
    continuum_tol: float = 1e-6,
    gap_tol: float = 1e-3,
):
    """Maximum a posteriori point: Levenberg-Marquardt ``lm`` (default), ``lbfgs`` / ``adam`` (optax) or damped ``newton``.

    Staged: the continuum and calibration groups first with the line windows
    masked, then the full model (see :class:`~agnfit.plugins.map.MAP` for the options).
    """
    return MAP(str(optimizer), float(learning_rate), int(max_steps), float(tol), bool(staged), int(continuum_steps),
               float(continuum_tol), float(gap_tol))


def laplace_backend(num_samples: int = 1000, eig_floor: float = 1e-10):
    """Gaussian at the MAP point in the unconstrained space, ``num_samples`` draws (runs MAP without init)."""
    return Laplace(num_samples=int(num_samples), eig_floor=float(eig_floor))


#: the NUTS options a config may set and their types; the defaults are :class:`NUTS`'s
NUTS_OPTIONS = {
    "num_warmup": int, "num_samples": int, "num_chains": int, "dense_mass": bool, "precondition": str,
    "target_accept_prob": float, "max_tree_depth": int, "chain_method": str, "init_jitter": float,
}


def nuts_backend(**options):
    """numpyro NUTS from the previous stage's point (runs MAP without init); options as :class:`NUTS`."""
    unknown = sorted(set(options) - set(NUTS_OPTIONS))
    if unknown:
        raise TypeError(f"nuts_backend() got unexpected keyword argument(s) {unknown}")
    return NUTS(**{k: NUTS_OPTIONS[k](v) for k, v in options.items()})


_NUTS_DEFAULTS = {f.name: f.default for f in dataclasses.fields(NUTS)}
nuts_backend.__signature__ = inspect.Signature(
    [inspect.Parameter(k, inspect.Parameter.KEYWORD_ONLY, default=_NUTS_DEFAULTS[k]) for k in NUTS_OPTIONS]
)


@hookimpl
def register_inference_backends():
    return {"map": map_backend, "laplace": laplace_backend, "nuts": nuts_backend}

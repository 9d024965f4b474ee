"""Built-in plugin: inference backends (MAP, Laplace, NUTS).

Each factory takes keyword options only (the ``[[inference]]`` stage options
of a config) and returns an :class:`~agnfit.core.inference.AbstractInference`.
Stages are composed with :func:`agnfit.plugins.staged.backend_from_config`.
"""

from __future__ import annotations

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


def nuts_backend(
    num_warmup: int = 500,
    num_samples: int = 500,
    num_chains: int = 4,
    dense_mass: bool = False,
    target_accept_prob: float = 0.8,
    max_tree_depth: int = 10,
    chain_method: str = "vectorized",
    init_jitter: float = 0.01,
):
    """numpyro NUTS from the previous stage's point (runs MAP without init)."""
    return NUTS(
        num_warmup=int(num_warmup),
        num_samples=int(num_samples),
        num_chains=int(num_chains),
        dense_mass=bool(dense_mass),
        target_accept_prob=float(target_accept_prob),
        max_tree_depth=int(max_tree_depth),
        chain_method=str(chain_method),
        init_jitter=float(init_jitter),
    )


@hookimpl
def register_inference_backends():
    return {"map": map_backend, "laplace": laplace_backend, "nuts": nuts_backend}

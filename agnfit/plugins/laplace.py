"""Laplace approximation: a Gaussian at the MAP point in the unconstrained space.

The potential energy U(u) = -log p(u | data) (numpyro's, including the
log-Jacobians of the support transforms) is expanded to second order at its
minimum u*: p(u | data) ~ N(u*, H^-1) with H the Hessian of U at u*
(e.g. Bishop 2006, sect. 4.4; MacKay 2003, ch. 27). Draws from that Gaussian
are mapped to the constrained space, so amplitudes stay positive and bounded
parameters stay in their bounds, and the constrained marginals are skewed
where the transforms are nonlinear.

If H is not positive definite (a saddle point, a flat direction, or an
unconverged MAP), its eigenvalues are floored at ``eig_floor`` times the
largest one; the posterior is then flagged (``converged=False``) and the
number of floored directions is in the diagnostics.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from ..core.inference import AbstractInference, Posterior
from ..core.jit import fit_jit
from ..errors import ConfigError
from .map import MAP, constrain, start_point
from .sites import potential


@fit_jit
def potential_hessian(model, data, u: dict):
    """Hessian (p, p) of the potential energy at ``u``, in ``ravel_pytree`` order."""
    x, unravel = ravel_pytree(u)
    pot = potential(model, data)
    return jax.hessian(lambda y: pot(unravel(y)))(x)


@eqx.filter_jit  # XLA's defaults, as for the batched MAP loop
def _hessian_batch(model, data, u: dict):
    """:func:`potential_hessian` vmapped over the leading axis of ``data`` and ``u``."""
    return jax.vmap(lambda d, v: potential_hessian(model, d, v))(data, u)


@fit_jit
def draw_constrained(model, data, u: dict, scale, key, num_samples: int) -> dict:
    """``num_samples`` draws of ``u + scale @ z`` (z standard normal), mapped to the constrained space."""
    x, unravel = ravel_pytree(u)
    z = jax.random.normal(key, (num_samples, x.size), dtype=x.dtype)
    xs = x + z @ scale.T
    return jax.vmap(lambda y: constrain(model, data, unravel(y)))(xs)


def covariance_factor(hess: np.ndarray, eig_floor: float, symmetric: bool = False) -> tuple[np.ndarray, dict]:
    """A factor S with S S^T = H^-1 (eigenvalues floored if needed), and what was done.

    ``S = V diag(w)^-1/2`` from the eigen-decomposition ``H = V diag(w) V^T``,
    or with ``symmetric`` the symmetric square root ``V diag(w)^-1/2 V^T``:
    the factor that rotates the coordinates least, so that coordinate i of
    ``y = S^-1 (u - u*)`` stays closest to parameter i.

    Returns ``(S, info)``; ``info`` has ``eig_min``, ``eig_max``, ``n_floored``
    and ``positive_definite`` (before flooring).
    """
    h = 0.5 * (hess + hess.T)
    w, v = np.linalg.eigh(h)
    top = float(np.max(np.abs(w))) if w.size else 1.0
    floor = eig_floor * (top if top > 0 else 1.0)
    low = w <= floor
    w_reg = np.where(low, floor, w)
    info = {
        "eig_min": float(w.min()) if w.size else float("nan"),
        "eig_max": float(w.max()) if w.size else float("nan"),
        "n_floored": int(low.sum()),
        "positive_definite": not bool(low.any()),
    }
    factor = v / np.sqrt(w_reg)[None, :]
    return (factor @ v.T if symmetric else factor), info


class Laplace(AbstractInference):
    """Gaussian approximation of the posterior at the MAP point (unconstrained space).

    Args:
        num_samples: number of draws from the Gaussian (constrained on return).
        eig_floor: Hessian eigenvalues at or below ``eig_floor`` x the largest
            one count as not positive definite and are raised to that floor.
        start: the MAP backend run first when ``init`` is not a MAP posterior
            (a non-MAP ``init``, e.g. a sampler's median, is used as its warm start).
    """

    num_samples: int = 1000
    eig_floor: float = 1e-10
    start: MAP = MAP()

    def __check_init__(self):
        if self.num_samples < 1:
            raise ConfigError(f"Laplace num_samples must be >= 1, got {self.num_samples}")
        if not 0 < self.eig_floor < 1:
            raise ConfigError(f"Laplace eig_floor must be in (0, 1), got {self.eig_floor}")

    def draws(self) -> int:
        return int(self.num_samples)

    def run(self, model, data, key=None, init: Posterior | None = None) -> Posterior:
        """Expand the potential at the MAP point of ``model`` on ``data`` and sample the Gaussian."""
        key = jax.random.PRNGKey(0) if key is None else key
        mode = init
        if init is None or init.kind != "map" or init.unconstrained is None:
            mode = self.start.run(model, data, key, init)
        u = {k: jnp.asarray(v) for k, v in start_point(model, data, mode).items()}
        return self._from_mode(model, data, key, mode, u, np.asarray(potential_hessian(model, data, u)))

    def run_batch(self, model, data, n: int, keys) -> list[Posterior]:
        """``run`` for ``n`` spectra (``data`` batched on a leading axis): MAP and Hessians vmapped.

        ``keys``: one PRNG key per spectrum. The Gaussian factors and draws are then formed per spectrum.
        """
        from .map import _member

        modes = self.start.run_batch(model, data, n)
        ub = {k: jnp.stack([jnp.asarray(m.unconstrained[k]) for m in modes]) for k in modes[0].unconstrained}
        hess = np.asarray(_hessian_batch(model, data, ub))
        return [self._from_mode(model, _member(data, i), keys[i], modes[i], _member(ub, i), hess[i]) for i in range(n)]

    def _from_mode(self, model, data, key, mode: Posterior, u: dict, hess: np.ndarray) -> Posterior:
        """The Gaussian posterior given the MAP posterior ``mode``, its unconstrained point ``u`` and the Hessian there."""
        diag = {"map": {"converged": mode.converged, "message": mode.message, **mode.diagnostics}}
        if not np.all(np.isfinite(hess)):
            return self._degenerate(mode, diag, "Hessian at the MAP point is not finite")
        scale, info = covariance_factor(hess, self.eig_floor)
        diag.update(info)
        _, unravel = ravel_pytree(u)
        sd = np.sqrt(np.sum(scale**2, axis=1))
        diag["sd_unconstrained"] = {k: np.asarray(v) for k, v in unravel(jnp.asarray(sd)).items()}
        draws = draw_constrained(model, data, u, jnp.asarray(scale), key, int(self.num_samples))
        samples = {k: np.asarray(v)[None] for k, v in draws.items()}
        problems = []
        if not info["positive_definite"]:
            problems.append(
                f"Hessian not positive definite ({info['n_floored']} eigenvalue(s) <= {self.eig_floor:g} x max, "
                f"min {info['eig_min']:.3g}); floored, the covariance is regularised"
            )
        if not mode.converged:
            problems.append(f"the MAP point did not converge ({mode.message})")
        ok = not problems
        msg = "; ".join(problems) if problems else f"Gaussian at the MAP point, {self.num_samples} draws"
        post = Posterior("laplace", dict(mode.point), samples, ok, msg, diag, dict(mode.unconstrained))
        post.check()
        return post

    def _degenerate(self, mode: Posterior, diag: dict, why: str) -> Posterior:
        """The MAP point as a single draw, flagged, when no Gaussian can be formed."""
        samples = {k: np.asarray(v)[None, None] for k, v in mode.point.items()}
        post = Posterior("laplace", dict(mode.point), samples, False, why, diag, dict(mode.unconstrained))
        post.check()
        return post

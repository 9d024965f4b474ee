"""MAP estimation with optax in the unconstrained parameter space.

The loss is numpyro's potential energy (minus the log joint density, with
the Jacobians of the transforms to each prior's support), so the optimiser
can never leave a parameter's support. The whole optimisation loop runs in one
``lax.while_loop`` under ``eqx.filter_jit``: the model's arrays and the data
are traced, so a new spectrum with the same model structure reuses the
compiled loop. Staging: the continuum-group components are first fitted with
the line windows masked, then the full model starts from there.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from numpyro.infer.util import constrain_fn, potential_energy, unconstrain_fn

from ..core.inference import AbstractInference, Posterior

PATIENCE = 10


def unconstrain(model, data, params: dict) -> dict:
    return unconstrain_fn(model, (data,), {}, params)


def constrain(model, data, u: dict) -> dict:
    return constrain_fn(model, (data,), {}, u)


def loss_fn(model, data):
    return lambda u: potential_energy(model, (data,), {}, u)


def _make_opt(optimizer: str, lr: float):
    if optimizer == "lbfgs":
        return optax.lbfgs()
    if optimizer == "adam":
        return optax.adam(lr)
    raise ValueError(f"unknown optimizer {optimizer!r}; use 'lbfgs' or 'adam'")


@eqx.filter_jit
def optimize(model, data, u0: dict, optimizer: str, lr: float, max_steps: int, tol: float):
    """Minimise the potential from ``u0``; returns (u, loss, n_steps, converged)."""
    f = loss_fn(model, data)
    opt = _make_opt(optimizer, lr)
    vg = optax.value_and_grad_from_state(f) if optimizer == "lbfgs" else jax.value_and_grad(f)

    def step(carry):
        u, state, loss, i, calm, _ = carry
        if optimizer == "lbfgs":
            val, g = vg(u, state=state)
            upd, state = opt.update(g, state, u, value=val, grad=g, value_fn=f)
        else:
            val, g = vg(u)
            upd, state = opt.update(g, state, u)
        u_new = optax.apply_updates(u, upd)
        small = jnp.abs(loss - val) <= tol * (1.0 + jnp.abs(val))
        calm = jnp.where(small, calm + 1, 0)
        ok = jnp.isfinite(val)
        return u_new, state, val, i + 1, calm, ok

    def cond(carry):
        _, _, _, i, calm, ok = carry
        return (i < max_steps) & (calm < PATIENCE) & ok

    state = opt.init(u0)
    init = (u0, state, jnp.asarray(jnp.inf), jnp.asarray(0), jnp.asarray(0), jnp.asarray(True))
    u, state, loss, n, calm, ok = jax.lax.while_loop(cond, step, init)
    final = f(u)
    return u, final, n, (calm >= PATIENCE) & ok & jnp.isfinite(final)


class MAP(AbstractInference):
    """Maximum a posteriori point, staged (continuum, then everything).

    Args:
        optimizer: ``"lbfgs"`` (default) or ``"adam"`` (optax).
        learning_rate: Adam step size (unused by L-BFGS, which line-searches).
        max_steps: iteration cap of the full-model stage.
        tol: convergence when the relative loss change stays below ``tol`` for
            10 consecutive steps.
        staged: fit the continuum group first with line windows masked.
        continuum_steps: iteration cap of the continuum stage.
    """

    optimizer: str = "lbfgs"
    learning_rate: float = 0.02
    max_steps: int = 2000
    tol: float = 1e-9
    staged: bool = True
    continuum_steps: int = 500

    def run(self, model, data, key=None, init: Posterior | None = None) -> Posterior:
        start = model.init_values()
        if init is not None:
            start.update({k: v for k, v in init.point.items() if k in start})
        u0 = unconstrain(model, data, start)
        info = {}
        if self.staged and init is None:
            cont = model.select(("continuum", "calibration"))
            if cont.components and len(cont.components) < len(model.components):
                cdata = data._replace(mask=data.mask * model.continuum_mask(data.wave))
                uc0 = {k: u0[k] for k in unconstrain(cont, cdata, {k: start[k] for k in cont.priors()})}
                uc, lc, nc, okc = optimize(cont, cdata, uc0, self.optimizer, self.learning_rate, self.continuum_steps, self.tol)
                u0 = {**u0, **uc}
                info["continuum_stage"] = {"loss": float(lc), "n_steps": int(nc), "converged": bool(okc)}
        u, loss, n, ok = optimize(model, data, u0, self.optimizer, self.learning_rate, self.max_steps, self.tol)
        point = {k: np.asarray(v) for k, v in constrain(model, data, u).items()}
        ok = bool(ok)
        msg = f"{'converged' if ok else 'NOT converged'} after {int(n)} steps, loss {float(loss):.6g}"
        if not np.isfinite(float(loss)):
            msg += " (non-finite loss)"
        elif not ok and int(n) >= self.max_steps:
            msg += f" (hit max_steps={self.max_steps})"
        diag = {"loss": float(loss), "n_steps": int(n), **info}
        samples = {k: np.asarray(v)[None, None] for k, v in point.items()}
        return Posterior("map", point, samples, ok, msg, diag, {k: np.asarray(v) for k, v in u.items()})

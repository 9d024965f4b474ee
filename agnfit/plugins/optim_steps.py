"""The iteration steps of the MAP optimisers (:mod:`agnfit.plugins.map` runs the loop).

Each optimiser is a pair (init, step) on a flat parameter vector ``x``;
``step(x, state)`` returns ``(loss, gradient, x_new, state, counts, gap)``:
``counts`` says whether the step counts towards the convergence patience
(rejected damped steps do not) and ``gap`` is the decrease the local quadratic
model still predicts (inf for first-order methods).

* L-BFGS and Adam: optax.
* Levenberg-Marquardt on the exact Hessian (``newton``) or on the Fisher
  (Gauss-Newton) curvature of :mod:`agnfit.plugins.fisher` (``lm``):
  solve ``(H + lambda D) delta = -g``, accept the step only if the loss
  decreases, and shrink/grow ``lambda`` on acceptance/rejection (Levenberg
  1944; Marquardt 1963; Nocedal & Wright 2006, ch. 10).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

#: Levenberg-Marquardt damping: start value, factors on rejection / acceptance, bounds
LM_START, LM_GROW, LM_SHRINK, LM_MIN, LM_MAX = 1e-3, 4.0, 3.0, 1e-12, 1e12
#: relative ridge (times the damping scale) that keeps the Newton-decrement solve regular
GAP_RIDGE = 1e-9
#: the Levenberg-Marquardt curvature is recomputed after this many accepted steps
FISHER_REFRESH = 1


def first_order(optimizer: str, lr: float, f):
    """(init, step) for optax L-BFGS or Adam on a flat vector; step returns (val, grad, x_new, state, counts, gap)."""
    if optimizer == "lbfgs":
        opt = optax.lbfgs()
        vg = optax.value_and_grad_from_state(f)

        def step(x, state):
            val, g = vg(x, state=state)
            upd, state = opt.update(g, state, x, value=val, grad=g, value_fn=f)
            return val, g, x + upd, state, jnp.asarray(True), jnp.asarray(jnp.inf, dtype=x.dtype)

    else:
        opt = optax.adam(lr)
        vg = jax.value_and_grad(f)

        def step(x, state):
            val, g = vg(x)
            upd, state = opt.update(g, state, x)
            return val, g, x + upd, state, jnp.asarray(True), jnp.asarray(jnp.inf, dtype=x.dtype)

    return opt.init, step


def damped_step(f, x, val, g, h, lam, scale):
    """One Levenberg-Marquardt step: solve (h + lam diag(scale)) delta = -g, keep it if the loss drops.

    Returns (val, g, x_new, lam_new, counts, gap): lambda shrinks on acceptance
    and grows on rejection; a rejected step does not count towards convergence
    unless lambda is at its maximum. ``gap`` is the decrease the undamped
    quadratic model predicts from ``x`` to its minimum, g^T h^-1 g / 2 (the
    Newton decrement; Boyd & Vandenberghe 2004, sec. 9.5.1), or inf when it
    cannot be computed.
    """
    delta = jnp.linalg.solve(h + jnp.diag(lam * scale), -g)
    x_try = x + delta
    f_try = f(x_try)
    accept = jnp.isfinite(f_try) & (f_try < val) & jnp.all(jnp.isfinite(delta))
    x_new = jnp.where(accept, x_try, x)
    lam = jnp.clip(jnp.where(accept, lam / LM_SHRINK, lam * LM_GROW), LM_MIN, LM_MAX)
    newton = jnp.linalg.solve(h + jnp.diag(GAP_RIDGE * scale), -g)
    gap = -0.5 * jnp.dot(g, newton)
    gap = jnp.where(jnp.isfinite(gap) & (gap >= 0), gap, jnp.inf)
    return val, g, x_new, lam, accept | (lam >= LM_MAX), gap


def newton_lm(f):
    """(init, step) for the Levenberg-Marquardt-damped Newton iteration; the state is lambda."""
    vg = jax.value_and_grad(f)
    hess = jax.hessian(f)

    def step(x, lam):
        val, g = vg(x)
        h = hess(x)
        h = 0.5 * (h + h.T)
        return damped_step(f, x, val, g, h, lam, jnp.abs(jnp.diag(h)) + 1.0)

    return (lambda x: jnp.asarray(LM_START, dtype=x.dtype)), step


def fisher_lm(f, model, data, unravel, names):
    """(init, step) for Levenberg-Marquardt on the Fisher (Gauss-Newton) curvature.

    The state is (lambda, curvature, loss, gradient, moved, age). After a
    rejected step the point has not moved, so its loss, gradient and
    curvature are reused instead of recomputed; after an accepted one the
    loss and gradient are always exact, and the curvature is recomputed once
    it is ``FISHER_REFRESH`` accepted steps old (a slightly stale curvature
    only changes the step proposals, never which steps are accepted).
    """
    from .fisher import fisher_matrix

    vg = jax.value_and_grad(f)

    def init(x):
        n = x.shape[0]
        zero = jnp.asarray(0.0, dtype=x.dtype)
        return (jnp.asarray(LM_START, dtype=x.dtype), jnp.zeros((n, n), x.dtype), zero, jnp.zeros_like(x),
                jnp.asarray(True), jnp.asarray(FISHER_REFRESH))

    def step(x, state):
        lam, h, val, g, moved, age = state
        val, g = jax.lax.cond(moved, lambda: vg(x), lambda: (val, g))
        stale = moved & (age >= FISHER_REFRESH)
        h = jax.lax.cond(stale, lambda: fisher_matrix(model, data, unravel(x), names, unravel(g)), lambda: h)
        age = jnp.where(stale, 0, age)
        out = damped_step(f, x, val, g, h, lam, jnp.diag(h) + 1e-6 * (1.0 + jnp.max(jnp.diag(h))))
        _, _, x_new, lam_new, counts, gap = out
        accepted = jnp.any(x_new != x)
        return val, g, x_new, (lam_new, h, val, g, accepted, age + accepted), counts, gap

    return init, step

"""The iteration steps of the MAP optimisers (:mod:`agnfit.plugins.map` runs the loop).

The loop evaluates one candidate point per iteration, loss and gradient
together, and hands it to the optimiser's step, which decides where the
iterate goes and proposes the next candidate. So the compiled loop holds a
single copy of the model's value and gradient, however the optimiser uses
them: no separate trial evaluation, no re-evaluation of an accepted point.
The first candidate is the starting point itself.

Each optimiser is a :class:`Stepper`:

* L-BFGS and Adam: optax; every candidate is taken.
* Levenberg-Marquardt on the exact Hessian (``newton``) or on the Fisher
  (Gauss-Newton) curvature of :mod:`agnfit.plugins.fisher` (``lm``):
  the candidate is ``x + delta`` with ``(H + lambda D) delta = -g``; it is
  taken only if the loss decreases, and lambda shrinks/grows on
  acceptance/rejection (Levenberg 1944; Marquardt 1963; Nocedal & Wright
  2006, ch. 10). The curvature is computed once per accepted point.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

#: Levenberg-Marquardt damping: start value, factors on rejection / acceptance, bounds
LM_START, LM_GROW, LM_SHRINK, LM_MIN, LM_MAX = 1e-3, 4.0, 3.0, 1e-12, 1e12
#: relative ridge (times the damping scale) that keeps the Newton-decrement solve regular
GAP_RIDGE = 1e-9
#: largest |gradient| (unconstrained space) accepted as an optimum when damping is at its maximum
STALL_GRAD = 1e-2
#: largest decrease of the potential the quadratic model may still predict at such an optimum:
#: below it, the remaining offset is about sqrt(2 * 0.01) = 0.14 standard deviations along the worst
#: direction, which round-off or a kink of the model can keep steps from realising
STALL_GAP = 1e-2


class Point(NamedTuple):
    """A point of the optimisation with its loss and gradient."""

    x: jax.Array
    val: jax.Array
    g: jax.Array


class Step(NamedTuple):
    """What a step returns: the new iterate, the optimiser state and the next candidate.

    ``counts``: the step counts towards the convergence patience (a rejected
    damped step does not, unless the damping is at its maximum). ``moved``:
    the candidate was taken. ``gap``: the decrease the local quadratic model
    predicted from the previous iterate (inf for first-order methods); a
    taken candidate with a gap below ``gap_tol`` ends the loop.
    """

    point: Point
    state: object
    candidate: jax.Array
    counts: jax.Array
    moved: jax.Array
    gap: jax.Array


class Stepper(NamedTuple):
    """An optimiser for the candidate loop.

    Attributes:
        init: ``x0 -> state``.
        value_grad: ``(x, state) -> (loss, gradient)`` at a candidate.
        step: ``(iterate, state, evaluated candidate) -> Step``.
        stuck: ``(final state, max |gradient|) -> bool``: converged only because no step lowers the loss.
    """

    init: Callable
    value_grad: Callable
    step: Callable
    stuck: Callable


def _never_stuck(state, gmax):
    return jnp.asarray(False)


def first_order(optimizer: str, lr: float, f) -> Stepper:
    """optax L-BFGS (zoom line search) or Adam with step size ``lr``; every candidate is taken."""
    if optimizer == "lbfgs":
        opt = optax.lbfgs()
        value_grad = optax.value_and_grad_from_state(f)

        def update(p: Point, state):
            return opt.update(p.g, state, p.x, value=p.val, grad=p.g, value_fn=f)

        vg = lambda x, state: value_grad(x, state=state)  # noqa: E731  (reuses the line search's evaluation)
    else:
        opt = optax.adam(lr)
        value_grad = jax.value_and_grad(f)

        def update(p: Point, state):
            return opt.update(p.g, state, p.x)

        vg = lambda x, state: value_grad(x)  # noqa: E731

    def step(cur: Point, state, cand: Point) -> Step:
        upd, state = update(cand, state)
        inf = jnp.asarray(jnp.inf, dtype=cand.x.dtype)
        return Step(cand, state, cand.x + upd, jnp.asarray(True), jnp.asarray(True), inf)

    return Stepper(opt.init, vg, step, _never_stuck)


def _damped(f, curvature: Callable, scale: Callable) -> Stepper:
    """Levenberg-Marquardt on ``curvature(x, g)`` with damping ``lambda * diag(scale(h))``.

    The state is (lambda, curvature, gap, growth) at the iterate. The first
    candidate (the starting point) is taken if its loss is finite; lambda then
    starts at ``LM_START``. It shrinks by ``LM_SHRINK`` on acceptance and grows
    by a factor that starts at ``LM_GROW`` and doubles with each consecutive
    rejection (Nielsen 1999, "Damping parameter in Marquardt's method", IMM
    DTU), so a run of rejections after many small-lambda steps ends in a few
    evaluations.
    """
    value_grad = jax.value_and_grad(f)

    def init(x):
        n = x.shape[0]
        return (jnp.asarray(LM_START * LM_SHRINK, dtype=x.dtype), jnp.eye(n, dtype=x.dtype),
                jnp.asarray(jnp.inf, dtype=x.dtype), jnp.asarray(LM_GROW, dtype=x.dtype))

    def step(cur: Point, state, cand: Point) -> Step:
        lam, h, gap, grow = state
        accept = jnp.isfinite(cand.val) & (cand.val < cur.val)
        new = jax.tree_util.tree_map(lambda a, b: jnp.where(accept, a, b), cand, cur)
        lam = jnp.clip(jnp.where(accept, lam / LM_SHRINK, lam * grow), LM_MIN, LM_MAX)
        grow = jnp.where(accept, LM_GROW, 2.0 * grow)

        def at_new_point():
            # the curvature, and the decrease the undamped quadratic model predicts, g^T h^-1 g / 2
            # (the Newton decrement; Boyd & Vandenberghe 2004, sec. 9.5.1), or inf when it cannot be
            # computed; after a rejection the point, so both, are unchanged
            h_new = curvature(new.x, new.g)
            newton = jnp.linalg.solve(h_new + jnp.diag(GAP_RIDGE * scale(h_new)), -new.g)
            dec = -0.5 * jnp.dot(new.g, newton)
            return h_new, jnp.where(jnp.isfinite(dec) & (dec >= 0), dec, jnp.inf)

        h, gap_new = jax.lax.cond(accept, at_new_point, lambda: (h, gap))
        delta = jnp.linalg.solve(h + jnp.diag(lam * scale(h)), -new.g)
        counts = accept | (lam >= LM_MAX)
        return Step(new, (lam, h, gap_new, grow), new.x + delta, counts, accept, gap)

    def stuck(state, gmax):
        # at the optimum round-off also rejects every step; only a large gradient and a
        # meaningful predicted decrease mean stuck
        lam, _, gap, _ = state
        return (lam >= LM_MAX) & (gmax > STALL_GRAD) & (gap > STALL_GAP)

    return Stepper(init, lambda x, state: value_grad(x), step, stuck)


def newton_lm(f) -> Stepper:
    """Levenberg-Marquardt-damped Newton iteration on the exact Hessian, damping ``|diag H| + 1``."""
    hess = jax.hessian(f)

    def curvature(x, g):
        h = hess(x)
        return 0.5 * (h + h.T)

    return _damped(f, curvature, lambda h: jnp.abs(jnp.diag(h)) + 1.0)


def fisher_lm(f, model, data, unravel, names) -> Stepper:
    """Levenberg-Marquardt on the Fisher (Gauss-Newton) curvature of :func:`agnfit.plugins.fisher.fisher_matrix`."""
    from .fisher import fisher_matrix

    def curvature(x, g):
        return fisher_matrix(model, data, unravel(x), names, unravel(g))

    return _damped(f, curvature, lambda h: jnp.diag(h) + 1e-6 * (1.0 + jnp.max(jnp.diag(h))))

"""MAP estimation in the unconstrained parameter space.

The loss is numpyro's potential energy (minus the log joint density, with the
log-Jacobians of the transforms to each prior's support), so the optimiser can
never leave a parameter's support. The whole optimisation loop runs in one
``lax.while_loop`` under ``fit_jit`` (``eqx.filter_jit``): the model's arrays and the data
are traced, so a new spectrum with the same model structure (and length
bucket) reuses the compiled loop. Staging: the continuum-group components are
first fitted with the line windows masked, then the full model starts there.
Both stages run the same compiled loop: the continuum stage is the full model
with the other components switched off and their parameters held
(:meth:`agnfit.core.model.Model.switched`), so a first fit compiles one loop.

Optimisers (``MAP.optimizer``):

* ``"lm"`` (default): Levenberg-Marquardt on the Fisher-information
  (Gauss-Newton) curvature of ``agnfit.plugins.fisher``, built per component,
  with the exact gradient; tens of iterations on the full model.
* ``"lbfgs"``: optax L-BFGS with a zoom line search.
* ``"adam"``: optax Adam with a fixed step size, the familiar first-order option.
* ``"newton"``: Newton steps on the exact Hessian with Levenberg-Marquardt
  damping (Levenberg 1944; Marquardt 1963; Nocedal & Wright 2006, ch. 10):
  solve ``(H + lambda D) delta = -g`` with ``D = |diag H| + 1``, accept the
  step only if the loss decreases, and shrink/grow ``lambda`` on
  acceptance/rejection. A Gaussian-likelihood MAP is close to a nonlinear
  least-squares problem, where this converges in tens of iterations; each
  iteration costs one Hessian (one forward-over-reverse pass per parameter),
  so it suits models with up to a few hundred parameters.

The steps themselves are in :mod:`agnfit.plugins.optim_steps`.

Convergence: the relative loss change stays below ``tol`` for ``PATIENCE``
consecutive steps or, for the damped methods, a step is accepted where the
local quadratic model predicts less than ``gap_tol`` further decrease (most of
a Levenberg-Marquardt fit's iterations would otherwise be spent creeping
through the last 1e-3 of the potential). A non-finite loss or gradient stops the loop at the last
finite point and is reported as not converged; so is reaching ``max_steps``.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from ..core.inference import AbstractInference, Posterior
from ..core.jit import fit_jit
from ..errors import ConfigError
from .optim_steps import Point, Stepper, first_order, fisher_lm, newton_lm
from .sites import constrain_groups, potential, site_groups

PATIENCE = 10
OPTIMIZERS = ("lm", "lbfgs", "adam", "newton")

#: termination codes of :func:`optimize`
CONVERGED, MAX_STEPS, NON_FINITE, STALLED = 0, 1, 2, 3
REASONS = {
    CONVERGED: f"relative loss change below tol for {PATIENCE} consecutive steps, or predicted gap below gap_tol",
    MAX_STEPS: "hit max_steps",
    NON_FINITE: "non-finite loss or gradient; stopped at the last finite point",
    STALLED: "damping at its maximum: no step decreases the loss (saddle or indefinite curvature)",
}

#: the continuum stage only provides a starting point: it also stops once the quadratic model
#: predicts less than this further decrease of the potential (log-density units)
CONTINUUM_GAP_TOL = 1.0
#: the component groups the continuum stage fits (the others are switched off and held)
CONTINUUM_GROUPS = ("continuum", "calibration")

ERR_OPTIMIZER = "unknown optimizer {!r}; use one of " + repr(OPTIMIZERS)


def unconstrain(model, data, params: dict) -> dict:
    """Constrained parameter values (full names) -> the sampler's unconstrained space.

    The same bijections numpyro uses (``biject_to(prior.support)``), applied per
    site without evaluating the model.
    """
    from .fisher import transforms

    return {k: t.inv(jnp.asarray(params[k], dtype=float)) for k, t in transforms(model).items()}


def constrain(model, data, u: dict) -> dict:
    """Unconstrained values -> constrained parameter values (full names), one transform per prior family."""
    return constrain_groups(site_groups(model), {k: jnp.asarray(v) for k, v in u.items()})


def loss_fn(model, data):
    """The potential energy (negative log joint in the unconstrained space) as ``f(u)``.

    numpyro's potential energy, computed with one vectorised prior per prior
    family (:func:`agnfit.plugins.sites.potential`).
    """
    return potential(model, data)


class OptResult(NamedTuple):
    """What :func:`optimize` returns (arrays; ``status`` is one of the termination codes)."""

    u: dict
    loss: jax.Array
    n_steps: jax.Array
    status: jax.Array
    grad_max: jax.Array
    point: dict  # the constrained values at ``u``


@fit_jit
def optimize(model, data, u0: dict, optimizer: str, lr: float, max_steps: int, tol) -> OptResult:
    """Minimise the potential energy of ``model`` on ``data`` from ``u0`` (unconstrained).

    ``tol`` is the relative loss-change tolerance, or a pair (that, ``gap_tol``
    of :class:`MAP`). One compilation per (model structure, data shapes,
    optimizer): ``model``'s arrays, ``data``, ``u0`` and, when given as arrays
    (as :class:`MAP` does), ``lr``, ``max_steps`` and ``tol`` are traced.
    """
    x0, unravel = ravel_pytree(u0)
    data = model.prepare(data)  # per-spectrum precomputation, once for the whole loop
    base = loss_fn(model, data)
    tol = jnp.asarray(tol)
    rel_tol, gap_tol = (tol, jnp.zeros_like(tol)) if tol.ndim == 0 else (tol[0], tol[1])
    free = None if model.switches is None else ravel_pytree({k: model.switches.free[k] for k in u0})[0] > 0

    @jax.jit
    def f(x):
        if free is not None:  # held parameters: no gradient, so no optimiser moves them
            x = jnp.where(free, x, jax.lax.stop_gradient(x))
        return base(unravel(x))

    stepper = _stepper(optimizer, lr, f, model, data, unravel, u0)

    def body(carry):
        cur, state, cand, i, calm, _, good = carry
        out = stepper.step(cur, state, Point(cand, *stepper.value_grad(cand, state)))
        new = out.point
        ok = jnp.isfinite(new.val) & jnp.all(jnp.isfinite(new.g))
        gmax = jnp.max(jnp.abs(new.g)) if new.g.size else jnp.asarray(0.0, dtype=new.x.dtype)
        # the last point with a finite loss and gradient; its ``g`` field holds max |gradient|
        good = jax.tree_util.tree_map(lambda a, b: jnp.where(ok, a, b), Point(new.x, new.val, gmax), good)
        small = jnp.abs(cur.val - new.val) <= rel_tol * (1.0 + jnp.abs(new.val))
        # damped (LM/Newton) steps that were rejected neither count nor reset the patience
        calm = jnp.where(out.counts, jnp.where(small, calm + 1, 0), calm)
        # a step taken from a point within gap_tol of the quadratic model's minimum ends the loop
        calm = jnp.where(out.moved & (out.gap <= gap_tol), PATIENCE, calm)
        return new, out.state, out.candidate, i + 1, calm, ok, good

    def cond(carry):
        _, _, _, i, calm, ok, _ = carry
        return (i < max_steps) & (calm < PATIENCE) & ok

    inf = jnp.asarray(jnp.inf, dtype=x0.dtype)
    zero = jnp.asarray(0)
    start = Point(x0, inf, jnp.zeros_like(x0))
    carry = (start, stepper.init(x0), x0, zero, zero, jnp.asarray(True), Point(x0, inf, inf))
    _, state, _, n, calm, ok, good = jax.lax.while_loop(cond, body, carry)
    status = jnp.where(~ok, NON_FINITE, jnp.where(calm >= PATIENCE, CONVERGED, MAX_STEPS))
    status = jnp.where((status == CONVERGED) & stepper.stuck(state, good.g), STALLED, status)
    u = unravel(good.x)
    return OptResult(u, good.val, n, status, good.g, constrain(model, data, u))


def _stepper(optimizer: str, lr, f, model, data, unravel, u0: dict) -> Stepper:
    """The :class:`~agnfit.plugins.optim_steps.Stepper` of ``optimizer``."""
    if optimizer == "lm":
        names = sorted(u0)
        if any(jnp.ndim(u0[k]) for k in names):
            raise ValueError("the 'lm' optimizer needs scalar parameters")
        return fisher_lm(f, model, data, unravel, names)
    if optimizer == "newton":
        return newton_lm(f)
    if optimizer in ("lbfgs", "adam"):
        return first_order(optimizer, lr, f)
    raise ValueError(ERR_OPTIMIZER.format(optimizer))


def _message(res: OptResult, max_steps: int) -> tuple[bool, str, str]:
    status = int(res.status)
    loss = float(res.loss)
    ok = bool(status == CONVERGED and np.isfinite(loss))
    reason = REASONS[status] if np.isfinite(loss) else REASONS[NON_FINITE]
    if status == MAX_STEPS:
        reason = f"hit max_steps={max_steps}"
    head = "converged" if ok else "NOT converged"
    return ok, reason, f"{head} after {int(res.n_steps)} steps ({reason}), loss {loss:.6g}"


def start_point(model, data, init: Posterior | None = None) -> dict:
    """Unconstrained starting point: ``init``'s (unconstrained, else its point), else the model's init values.

    Parameters that ``init`` does not have start from the model's init values.
    """
    start = model.init_values()
    u0 = unconstrain(model, data, start)
    if init is None:
        return u0
    if init.unconstrained is not None:
        return {k: jnp.asarray(init.unconstrained.get(k, v)) for k, v in u0.items()}
    start.update({k: v for k, v in init.point.items() if k in start})
    return unconstrain(model, data, start)


class MAP(AbstractInference):
    """Maximum a posteriori point, staged (continuum, then everything).

    Args:
        optimizer: ``"lm"`` (default, Fisher Levenberg-Marquardt), ``"lbfgs"``, ``"adam"`` (optax) or
            ``"newton"`` (Levenberg-Marquardt-damped Newton on the exact Hessian).
        learning_rate: Adam step size (L-BFGS line-searches, Newton is damped).
        max_steps: iteration cap of the full-model stage.
        tol: convergence when the relative loss change stays below ``tol`` for
            ``PATIENCE`` consecutive steps.
        gap_tol: (``lm``, ``newton``) convergence also when a step is accepted from a
            point where the quadratic model predicts less than ``gap_tol`` further
            decrease of the potential (log-density units): 1e-3 is a parameter
            offset of about 0.05 standard deviations; 0 turns it off.
        staged: fit the continuum group first with line windows masked.
        continuum_steps: iteration cap of the continuum stage.
        continuum_tol: ``tol`` of the continuum stage, which only provides the
            starting point of the full fit (a looser value saves iterations
            without changing the final optimum); that stage's ``gap_tol`` is
            ``CONTINUUM_GAP_TOL``.
    """

    optimizer: str = "lm"
    learning_rate: float = 0.02
    max_steps: int = 2000
    tol: float = 1e-9
    staged: bool = True
    continuum_steps: int = 500
    continuum_tol: float = 1e-6
    gap_tol: float = 1e-3

    def __check_init__(self):
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(ERR_OPTIMIZER.format(self.optimizer))
        if not (self.max_steps >= 1 and self.continuum_steps >= 1):
            raise ConfigError(f"max_steps and continuum_steps must be >= 1, got {self.max_steps}, {self.continuum_steps}")
        if not (self.tol > 0 and self.learning_rate > 0 and self.continuum_tol > 0 and self.gap_tol >= 0):
            raise ConfigError(f"tol, continuum_tol and learning_rate must be positive and gap_tol >= 0, got {self.tol}, "
                              f"{self.continuum_tol}, {self.learning_rate}, {self.gap_tol}")

    def _settings(self, stage: str) -> tuple:
        """(optimizer, lr, max_steps, tolerances) of ``stage`` ("continuum" or "full") for :func:`optimize`.

        The numbers are arrays, so traced: other settings reuse the compiled loop.
        """
        steps = {"full": self.max_steps, "continuum": self.continuum_steps}[stage]
        full = stage == "full"
        tols = jnp.asarray(np.array([self.tol, self.gap_tol] if full else [self.continuum_tol, CONTINUUM_GAP_TOL]))
        return self.optimizer, jnp.asarray(np.float64(self.learning_rate)), jnp.asarray(np.int64(steps)), tols

    def _continuum_stage(self, model, data, u0: dict) -> tuple[dict, dict]:
        problem = _continuum_problem(model, data)
        if problem is None:
            return u0, {}
        cont, cdata = problem
        res = optimize(cont, cdata, u0, *self._settings("continuum"))
        return res.u, self._stage_info(res)

    def _stage_info(self, res: OptResult) -> dict:
        """The continuum stage's record: loss, iterations, convergence and its reason."""
        ok, reason, _ = _message(res, self.continuum_steps)
        return {"loss": float(res.loss), "n_steps": int(res.n_steps), "converged": ok, "reason": reason}

    def draws(self) -> int:
        return 1

    def run(self, model, data, key=None, init: Posterior | None = None) -> Posterior:
        """Optimise ``model`` on ``data``; ``init`` (any Posterior) gives a warm start and skips staging."""
        u0 = start_point(model, data, init)
        info = {}
        if self.staged and init is None:
            u0, stage = self._continuum_stage(model, data, u0)
            if stage:
                info["continuum_stage"] = stage
        res = optimize(model.switched(), data, u0, *self._settings("full"))
        return self._posterior(model, data, res, info)

    def run_batch(self, model, data, n: int) -> list[Posterior]:
        """``run`` for ``n`` spectra at once: ``data`` is a FitData whose arrays have a leading axis of ``n``.

        The (continuum, then full) optimisation loops run over the spectra in
        one compiled program (see :func:`_optimize_batch`), so a batch
        compiles once and each member iterates exactly as its one-by-one fit
        would: each result equals its one-by-one fit to round-off. On a CPU
        the batch is split into equal lanes, one per core (:func:`cpu_lanes`),
        run concurrently from threads: one fit keeps about 1.5 of 2 cores
        busy, two lanes keep both.
        """
        lanes = cpu_lanes(n)
        if lanes == 1:
            return self._run_lane(model, data, n)
        size = n // lanes
        parts = [jax.tree_util.tree_map(lambda a, i=i: a[i * size : (i + 1) * size], data) for i in range(lanes)]
        with ThreadPoolExecutor(lanes) as pool:
            outs = list(pool.map(lambda d: self._run_lane(model, d, size), parts))
        return [post for out in outs for post in out]

    def _run_lane(self, model, data, n: int) -> list[Posterior]:
        """:meth:`run_batch` of ``n`` members in one program, in the calling thread."""
        u0 = start_point(model, None)
        ub = {k: jnp.broadcast_to(jnp.asarray(v), (n,)) for k, v in u0.items()}
        stages: list[dict] = [{} for _ in range(n)]
        problem = _continuum_problem(model, data) if self.staged else None
        if problem is not None:
            cont, cdata = problem
            cres = _optimize_batch(cont, cdata, ub, *self._settings("continuum"))
            ub = cres.u
            stages = [{"continuum_stage": self._stage_info(_member(cres, i))} for i in range(n)]
        res = _optimize_batch(model.switched(), data, ub, *self._settings("full"))
        return [self._posterior(model, _member(data, i), _member(res, i), stages[i]) for i in range(n)]

    def _posterior(self, model, data, res: OptResult, info: dict) -> Posterior:
        """The MAP Posterior of one optimisation result."""
        ok, reason, msg = _message(res, self.max_steps)
        u = {k: np.asarray(v) for k, v in res.u.items()}
        point = {k: np.asarray(v) for k, v in res.point.items()}
        diag = {
            "loss": float(res.loss),
            "n_steps": int(res.n_steps),
            "reason": reason,
            "grad_max": float(res.grad_max),
            "optimizer": self.optimizer,
            **info,
        }
        samples = {k: v[None, None] for k, v in point.items()}
        post = Posterior("map", point, samples, ok, msg, diag, u)
        post.check()
        return post


def _continuum_problem(model, data):
    """(the model switched to the continuum groups, data with the line windows masked), or None.

    None when there is no separate stage (no continuum component, or nothing else).

    ``data`` may carry a leading axis of spectra (a batch).
    """
    kept = [c for c in model.components if c.group in CONTINUUM_GROUPS]
    if not kept or len(kept) == len(model.components):
        return None
    mask = np.asarray(data.mask) * model.continuum_mask(np.asarray(data.wave))
    return model.switched(CONTINUUM_GROUPS), data._replace(mask=jnp.asarray(mask))


def cpu_lanes(n: int, cores: int | None = None) -> int:
    """How many equal lanes ``n`` members (batch members, NUTS chains) run in on a CPU: the largest divisor of ``n``
    up to ``cores`` (default: the CPUs this process may use). Equal lanes share one compiled program.

    1 on an accelerator, where the members are vmapped instead.
    """
    if jax.default_backend() != "cpu":
        return 1
    if cores is None:
        try:
            cores = len(os.sched_getaffinity(0))
        except AttributeError:  # not Linux
            cores = os.cpu_count() or 1
    return max(k for k in range(1, min(cores, n) + 1) if n % k == 0)


def _member(tree, i: int):
    """Member ``i`` of a batched pytree (leading axis)."""
    return jax.tree_util.tree_map(lambda a: a[i], tree)


@eqx.filter_jit  # XLA's defaults: a batch runs long enough for run time to outweigh compilation
def _optimize_batch(model, data, u0: dict, optimizer: str, lr, max_steps, tol) -> OptResult:
    """:func:`optimize` over the leading axis of ``data`` and ``u0`` (``model`` shared), in one program.

    On a CPU the members run one after the other (``lax.map``) rather than
    vmapped: under vmap the loop's branches (skip the curvature after a
    rejected step, stop at convergence) become selects that compute both
    sides for every member, and every member iterates until the slowest has
    stopped, which made a vmapped batch about four times slower per spectrum
    than fits one by one. On an accelerator the members are vmapped, which
    fills the device.
    """
    one = lambda du: optimize(model, du[0], du[1], optimizer, lr, max_steps, tol)  # noqa: E731
    if jax.default_backend() == "cpu":
        return jax.lax.map(one, (data, u0))
    return jax.vmap(lambda d, u: one((d, u)))(data, u0)

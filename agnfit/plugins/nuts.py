"""Posterior sampling with numpyro's No-U-Turn Sampler (Hoffman & Gelman 2014).

The :class:`~agnfit.core.model.Model` is the numpyro model. Warmup and
sampling of all chains run in one function, :func:`sample_chains`, built on
numpyro's functional NUTS kernel (``numpyro.infer.hmc.hmc``) and compiled by
``eqx.filter_jit`` with the model's arrays and the data traced, so a new
spectrum of the same model structure and length bucket reuses the compiled
sampler. (``numpyro.infer.MCMC`` with ``jit_model_args=True`` recompiles its
sampling loop on every ``run``, about 10 s on a CPU for a 5-parameter model.)
On a CPU the chains run in equal groups side by side, one thread per usable
core (:func:`run_chain_groups`), each group through the same compiled sampler.
Chains start from the init posterior's unconstrained point (a MAP run when
none is given), each with a small Gaussian jitter so that r-hat can detect
chains that do not mix.

Diagnostics (Vehtari et al. 2021): split r-hat per parameter and bulk ESS
(the ESS of the rank-normalised draws); converged means every r-hat is below
``RHAT_MAX`` and no transition diverged.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree
from jax.scipy.special import ndtri
from numpyro.diagnostics import effective_sample_size, split_gelman_rubin
from numpyro.infer.hmc import hmc

from ..core.inference import RHAT_MAX, AbstractInference, Posterior
from ..errors import ConfigError
from .map import MAP, constrain, cpu_lanes, start_point, unconstrain
from .sites import potential as potential_of

log = logging.getLogger(__name__)

CHAIN_METHODS = ("auto", "parallel", "vectorized", "sequential")
PRECONDITIONS = ("laplace", "none")
#: Hessian eigenvalues below this fraction of the largest are floored for the Laplace frame
FRAME_EIG_FLOOR = 1e-10


class SamplerSettings(NamedTuple):
    """The static settings :func:`sample_chains` is compiled for."""

    num_warmup: int
    num_samples: int
    dense_mass: bool
    target_accept_prob: float
    max_tree_depth: int
    chain_method: str


class ChainOutput(NamedTuple):
    """Post-warmup draws, each with leading axes (chains, draws)."""

    samples: dict
    diverging: jax.Array
    num_steps: jax.Array
    accept_prob: jax.Array
    step_size: jax.Array


class Frame(NamedTuple):
    """Affine coordinates the chains move in: ``u = center + factor @ y`` (``center`` a dict, ravelled sorted)."""

    center: dict
    factor: jax.Array


@eqx.filter_jit  # XLA's defaults: sampling runs far longer than it compiles
def sample_chains(model, data, z0, keys, settings: SamplerSettings, frame: Frame | None = None) -> ChainOutput:
    """NUTS warmup + sampling of ``model`` on ``data``, one chain per row of ``z0`` / ``keys``.

    Without a ``frame``, ``z0`` holds unconstrained starting points (a dict)
    with a leading chain axis; with one, starting points ``y`` (chains, p) of
    the frame's coordinates. Returns constrained draws. Compiled once per
    (model structure, data shapes, number of chains, settings, with or without a frame).
    """

    potential = potential_of(model, data)  # numpyro's potential energy, one prior per family
    if frame is None:
        to_u = potential_fn = None
    else:
        center, unravel = ravel_pytree(frame.center)

        def to_u(y):
            return unravel(center + frame.factor @ y)

        def potential_fn(y):
            return potential(to_u(y))

    def one_chain(args):
        z0, key = args
        init_kernel, sample_kernel = hmc(potential_fn=potential if frame is None else potential_fn, algo="NUTS")
        dense = settings.dense_mass if frame is not None else ([tuple(sorted(z0))] if settings.dense_mass else [])
        state = init_kernel(
            z0,
            settings.num_warmup,
            dense_mass=dense,
            target_accept_prob=settings.target_accept_prob,
            max_tree_depth=settings.max_tree_depth,
            rng_key=key,
        )
        state = jax.lax.fori_loop(0, settings.num_warmup, lambda i, s: sample_kernel(s), state)

        def draw(s, _):
            s = sample_kernel(s)
            return s, (s.z, s.diverging, s.num_steps, s.accept_prob)

        last, (z, div, nsteps, acc) = jax.lax.scan(draw, state, None, length=settings.num_samples)
        const = jax.vmap(lambda zi: constrain(model, data, zi if frame is None else to_u(zi)))(z)
        return ChainOutput(const, div, nsteps, acc, last.adapt_state.step_size)

    if settings.chain_method == "vectorized":
        return jax.vmap(one_chain)((z0, keys))
    return jax.lax.map(one_chain, (z0, keys))


def run_chain_groups(model, data, z0, keys, settings: SamplerSettings, frame: Frame | None, groups: int):
    """:func:`sample_chains` (sequential within a group) on ``groups`` equal slices of the chains, one thread each.

    A compiled XLA program runs without the GIL, so the groups use as many
    CPU cores; the first call compiles once for all threads. Returns the
    groups' outputs joined along the chain axis, in chain order.
    """
    n = keys.shape[0] // groups
    seq = settings._replace(chain_method="sequential")
    parts = [(jax.tree.map(lambda a, i=i: a[i * n:(i + 1) * n], z0), keys[i * n:(i + 1) * n]) for i in range(groups)]
    if groups == 1:
        return sample_chains(model, data, *parts[0], seq, frame)
    with ThreadPoolExecutor(groups) as pool:
        outs = list(pool.map(lambda p: jax.block_until_ready(sample_chains(model, data, *p, seq, frame)), parts))
    return jax.tree.map(lambda *a: jnp.concatenate(a, axis=0), *outs)


def rank_normalize(x: np.ndarray) -> np.ndarray:
    """Normal scores of the pooled fractional ranks of ``x`` (chains, draws), Vehtari et al. 2021 eq. 14."""
    flat = x.reshape(-1)
    order = np.argsort(flat, kind="stable")
    ranks = np.empty(flat.size)
    ranks[order] = np.arange(1, flat.size + 1)
    # average the ranks of ties
    _, inv, counts = np.unique(flat, return_inverse=True, return_counts=True)
    sums = np.bincount(inv, weights=ranks)
    ranks = sums[inv] / counts[inv]
    z = np.asarray(ndtri((ranks - 0.375) / (flat.size + 0.25)))
    return z.reshape(x.shape)


def chain_diagnostics(samples: dict) -> tuple[dict, dict]:
    """Per-parameter split r-hat and bulk ESS of samples shaped (chains, draws, ...)."""
    r_hat, ess = {}, {}
    for k, v in samples.items():
        x = np.asarray(v, dtype=float)
        flat = x.reshape(x.shape[:2] + (-1,))
        if flat.shape[1] < 4:
            r_hat[k] = np.full(x.shape[2:], np.nan)
            ess[k] = np.full(x.shape[2:], np.nan)
            continue
        # a constant site (e.g. fixed by a delta prior) is trivially mixed and has no ESS
        const = np.ptp(flat.reshape(-1, flat.shape[2]), axis=0) == 0
        r = np.ones(flat.shape[2])
        e = np.full(flat.shape[2], np.nan)
        for i in np.flatnonzero(~const):
            r[i] = float(split_gelman_rubin(flat[..., i]))
            e[i] = float(effective_sample_size(rank_normalize(flat[..., i])))
        r_hat[k] = r.reshape(x.shape[2:])
        ess[k] = e.reshape(x.shape[2:])
    return r_hat, ess


class NUTS(AbstractInference):
    """numpyro NUTS over all parameters, started from a MAP (or any given) posterior.

    Args:
        num_warmup: adaptation steps per chain (step size and mass matrix).
        num_samples: kept draws per chain.
        num_chains: independent chains (at least 2 for a meaningful r-hat).
        dense_mass: adapt a dense (True) or diagonal (False) mass matrix.
        precondition: ``"laplace"``: the chains move in the coordinates that
            whiten the Laplace approximation at the starting point (u = u* +
            S y with S = H^-1/2, H the Hessian of the potential there), where a
            near-Gaussian posterior has unit scales and no correlations from
            the first warmup iteration; the adapted (diagonal) mass matrix then
            corrects the scales that differ. The symmetric root rotates the
            coordinates least, so y_i stays closest to parameter i and the
            diagonal adaptation can widen one parameter whose posterior is
            wider than the Laplace approximation (the heavy tail of a weak
            line's width) without widening the directions mixed into it.
            ``"none"``: numpyro's coordinates, the unconstrained parameters,
            starting from an identity mass matrix.
        target_accept_prob: the step-size adaptation target (0 < p < 1).
        max_tree_depth: the trajectory length cap is 2**max_tree_depth steps.
        chain_method: ``"parallel"`` (the chains split into equal groups run
            side by side in threads, as many as there are usable CPUs
            (:func:`~agnfit.plugins.map.cpu_lanes`); sequential within a group), ``"vectorized"`` (chains batched with
            vmap, one device), ``"sequential"`` (one chain after another) or
            ``"auto"``: parallel on a CPU, where a vmapped chain costs as much
            as a chain of its own, vectorized on an accelerator.
        init_jitter: standard deviation of the Gaussian jitter added to the
            starting point of each chain, in the chains' coordinates
            (unconstrained units, or Laplace standard deviations).
        start: the MAP backend run first when no ``init`` is given.
    """

    num_warmup: int = 500
    num_samples: int = 500
    num_chains: int = 4
    dense_mass: bool = False
    precondition: str = "laplace"
    target_accept_prob: float = 0.8
    max_tree_depth: int = 10
    chain_method: str = "auto"
    init_jitter: float = 0.01
    start: MAP = MAP()

    def __check_init__(self):
        if self.chain_method not in CHAIN_METHODS:
            raise ConfigError(f"NUTS chain_method must be one of {CHAIN_METHODS}, got {self.chain_method!r}")
        if not 0 < self.target_accept_prob < 1:
            raise ConfigError(f"NUTS target_accept_prob must be in (0, 1), got {self.target_accept_prob}")
        if min(self.num_samples, self.num_chains, self.max_tree_depth) < 1 or self.num_warmup < 0:
            raise ConfigError("NUTS num_samples, num_chains and max_tree_depth must be >= 1, num_warmup >= 0")
        if self.precondition not in PRECONDITIONS:
            raise ConfigError(f"NUTS precondition must be one of {PRECONDITIONS}, got {self.precondition!r}")
        if self.init_jitter < 0:
            raise ConfigError(f"NUTS init_jitter must be >= 0, got {self.init_jitter}")

    def resolved_chain_method(self) -> str:
        """``chain_method`` with ``"auto"`` resolved for the default JAX backend."""
        if self.chain_method != "auto":
            return self.chain_method
        return "parallel" if jax.default_backend() == "cpu" else "vectorized"

    def settings(self) -> SamplerSettings:
        """The sampler settings as the static tuple the compiled sampler is keyed on."""
        return SamplerSettings(
            int(self.num_warmup),
            int(self.num_samples),
            bool(self.dense_mass),
            float(self.target_accept_prob),
            int(self.max_tree_depth),
            self.resolved_chain_method(),
        )

    def _init_params(self, u0: dict, key) -> dict:
        """Per-chain starting points: ``u0`` plus jitter, with a leading chain axis."""
        out = {}
        for i, (k, v) in enumerate(sorted(u0.items())):
            v = jnp.asarray(v)
            shape = (self.num_chains,) + v.shape
            eps = jax.random.normal(jax.random.fold_in(key, i), shape, dtype=v.dtype)
            out[k] = v + self.init_jitter * eps
        return out

    def frame(self, model, data, u0: dict) -> Frame | None:
        """The Laplace frame at ``u0`` (see ``precondition``), or None.

        None also when the Hessian there is not finite (a start where the
        potential is not twice differentiable); the chains then move in the
        unconstrained parameters, as with ``precondition="none"``.
        """
        if self.precondition == "none":
            return None
        from .laplace import covariance_factor, potential_hessian

        center = {k: jnp.asarray(v) for k, v in u0.items()}
        hess = np.asarray(potential_hessian(model, data, center), dtype=float)
        if not np.all(np.isfinite(hess)):
            log.warning("NUTS: the potential's Hessian at the start is not finite; sampling the unconstrained "
                        "parameters without the Laplace frame (precondition='none')")
            return None
        factor, _ = covariance_factor(hess, FRAME_EIG_FLOOR, symmetric=True)
        return Frame(center, jnp.asarray(factor))

    def _frame_starts(self, n_params: int, key):
        """Per-chain starting points in frame coordinates: the centre plus jitter."""
        return self.init_jitter * jax.random.normal(key, (self.num_chains, n_params), dtype=jnp.result_type(float))

    def draws(self) -> int:
        return int(self.num_chains * self.num_samples)

    def run(self, model, data, key=None, init: Posterior | None = None) -> Posterior:
        """Sample ``model`` given ``data``; ``init`` (any posterior) sets the chains' start."""
        key = jax.random.PRNGKey(0) if key is None else key
        k_map, k_jit, k_run = jax.random.split(key, 3)
        if init is None:
            init = self.start.run(model, data, k_map)
        u0 = start_point(model, data, init)
        keys = jax.random.split(k_run, self.num_chains)
        frame = self.frame(model, data, u0)
        z0 = self._init_params(u0, k_jit) if frame is None else self._frame_starts(len(u0), k_jit)
        settings = self.settings()
        if settings.chain_method == "parallel":
            out = run_chain_groups(model, data, z0, keys, settings, frame, cpu_lanes(self.num_chains))
        else:
            out = sample_chains(model, data, z0, keys, settings, frame)
        samples = {k: np.asarray(v) for k, v in out.samples.items()}
        r_hat, ess = chain_diagnostics(samples)
        ndiv = int(np.sum(np.asarray(out.diverging)))
        point = {k: np.median(v, axis=(0, 1)) for k, v in samples.items()}
        diag = {
            "r_hat": r_hat,
            "ess_bulk": ess,
            "divergences": ndiv,
            "mean_tree_size": float(np.mean(np.asarray(out.num_steps))),
            "mean_accept_prob": float(np.mean(np.asarray(out.accept_prob))),
            "step_size": np.asarray(out.step_size),
            "init": init.kind,
            "precondition": "none" if frame is None else "laplace",
        }
        worst = max(((float(np.nanmax(v)), k) for k, v in r_hat.items() if np.size(v)), default=(1.0, ""))
        problems = []
        if not np.isfinite(worst[0]) or worst[0] >= RHAT_MAX:
            problems.append(f"max r_hat {worst[0]:.4f} ({worst[1]}) >= {RHAT_MAX}")
        if ndiv:
            problems.append(f"{ndiv} divergent transition(s)")
        ok = not problems
        head = f"{self.num_chains} chain(s) x {self.num_samples} draws"
        msg = f"{head}, max r_hat {worst[0]:.4f}, no divergences" if ok else f"{head}: " + "; ".join(problems)
        u = {k: np.asarray(v) for k, v in unconstrain(model, data, point).items()}
        post = Posterior("nuts", point, samples, ok, msg, diag, u)
        post.check()
        return post

"""The ``sample_adaptive`` inference backend: numpyro's Sample Adaptive MCMC.

Sample Adaptive MCMC (SA; Zhu 2019, NeurIPS 32) keeps a population of N
points, proposes from a Gaussian fitted to them and replaces one point per
step. It needs one potential evaluation per step and no gradient, so it
suits models whose gradients are expensive or noisy, at the price of many
more (cheap) steps than NUTS.

SA's first population is drawn from a unit Gaussian around the starting
point, in the sampler's coordinates. agnfit's unconstrained parameters have
posterior widths from ~1e-3 (a well-measured log amplitude) to ~1, so the
chains run in whitened coordinates e instead:

    u = u_map + S e,   S S^T = H^-1,

with H the Hessian of the potential energy at the MAP point (the inverse of
the Laplace covariance, ``agnfit.plugins.laplace``). The map is affine, so its
Jacobian is constant and the target is unchanged; the posterior of e is close
to a unit Gaussian where the Laplace approximation is good, and SA explores
whatever non-Gaussian shape it has. ``whiten=False`` samples u directly.

Diagnostics are agnfit's (``agnfit.plugins.nuts.chain_diagnostics``): split
r-hat and bulk ESS per parameter; converged means every r-hat < 1.01.
"""

from __future__ import annotations

from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree
from numpyro.infer import SA
from numpyro.infer.util import potential_energy

from agnfit.core.inference import RHAT_MAX, AbstractInference, Posterior
from agnfit.errors import ConfigError
from agnfit.plugins.laplace import covariance_factor, potential_hessian
from agnfit.plugins.map import MAP, constrain, start_point, unconstrain
from agnfit.plugins.nuts import chain_diagnostics

DEFAULT_STATE_PER_PARAM = 4  # population size per parameter when adapt_state_size is None


class SASettings(NamedTuple):
    """The static settings :func:`sample_chains` is compiled for."""

    num_warmup: int
    num_samples: int
    thinning: int
    adapt_state_size: int
    dense_mass: bool


class SAOutput(NamedTuple):
    """Kept draws (constrained, leading axes (chains, draws)) and per-chain acceptance."""

    samples: dict
    accept_prob: jax.Array
    far_proposals: jax.Array


@eqx.filter_jit
def sample_chains(model, data, u0: dict, scale, e0, keys, settings: SASettings) -> SAOutput:
    """SA warmup + sampling of ``model`` on ``data``, one chain per row of ``e0`` / ``keys``.

    Args:
        model, data: the agnfit Model (a numpyro model) and its FitData.
        u0: the unconstrained centre of the whitening (full names).
        scale: (p, p) matrix S of u = ravel(u0) + S e.
        e0: (n_chain, p) starting points in the whitened coordinates e.
        keys: (n_chain, 2) PRNG keys.
        settings: the static :class:`SASettings`.

    Compiled once per (model structure, data shapes, number of chains, settings).
    """
    x0, unravel = ravel_pytree(u0)

    def to_u(e):
        return unravel(x0 + scale @ e)

    def potential(e):
        return potential_energy(model, (data,), {}, to_u(e))

    def one_chain(args):
        start, key = args
        kernel = SA(potential_fn=potential, adapt_state_size=settings.adapt_state_size, dense_mass=settings.dense_mass)
        state = kernel.init(key, settings.num_warmup, init_params=start)

        def step(_, s):
            return kernel.sample(s, (), {})

        state = jax.lax.fori_loop(0, settings.num_warmup, step, state)

        def draw(s, _):
            s = jax.lax.fori_loop(0, settings.thinning, step, s)
            return s, (s.z, s.diverging)

        last, (es, far) = jax.lax.scan(draw, state, None, length=settings.num_samples)
        const = jax.vmap(lambda e: constrain(model, data, to_u(e)))(es)
        return SAOutput(const, last.mean_accept_prob, jnp.sum(far))

    return jax.vmap(one_chain)((e0, keys))


class SampleAdaptive(AbstractInference):
    """numpyro's SA sampler over all parameters, started (and whitened) at a MAP point.

    Args:
        num_warmup: steps per chain before draws are kept (the population adapts throughout).
        num_samples: kept draws per chain.
        num_chains: independent chains, run vectorised (at least 2 for r-hat).
        thinning: SA steps per kept draw (successive SA states are strongly correlated).
        adapt_state_size: population size N; None: four times the number of parameters (numpyro's
            default, twice, mixes slowly on these posteriors: r-hat ~1.02 after 4 x 1000 draws).
        dense_mass: fit a full (True) or diagonal (False) Gaussian proposal to the population.
        whiten: sample in the coordinates whitened by the Hessian at the MAP point.
        init_jitter: standard deviation of each chain's starting offset, in whitened units
            (about posterior standard deviations).
        eig_floor: Hessian eigenvalues below this fraction of the largest are floored.
        start: the MAP backend run first when no ``init`` is given.
    """

    num_warmup: int = 1000
    num_samples: int = 1000
    num_chains: int = 4
    thinning: int = 4
    adapt_state_size: int | None = None
    dense_mass: bool = True
    whiten: bool = True
    init_jitter: float = 1.0
    eig_floor: float = 1e-10
    start: MAP = MAP()

    def __check_init__(self):
        if min(self.num_samples, self.num_chains, self.thinning) < 1 or self.num_warmup < 0:
            raise ConfigError("sample_adaptive: num_samples, num_chains and thinning must be >= 1, num_warmup >= 0")
        if self.adapt_state_size is not None and self.adapt_state_size < 2:
            raise ConfigError(f"sample_adaptive: adapt_state_size must be >= 2, got {self.adapt_state_size}")
        if self.init_jitter < 0:
            raise ConfigError(f"sample_adaptive: init_jitter must be >= 0, got {self.init_jitter}")

    def settings(self, n_params: int) -> SASettings:
        size = DEFAULT_STATE_PER_PARAM * n_params if self.adapt_state_size is None else int(self.adapt_state_size)
        return SASettings(int(self.num_warmup), int(self.num_samples), int(self.thinning), size, bool(self.dense_mass))

    def _whitening(self, model, data, u0: dict) -> tuple[jax.Array, dict]:
        """S with S S^T = H^-1 at ``u0`` (identity when ``whiten`` is off or H is not finite)."""
        p = ravel_pytree(u0)[0].size
        if not self.whiten:
            return jnp.eye(p), {"whitened": False}
        hess = np.asarray(potential_hessian(model, data, u0))
        if not np.all(np.isfinite(hess)):
            return jnp.eye(p), {"whitened": False, "whitening": "Hessian not finite; identity used"}
        scale, info = covariance_factor(hess, self.eig_floor)
        return jnp.asarray(scale), {"whitened": True, **info}

    def run(self, model, data, key=None, init: Posterior | None = None) -> Posterior:
        """Sample ``model`` given ``data``, starting from ``init`` (a MAP run when None)."""
        key = jax.random.PRNGKey(0) if key is None else key
        k_map, k_jit, k_run = jax.random.split(key, 3)
        if init is None:
            init = self.start.run(model, data, k_map)
        u0 = {k: jnp.asarray(v) for k, v in start_point(model, data, init).items()}
        scale, winfo = self._whitening(model, data, u0)
        p = scale.shape[0]
        e0 = self.init_jitter * jax.random.normal(k_jit, (self.num_chains, p), dtype=scale.dtype)
        keys = jax.random.split(k_run, self.num_chains)
        out = sample_chains(model, data, u0, scale, e0, keys, self.settings(p))
        samples = {k: np.asarray(v) for k, v in out.samples.items()}
        r_hat, ess = chain_diagnostics(samples)
        point = {k: np.median(v, axis=(0, 1)) for k, v in samples.items()}
        worst = max(((float(np.nanmax(v)), k) for k, v in r_hat.items() if np.size(v)), default=(1.0, ""))
        ok = bool(np.isfinite(worst[0]) and worst[0] < RHAT_MAX)
        head = f"SA: {self.num_chains} chain(s) x {self.num_samples} draws (thinning {self.thinning})"
        msg = f"{head}, max r_hat {worst[0]:.4f}" + ("" if ok else f" ({worst[1]}) >= {RHAT_MAX}")
        diag = {
            "r_hat": r_hat,
            "ess_bulk": ess,
            "mean_accept_prob": np.asarray(out.accept_prob),
            "far_proposals": int(np.sum(np.asarray(out.far_proposals))),
            "init": init.kind,
            **winfo,
        }
        u = {k: np.asarray(v) for k, v in unconstrain(model, data, point).items()}
        post = Posterior("sample_adaptive", point, samples, ok, msg, diag, u)
        post.check()
        return post


def sa_backend(
    num_warmup: int = 1000,
    num_samples: int = 1000,
    num_chains: int = 4,
    thinning: int = 4,
    adapt_state_size: int = 0,
    dense_mass: bool = True,
    whiten: bool = True,
    init_jitter: float = 1.0,
):
    """numpyro Sample Adaptive MCMC from the previous stage's point (runs MAP without one).

    ``adapt_state_size = 0`` means four times the number of parameters.
    """
    return SampleAdaptive(
        num_warmup=int(num_warmup),
        num_samples=int(num_samples),
        num_chains=int(num_chains),
        thinning=int(thinning),
        adapt_state_size=int(adapt_state_size) or None,
        dense_mass=bool(dense_mass),
        whiten=bool(whiten),
        init_jitter=float(init_jitter),
    )

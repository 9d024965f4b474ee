"""The model: components -> fiber flux and aperture flux, priors, one numpyro model.

``Model`` holds the configured components, the aperture model and the
photometric system. It is an equinox Module (a pytree), jitted functions close
over it, and the data travel as a traced ``FitData`` argument, so one
compilation serves every spectrum of a shape bucket.
"""

from __future__ import annotations

from collections.abc import Mapping

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
from jaxtyping import Array, Float

from .aperture import AbstractApertureModel
from .checks import checked
from .component import AbstractComponent, EvalContext
from .likelihood import photometry_loglike, spectrum_loglike
from .names import full_name, local_params, split_name
from .photometry import AbstractPhotometricSystem
from .priors import apply_overrides

NOISE = "noise"
#: a rest-frame wavelength grid (A), NumPy or JAX (a tracer under jit)
WaveGrid = Float[Array, " n"] | Float[np.ndarray, " n"]
HINT_EVAL = ("wave must be a 1-D float array of rest-frame wavelengths (A), params a dict of full parameter "
             "names, ctx an EvalContext")


class NoiseConfig(eqx.Module):
    """Which jitter terms exist, and the scales of their half-normal priors.

    ``frac_jitter`` is dimensionless, ``add_jitter`` in model flux units, and
    ``phot_extra`` in magnitudes.
    """

    frac_jitter: bool = True
    add_jitter: bool = True
    phot_extra: bool = True
    frac_scale: float = 0.05
    add_scale: float = 0.05
    phot_scale: float = 0.05

    def priors(self, with_photometry: bool) -> dict:
        """Half-normal priors of the switched-on jitter terms, by local name (``phot_extra`` only with photometry)."""
        out = {}
        if self.frac_jitter:
            out["frac_jitter"] = dist.HalfNormal(self.frac_scale)
        if self.add_jitter:
            out["add_jitter"] = dist.HalfNormal(self.add_scale)
        if self.phot_extra and with_photometry:
            out["phot_extra"] = dist.HalfNormal(self.phot_scale)
        return out


class Switches(eqx.Module):
    """Which parts of a model a fit stage uses, as traced weights, so every stage runs one compiled program.

    Attributes:
        components: 1 (on) or 0 (off) per component, in ``Model.components`` order;
            an additive component that is off contributes nothing, a multiplicative one
            a factor 1.
        photometry: 1 or 0: whether the photometric likelihood counts.
        free: 1 or 0 per latent parameter (full names): a parameter whose owner is off
            is held at its value.
    """

    components: Float[Array, " c"]
    photometry: Float[Array, ""]
    free: dict


class Model(eqx.Module):
    """Fiber spectrum + optional aperture photometry model.

    Attributes:
        components: the spectral components (additive and multiplicative).
        aperture: maps components to the photometric aperture (None: no photometry).
        photsys: the photometric system (None: no photometry).
        ext_curve: A_lambda / E(B-V) on ``photsys.wave`` (Galactic reddening of
            the synthetic photometry, since catalogue magnitudes are not dereddened).
        noise: jitter switches.
        overrides: prior overrides by full name (config specs or distributions).
        switches: the parts a fit stage uses (:meth:`switched`); None: everything.
    """

    components: tuple
    aperture: AbstractApertureModel | None = None
    photsys: AbstractPhotometricSystem | None = None
    ext_curve: jax.Array | None = None
    noise: NoiseConfig = NoiseConfig()
    overrides: dict = eqx.field(static=True, default_factory=dict)
    switches: Switches | None = None

    def __check_init__(self):
        names = [c.name for c in self.components]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"component names must be unique, repeated: {dup}")
        if not all(isinstance(c, AbstractComponent) for c in self.components):
            raise TypeError("every component must be an AbstractComponent")
        if (self.aperture is None) != (self.photsys is None):
            raise ValueError("aperture and photsys must be given together")

    # ---------------------------------------------------------------- parameters
    @property
    def has_photometry(self) -> bool:
        """Whether the model predicts photometry (an aperture model and a photometric system are set)."""
        return self.photsys is not None

    def priors(self) -> dict:
        """All priors by full name, overrides applied."""
        out = {}
        for c in self.components:
            out.update({full_name(c.name, k): d for k, d in c.priors().items()})
        if self.aperture is not None:
            out.update({full_name(self.aperture.name, k): d for k, d in self.aperture.priors().items()})
        out.update({full_name(NOISE, k): d for k, d in self.noise.priors(self.has_photometry).items()})
        return apply_overrides(out, self.overrides)

    def fixed_values(self) -> dict:
        """Parameters pinned by a ``Fixed`` (Delta) prior: not sampled, by full name."""
        return {k: d.v for k, d in self.priors().items() if isinstance(d, dist.Delta)}

    def latent_priors(self) -> dict:
        """Priors of the sampled (not fixed) parameters."""
        return {k: d for k, d in self.priors().items() if not isinstance(d, dist.Delta)}

    def init_values(self) -> dict:
        """Starting point (constrained, full names): component hints, else prior medians."""
        priors = self.latent_priors()
        hints = {}
        for c in self.components:
            hints.update({full_name(c.name, k): v for k, v in c.init_values().items()})
        out = {}
        key = jax.random.PRNGKey(0)
        for i, (k, d) in enumerate(priors.items()):
            if k in hints and k not in self.overrides:
                out[k] = jnp.asarray(hints[k], dtype=float)
            else:
                s = d.sample(jax.random.fold_in(key, i), (201,))
                out[k] = jnp.median(s, axis=0)
        return out

    # ---------------------------------------------------------------- evaluation
    def complete(self, params: dict) -> dict:
        """``params`` with the fixed (Delta-prior) parameters added."""
        fixed = self.fixed_values()
        return {**fixed, **params} if fixed else params

    @checked(hint=HINT_EVAL)
    def component_fluxes(self, wave: WaveGrid, params: Mapping, ctx: EvalContext) -> dict:
        """Each component evaluated on rest ``wave``, by instance name."""
        params = self.complete(params)
        return {c.name: c(wave, local_params(c.name, params), ctx) for c in self.components}

    def combine(self, fluxes: dict):
        """(sum of additive components) x (product of multiplicative ones), of the components switched on."""
        fluxes = self.switch_fluxes(fluxes)
        add = [fluxes[c.name] for c in self.components if c.operation == "add"]
        mul = [fluxes[c.name] for c in self.components if c.operation == "multiply"]
        total = sum(add[1:], add[0]) if add else 0.0
        for m in mul:
            total = total * m
        return total

    @checked(hint=HINT_EVAL)
    def fiber_flux(self, wave: WaveGrid, params: Mapping, ctx: EvalContext):
        """The fiber-spectrum model on rest ``wave`` (A), in model flux units."""
        return self.combine(self.component_fluxes(wave, params, ctx))

    def prepare_context(self, ctx: EvalContext) -> EvalContext:
        """``ctx`` carrying each component's per-spectrum precomputation (:meth:`AbstractComponent.prepare`)."""
        if ctx.prepared is not None:
            return ctx
        done = {c.name: c.prepare(ctx) for c in self.components}
        done = {k: v for k, v in done.items() if v is not None}
        return ctx._replace(prepared=done) if done else ctx

    def prepare(self, data):
        """``data`` (a FitData) with its context prepared: done once per fit, before the many evaluations."""
        ctx = self.prepare_context(data.ctx)
        return data if ctx is data.ctx else data._replace(ctx=ctx)

    def aperture_flux(self, params: dict, data):
        """Observed-frame f_lambda (erg/s/cm^2/A, Galactic reddening applied) on ``photsys.wave``."""
        params = self.complete(params)
        grid = self.photsys.wave
        rest = grid.reshape(-1) / (1.0 + data.z)
        comps = [c for c in self.components if c.operation == "add" and c.morphology != "fiber"]
        ctx = data.ctx.unprepared()  # the bands lie outside the spectrum's window
        fl = {c.name: c(rest, local_params(c.name, params), ctx).reshape(grid.shape) for c in comps}
        morph = {c.name: c.morphology for c in comps}
        f = self.aperture(fl, morph, local_params(self.aperture.name, params))
        return f * data.flux_scale * 10.0 ** (-0.4 * data.ebv * self.ext_curve)

    def synthetic_mags(self, params: dict, data):
        """Synthetic AB magnitudes of the aperture model in each band of ``photsys``."""
        return self.photsys.magnitudes(self.aperture_flux(params, data))

    def log_likelihood(self, params: dict, data) -> dict:
        """Log-likelihood terms ``{"spectrum": ..., "photometry": ...}``."""
        params = self.complete(params)
        noise = local_params(NOISE, params)
        f = self.fiber_flux(data.wave, params, data.ctx)
        out = {"spectrum": spectrum_loglike(data, f, noise.get("frac_jitter", 0.0), noise.get("add_jitter", 0.0))}
        if self.has_photometry:
            ll = photometry_loglike(data, self.synthetic_mags(params, data), noise.get("phot_extra", 0.0))
            out["photometry"] = ll if self.switches is None else self.switches.photometry * ll
        return out

    def __call__(self, data):
        """The numpyro model: one sample site per parameter, one factor per likelihood."""
        params = {
            k: numpyro.deterministic(k, d.v) if isinstance(d, dist.Delta) else numpyro.sample(k, d)
            for k, d in self.priors().items()
        }
        for k, ll in self.log_likelihood(params, data).items():
            numpyro.factor(k, ll)
        return params

    # ---------------------------------------------------------------- stages
    def switched(self, groups=None) -> "Model":
        """The model with :class:`Switches` on: only the components whose group is in ``groups``
        (and no photometry), or everything when ``groups`` is None.

        Every stage of a fit sees the same model structure, parameters and
        program; only the traced weights differ (:mod:`agnfit.plugins.map`).
        """
        on = {c.name: groups is None or c.group in groups for c in self.components}
        phot = groups is None and self.has_photometry
        owners = {k for k, v in on.items() if v} | {NOISE} | ({self.aperture.name} if phot else set())
        held = set() if phot else {full_name(NOISE, "phot_extra")}
        free = {k: float(split_name(k)[0] in owners and k not in held) for k in self.latent_priors()}
        # NumPy values put on the device: no compilation of eager operations
        weights = np.array([float(on[c.name]) for c in self.components])
        sw = Switches(jnp.asarray(weights), jnp.asarray(np.float64(phot)),
                      {k: jnp.asarray(np.float64(v)) for k, v in free.items()})
        return eqx.tree_at(lambda m: m.switches, self, sw, is_leaf=lambda x: x is None)

    def switch_fluxes(self, fluxes: dict) -> dict:
        """``fluxes`` (by component name) with the switched-off components zero (additive) or one (multiplicative)."""
        if self.switches is None:
            return fluxes
        out = dict(fluxes)
        for i, c in enumerate(self.components):
            w = self.switches.components[i]
            out[c.name] = w * fluxes[c.name] if c.operation == "add" else jnp.where(w > 0, fluxes[c.name], 1.0)
        return out

    # ---------------------------------------------------------------- structure
    def line_windows(self) -> np.ndarray:
        """Every component's line windows stacked, shape (k, 2), rest A."""
        wins = [c.line_windows() for c in self.components]
        wins = [w for w in wins if len(w)]
        return np.concatenate(wins) if wins else np.zeros((0, 2))

    def continuum_mask(self, wave):
        """1 outside every component's line windows, 0 inside (rest wavelengths, any leading axes).

        In NumPy for concrete wavelengths (once per fit, no compilation), in JAX under a transformation.
        """
        xp = jnp if isinstance(wave, jax.core.Tracer) else np
        wave = xp.asarray(wave)
        w = self.line_windows()
        if w.shape[0] == 0:
            return xp.ones_like(wave)
        inside = (wave[..., None] >= w[:, 0]) & (wave[..., None] <= w[:, 1])
        return xp.where(inside.any(axis=-1), 0.0, 1.0)

    def component(self, name: str) -> AbstractComponent:
        """The component whose instance name is ``name`` (KeyError listing the names otherwise)."""
        for c in self.components:
            if c.name == name:
                return c
        raise KeyError(f"no component {name!r}; components: {[c.name for c in self.components]}")

"""The spectral component interface.

A component evaluates a flux density on a rest-frame wavelength grid from a
dict of its own (local-name) parameters. It declares

* ``morphology``: ``"point"`` (AGN power law, Fe II, Balmer continuum, broad
  lines), ``"extended"`` (host galaxy, narrow lines) or ``"fiber"`` (a
  calibration term that exists only in the fiber spectrum, e.g. a flux
  calibration polynomial). Aperture models use it to map fiber-space
  components to PSF space; nothing else in agnfit hard-codes which component
  is which.
* ``operation``: ``"add"`` (summed) or ``"multiply"`` (multiplies the sum of
  the additive components; only allowed for ``"fiber"`` morphology).
* ``group``: ``"continuum"``, ``"line"`` or ``"calibration"``; the staged MAP
  fits the continuum group first with :meth:`line_windows` masked.

Flux units: components return flux in units of the data's normalisation
(``FitData.flux_scale`` erg/s/cm^2/A per unit), as observed f_lambda, evaluated
at rest-frame wavelengths (A). Amplitude parameters are in those units too.
"""

from __future__ import annotations

import abc
from typing import Literal, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

Morphology = Literal["point", "extended", "fiber"]
Operation = Literal["add", "multiply"]
Group = Literal["continuum", "line", "calibration"]

MORPHOLOGIES = ("point", "extended", "fiber")
OPERATIONS = ("add", "multiply")
GROUPS = ("continuum", "line", "calibration")

#: up to this many query points, EvalContext.sigma_inst_kms compares with the whole table at once
SMALL_QUERY = 64


class EvalContext(NamedTuple):
    """Per-spectrum quantities a component may need besides its parameters.

    All fields are arrays (traced under jit), so a new spectrum never
    triggers recompilation.

    Attributes:
        lsf_wave: rest-frame wavelengths (A) where the instrumental line-spread
            function is tabulated, shape (m,).
        lsf_sigma_kms: instrumental Gaussian sigma in km/s at ``lsf_wave``.
        wave_min, wave_max: rest-frame range of the fitted spectrum (A), scalars.
        median_sigma: median instrumental sigma (km/s) over the spectrum's pixels,
            a scalar; None: the median of ``lsf_sigma_kms`` (computed at each use).
        prepared: what components precomputed for this spectrum
            (:meth:`AbstractComponent.prepare`), by instance name; set by
            :meth:`~agnfit.core.model.Model.prepare` inside a fit and valid
            only for evaluations on the spectrum's own wavelengths (the fiber
            model); None elsewhere.
    """

    lsf_wave: Float[Array, " m"]
    lsf_sigma_kms: Float[Array, " m"]
    wave_min: Float[Array, ""]
    wave_max: Float[Array, ""]
    median_sigma: Float[Array, ""] | None = None
    prepared: dict | None = None

    def prepared_for(self, name: str):
        """What component ``name`` prepared for this spectrum, or None."""
        return None if self.prepared is None else self.prepared.get(name)

    def unprepared(self) -> "EvalContext":
        """This context without the per-spectrum precomputations (for wavelengths other than the spectrum's)."""
        return self if self.prepared is None else self._replace(prepared=None)

    def sigma_inst_kms(self, wave):
        """Instrumental sigma (km/s) at rest wavelength(s) ``wave``: linear in the table, constant past its ends.

        The same values as ``jnp.interp``; for the few points components ask
        for (line centres, the Balmer edge) the bracketing entry is found by
        comparing with every table entry in one vectorised step, instead of
        a binary-search loop of ~log2(m) small sequential steps.
        """
        xp, fp = self.lsf_wave, self.lsf_sigma_kms
        x = jnp.asarray(wave, dtype=jnp.result_type(xp.dtype, float))
        method = "compare_all" if x.size <= SMALL_QUERY else "scan"
        i = jnp.clip(jnp.searchsorted(xp, x, side="right", method=method), 1, xp.shape[-1] - 1)
        x0, x1 = xp[i - 1], xp[i]
        dx = x1 - x0
        t = jnp.clip((x - x0) / jnp.where(dx > 0, dx, 1.0), 0.0, 1.0)
        return fp[i - 1] + t * (fp[i] - fp[i - 1])

    @property
    def median_sigma_kms(self):
        """Median instrumental sigma (km/s): the resolution templates are matched to."""
        if self.median_sigma is not None:
            return self.median_sigma
        return jnp.median(self.lsf_sigma_kms)

    @classmethod
    def constant(cls, sigma_kms: float = 0.0, wave_min: float = 1000.0, wave_max: float = 10000.0):
        """A context with a constant resolution (sigma in km/s), for tests and simulation."""
        return cls(
            jnp.array([wave_min, wave_max]),
            jnp.array([sigma_kms, sigma_kms], dtype=float),
            jnp.asarray(wave_min, dtype=float),
            jnp.asarray(wave_max, dtype=float),
        )


class Sampling(NamedTuple):
    """How finely a spectrum samples velocity: what a component may size static arrays by.

    Attributes:
        pixel_kms: the narrowest pixel (km/s, c * d ln lambda), padding included.
        sigma_kms: the broadest instrumental Gaussian sigma (km/s).
    """

    pixel_kms: float
    sigma_kms: float


class AbstractComponent(eqx.Module):
    """A spectral component: named, with a morphology, priors, and an evaluation.

    Concrete components are final; they are created by a factory registered
    through the ``register_components`` hook as ``factory(name, **options)``.
    """

    name: eqx.AbstractVar[str]
    morphology: eqx.AbstractVar[str]
    operation: eqx.AbstractVar[str]
    group: eqx.AbstractVar[str]

    def __check_init__(self):
        if self.morphology not in MORPHOLOGIES:
            raise ValueError(f"{self.name}: morphology must be one of {MORPHOLOGIES}, got {self.morphology!r}")
        if self.operation not in OPERATIONS:
            raise ValueError(f"{self.name}: operation must be one of {OPERATIONS}, got {self.operation!r}")
        if self.operation == "multiply" and self.morphology != "fiber":
            raise ValueError(f"{self.name}: a multiplicative component must have morphology 'fiber'")
        if self.group not in GROUPS:
            raise ValueError(f"{self.name}: group must be one of {GROUPS}, got {self.group!r}")

    @abc.abstractmethod
    def priors(self) -> dict:
        """Prior distributions (numpyro) keyed by local parameter name."""

    @abc.abstractmethod
    def __call__(self, wave: Float[Array, " n"], params: dict, ctx: EvalContext) -> Float[Array, " n"]:
        """Flux (or multiplicative factor) at rest wavelengths ``wave`` (A)."""

    def init_values(self) -> dict:
        """Starting values (local names) for optimisers; missing ones use the prior median."""
        return {}

    def prepare(self, ctx: EvalContext):
        """Work done once per spectrum before many evaluations on its wavelengths (a pytree), or None.

        The result reaches :meth:`__call__` and :meth:`jacobian` as
        ``ctx.prepared_for(self.name)`` when they are evaluated on the
        spectrum's own pixels inside a fit; elsewhere it is None and the
        component must compute without it. Both ways give the same values.
        """
        return None

    def jacobian(self, wave, params: dict, ctx: EvalContext, names: tuple) -> tuple:
        """(value (n,), Jacobian (n, len(names))) at rest ``wave`` (A) w.r.t. the local parameters ``names``.

        The default is forward-mode differentiation (one pass per parameter);
        a component with structure to exploit may override it (the Fisher
        curvature of the MAP optimiser calls this).
        """
        def f(vec):
            p = dict(params)
            p.update(zip(names, vec))
            return self(wave, p, ctx)

        vec = jnp.stack([jnp.asarray(params[k], dtype=jnp.result_type(float)) for k in names])
        return f(vec), jax.jacfwd(f)(vec)

    def derived(self, params: dict) -> dict:
        """Quantities derived from this component's parameters alone (local names -> scalars), reported
        with the derived quantities as ``<component>.<name>``; none by default."""
        return {}

    def line_windows(self) -> np.ndarray:
        """Rest wavelength windows (k, 2) in A to mask in a continuum-only fit."""
        return np.zeros((0, 2))

    def restrict(self, wave_min: float, wave_max: float) -> "AbstractComponent | None":
        """This component restricted to the rest range [wave_min, wave_max] (A).

        Returns ``self`` when nothing changes, a reduced component (e.g. lines
        out of range dropped), or ``None`` when the component has no support in
        the range and should be dropped from the model.
        """
        return self

    def for_sampling(self, sampling: Sampling) -> "AbstractComponent":
        """This component specialised to a spectrum's velocity sampling (``self`` when nothing changes).

        What it returns is evaluated on that spectrum's own wavelengths only
        where ``ctx.prepared_for(self.name)`` is set (the fiber model in a
        fit); its static sizes become part of the model structure, so spectra
        sampled alike share one compilation.
        """
        return self

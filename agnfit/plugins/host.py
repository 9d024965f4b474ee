"""Built-in plugin: host-galaxy starlight as a non-negative mixture of simple stellar populations.

``host_dsps`` reads a grid of simple-stellar-population (SSP) spectra in the
DSPS format (Hearin et al. 2023: keys ``ssp_lgmet``, ``ssp_lg_age_gyr``,
``ssp_wave``, ``ssp_flux``, L_nu in Lsun/Hz per Msun formed). The default set
``bc03_miles_chabrier`` is Bruzual & Charlot (2003) population synthesis with
the MILES stellar library (Sanchez-Blazquez et al. 2006) for a Chabrier (2003)
IMF. The user picks an age x metallicity sub-grid; each SSP is converted to
f_lambda (L_lambda = L_nu c / lambda^2), normalised to unit mean in a window
around ``norm_wave``, so the weight ``w_i`` of each SSP is its flux at
``norm_wave`` in model flux units. The mixture is broadened by a Gaussian
line-of-sight velocity distribution (``sigma``) and shifted (``dv``). The
component's Jacobian, which the Levenberg-Marquardt curvature uses, is
analytic: one batched inverse FFT gives the value and the weight and sigma
columns (:meth:`BroadenedBasis.jacobian`).

The PCA host (Yip et al. 2004 galaxy eigenspectra) lives in
:mod:`agnfit.plugins.host_pca`; both are registered here.
Reading, validating and interpolating the SSP grids is
:mod:`agnfit.plugins.ssp`.
"""

from __future__ import annotations

import abc
import dataclasses
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist

from ..core.component import AbstractComponent
from ..errors import ConfigError
from ..registry.hookspecs import hookimpl
from .broaden import C_KMS, LogTemplates

# the SSP grid and option helpers live in .ssp; re-exported here for existing imports
from .ssp import (  # noqa: F401
    C_AA_S,
    DEFAULT_SSP_FILE,
    ERR_GRID,
    FWHM_PER_SIGMA,
    MILES_FWHM_A,
    NORM_HALF_WIDTH,
    SSP_KEYS,
    ZSUN_BC03,
    SSPGrid,
    air_to_vacuum,
    check_range,
    load_bc03_miles_chabrier,
    options_factory,
    read_dsps_ssp,
    sigma_from_fwhm,
    ssp_subgrid,
    window_mean,
)

GRID_DV_KMS = 30.0  # log-grid step of the broadening grid (finer than MILES' 0.9 A sampling)
MAX_INST_SIGMA_KMS = 500.0  # largest instrumental sigma the FFT padding allows for
SIGMA_FLOOR_KMS = 1.0  # effective kernel sigma never goes below this (keeps gradients finite)
DEFAULT_SET = "bc03_miles_chabrier"

ERR_NOT_SSP = "host template set {name!r} is a {kind}, not an SSPGrid; host_dsps needs an SSP set"


class BroadenedBasis(eqx.Module):
    """Templates on a log-lambda grid, combined, broadened to sigma and shifted by dv.

    The Gaussian kernel's sigma is sqrt(sigma^2 + sigma_inst^2 - sigma_template^2)
    (floored at ``SIGMA_FLOOR_KMS``): the line-of-sight dispersion, plus the
    instrument's (median over the spectrum), minus what the templates already have.

    Attributes:
        templates: the precomputed FFTs of the templates.
        sigma_template_kms: the templates' own Gaussian resolution (km/s).
        coverage: rest range (A) where the templates are defined.
        window: length of the per-spectrum window (grid samples); 0: none.

    For the fiber spectrum the templates are broadened over a window of
    the grid that covers the spectrum (:meth:`for_range`,
    :meth:`prepare`), transformed once per spectrum; other wavelengths
    (photometric bands, derived quantities) use the whole grid.
    """

    templates: LogTemplates
    sigma_template_kms: float = eqx.field(static=True)
    coverage: tuple = eqx.field(static=True)
    window: int = eqx.field(static=True, default=0)

    @classmethod
    def build(cls, wave, flux, sigma_template_kms: float, wave_range, max_sigma_kms: float):
        """Templates ``flux`` (k, m) at vacuum rest ``wave`` (m,) A, gridded over ``wave_range`` A."""
        lo, hi = max(wave_range[0], wave[0]), min(wave_range[1], wave[-1])
        if lo >= hi:
            raise ConfigError(f"wave_range {tuple(wave_range)} A does not overlap the templates' {wave[0]:.0f}-{wave[-1]:.0f} A")
        tpl = LogTemplates.from_arrays(wave, flux, GRID_DV_KMS, max_sigma_kms, (lo, hi))
        return cls(tpl, float(sigma_template_kms), (float(lo), float(hi)))

    def kernel_sigma(self, sigma, ctx):
        """Effective Gaussian sigma (km/s) of the broadening kernel."""
        s2 = sigma**2 + ctx.median_sigma_kms**2 - self.sigma_template_kms**2
        return jnp.sqrt(jnp.maximum(s2, SIGMA_FLOOR_KMS**2))

    def for_range(self, wave_min: float, wave_max: float) -> "BroadenedBasis":
        """This basis with a window long enough for spectra spanning ln(wave_max / wave_min) (rounded up)."""
        n = self.templates.window_length(math.log(wave_max / wave_min))
        return self if n == self.window else dataclasses.replace(self, window=n)

    def prepare(self, ctx):
        """The templates over this spectrum's window (see :meth:`LogTemplates.window`), or None without one."""
        if not self.window:
            return None
        return self.templates.window(jnp.log(jnp.asarray(ctx.wave_min, jnp.result_type(float))), self.window)

    def __call__(self, wave, coeffs, sigma, dv, ctx, prepared=None):
        """sum_k coeffs[k] template_k, broadened and shifted, at rest ``wave`` (A); 0 outside the coverage.

        ``prepared`` (from :meth:`prepare`, for the spectrum's own ``wave``
        only) replaces the whole grid by the spectrum's window.
        """
        tpl = self.templates if prepared is None else prepared
        return tpl(wave, coeffs, self.kernel_sigma(sigma, ctx), dv)  # the shift moves the sampling points

    def jacobian(self, wave, params: dict, ctx, coeff_names: list, names: tuple, prepared=None):
        """(value (n,), Jacobian (n, len(names))) of :meth:`__call__` at rest ``wave`` (A).

        The coefficients are ``params[coeff_names[k]]``; ``names`` may hold
        any of them, ``"sigma"`` and ``"dv"``, in any order, and only those
        columns are computed. The model is linear in the coefficients, so
        their columns are the templates broadened one by one; the sigma column
        is the combination broadened by the kernel's derivative, times
        d sigma_kernel / d sigma (0 where the kernel sigma is floored); these
        and the value come from one batched inverse FFT. The shift moves the
        sampling points, so the dv column is -1/c times the slope of the
        linear interpolant. All are derivatives of what ``__call__``
        evaluates, computed in single precision (they only feed the Fisher
        curvature; see :class:`~agnfit.plugins.broaden.LogTemplates`): the
        value and the weight and sigma columns agree with forward-mode
        differentiation to ~1e-6 of their scale, the dv column to ~1e-5.
        """
        unknown = set(names) - set(coeff_names) - {"sigma", "dv"}
        if unknown:
            raise ValueError(f"not parameters of this host: {sorted(unknown)}; it has {list(coeff_names)} + ['sigma', 'dv']")
        dtype = jnp.result_type(float)
        index = {n: k for k, n in enumerate(coeff_names)}
        coeffs = jnp.stack([jnp.asarray(params[n], dtype) for n in coeff_names])
        sigma = jnp.asarray(params["sigma"], dtype)
        ks, dks = jax.jvp(lambda s: self.kernel_sigma(s, ctx), (sigma,), (jnp.ones_like(sigma),))
        wanted = [n for n in names if n in index]
        tpl = self.templates if prepared is None else prepared
        rows = tpl.broadened_rows(coeffs, ks, dks if "sigma" in names else None, [index[n] for n in wanted])
        w = jnp.reshape(jnp.asarray(wave, dtype), -1)
        lnw = jnp.log(jnp.maximum(w, 1e-30)) - jnp.asarray(params["dv"], dtype) / C_KMS
        at = tpl.interp(lnw, rows)  # (rows, n): value, [d/dsigma], coefficient columns
        labels = (["sigma"] if "sigma" in names else []) + wanted
        cols = [at[1:]]
        if "dv" in names:
            labels.append("dv")
            cols.append(-tpl.slope(lnw, rows[0])[None] / C_KMS)
        order = np.array([labels.index(n) for n in names], dtype=int)
        jac = jnp.concatenate(cols, axis=0)
        if not np.array_equal(order, np.arange(len(labels))):
            jac = jac[order]
        return at[0], jac.T  # one transpose of the block, not a stack of strided columns

    def overlaps(self, wave_min: float, wave_max: float) -> bool:
        """Whether the rest range [wave_min, wave_max] (A) overlaps the templates' coverage."""
        return wave_min < self.coverage[1] and wave_max > self.coverage[0]


class AbstractBasisHost(AbstractComponent):
    """A host galaxy as a linear combination of templates broadened by ``sigma`` and shifted by ``dv`` (km/s).

    The templates are a :class:`BroadenedBasis`; a concrete host names the
    coefficient parameters (:meth:`coefficient_names`, in template order) and
    their priors. Evaluation, the analytic Jacobian, the per-spectrum window
    and the restriction to a spectrum's range are the basis's.
    """

    basis: eqx.AbstractVar[BroadenedBasis]

    @abc.abstractmethod
    def coefficient_names(self) -> list[str]:
        """Local names of the template coefficients, in template order."""

    def coefficients(self, params):
        """The template coefficients as an array, in template order."""
        return jnp.stack([jnp.asarray(params[n]) for n in self.coefficient_names()])

    def __call__(self, wave, params, ctx):
        prepared = ctx.prepared_for(self.name)
        return self.basis(wave, self.coefficients(params), params["sigma"], params["dv"], ctx, prepared)

    def jacobian(self, wave, params, ctx, names):
        """Value and Jacobian w.r.t. ``names``, analytic (see :meth:`BroadenedBasis.jacobian`)."""
        return self.basis.jacobian(wave, params, ctx, self.coefficient_names(), names, ctx.prepared_for(self.name))

    def prepare(self, ctx):
        return self.basis.prepare(ctx)

    def restrict(self, wave_min, wave_max):
        """None if the templates miss [wave_min, wave_max] (A), else this host with a window of its grid for such spectra."""
        if not self.basis.overlaps(wave_min, wave_max):
            return None
        basis = self.basis.for_range(wave_min, wave_max)
        return self if basis is self.basis else dataclasses.replace(self, basis=basis)


@dataclasses.dataclass(frozen=True)
class SSPHostOptions:
    """Options of ``host_dsps``.

    ``ssp_file``, ``ages`` and ``logzsol`` play the roles of ``dsps_ssp_fn``,
    ``fsps_age_grid`` and ``fsps_logzsol_grid`` of the familiar QSOFit API.

    Attributes:
        templates: registered host template set (``register_host_templates``) giving an
            SSPGrid; None: ``bc03_miles_chabrier``.
        ssp_file: a DSPS-format SSP file (any path or registered data file name), instead of ``templates``.
        ages: SSP ages (Gyr), inside the grid; off-grid values are interpolated
            bilinearly in (log10 age, log10 Z) between the neighbouring grid SSPs.
        logzsol: metallicities log10(Z/Zsun), inside the grid (interpolated likewise).
        norm_wave: rest wavelength (A) where each SSP is normalised (mean over +-50 A).
        wave_range: rest range (A) of the broadening grid; cover the photometric bands too.
        weight_scale: HalfNormal scale of the weights (model flux units).
        sigma_range: bounds (km/s) of the Uniform prior on the stellar dispersion.
        dv_max: bound (km/s) of the Uniform(-dv_max, dv_max) prior on the velocity shift.
        template_sigma_kms: the templates' own resolution (km/s); None: the set's value.
        zsun: solar Z of an ``ssp_file``'s lgmet (None: 0.02, BC03's); only with ``ssp_file``.
        air_wavelengths: whether ``ssp_file`` wavelengths are in air above 2000 A (converted
            to vacuum; None: vacuum); only with ``ssp_file``. Registered sets know their own.
    """

    templates: str | None = None
    ssp_file: str | None = None
    ages: tuple = (0.1, 0.5, 1.0, 3.0, 10.0)
    logzsol: tuple = (-0.5, 0.0, 0.3)
    norm_wave: float = 5100.0
    wave_range: tuple = (1000.0, 12000.0)
    weight_scale: float = 1.0
    sigma_range: tuple = (30.0, 500.0)
    dv_max: float = 500.0
    template_sigma_kms: float | None = None
    zsun: float | None = None
    air_wavelengths: bool | None = None


def _weight_name(i: int) -> str:
    return f"w_{i}"


class HostSSP(AbstractBasisHost):
    """Host starlight: sum_i w_i SSP_i(lambda), broadened by ``sigma`` and shifted by ``dv`` (km/s).

    Parameters: ``w_0 .. w_{k-1}`` (>= 0, model flux units: each SSP's mean
    flux over norm_wave +- 50 A), ``sigma`` (stellar dispersion, km/s), ``dv``
    (km/s, positive = redshift). Weight i is SSP (``ages[i % n_age]``,
    ``logzsol[i // n_age]``); :meth:`template_grid` lists them.
    """

    name: str
    basis: BroadenedBasis = eqx.field(kw_only=True)
    ages_gyr: tuple = eqx.field(static=True, kw_only=True)
    logzsol: tuple = eqx.field(static=True, kw_only=True)
    norm_wave: float = eqx.field(static=True, kw_only=True)
    lum_norm: tuple = eqx.field(static=True, kw_only=True)  # mean L_lambda (Lsun/A per Msun formed) in the window
    weight_scale: float = eqx.field(static=True, default=1.0)
    sigma_range: tuple = eqx.field(static=True, default=(30.0, 500.0))
    dv_max: float = eqx.field(static=True, default=500.0)
    morphology: str = "extended"
    operation: str = "add"
    group: str = "continuum"

    @property
    def n_templates(self) -> int:
        """Number of SSP templates (ages x metallicities)."""
        return len(self.ages_gyr) * len(self.logzsol)

    def weights_names(self) -> list[str]:
        """Local names of the weight parameters, in template order."""
        return [_weight_name(i) for i in range(self.n_templates)]

    def template_grid(self) -> list[tuple[float, float]]:
        """(age in Gyr, log10 Z/Zsun) of each weight, in template order."""
        return [(a, z) for z in self.logzsol for a in self.ages_gyr]

    def priors(self):
        pri = {n: dist.HalfNormal(self.weight_scale) for n in self.weights_names()}
        pri["sigma"] = dist.Uniform(*self.sigma_range)
        pri["dv"] = dist.Uniform(-self.dv_max, self.dv_max)
        return pri

    def init_values(self):
        vals = {n: 0.5 / self.n_templates for n in self.weights_names()}
        vals.update(sigma=float(np.clip(150.0, *self.sigma_range)), dv=0.0)
        return vals

    def coefficient_names(self) -> list[str]:
        return self.weights_names()

    def weights(self, params):
        """The SSP weights (model flux units at ``norm_wave``) as an array, in template order."""
        return self.coefficients(params)

    def light_weighted_log_age(self, params):
        """Light-weighted (at norm_wave) mean log10(age / Gyr)."""
        w = self.weights(params)
        lg = jnp.log10(jnp.array([a for a, _ in self.template_grid()]))
        return jnp.sum(w * lg) / jnp.maximum(jnp.sum(w), 1e-30)

    def stellar_mass(self, params, lsun_per_a):
        """Stellar mass formed (Msun), given the rest-frame L_lambda (Lsun/A) of one model flux unit.

        Each SSP's mass is w_i * lsun_per_a / (mean L_lambda per Msun in the
        normalisation window).
        """
        return jnp.sum(self.weights(params) / jnp.asarray(self.lum_norm)) * lsun_per_a


def _resolve_ssp_grid(name: str, opts: SSPHostOptions) -> SSPGrid:
    if opts.ssp_file is not None:
        if opts.templates is not None:
            raise ConfigError(f"{name}: give either ssp_file or templates, not both")
        from ..data import file_path

        zsun = ZSUN_BC03 if opts.zsun is None else float(opts.zsun)
        return read_dsps_ssp(file_path(opts.ssp_file), zsun, None, bool(opts.air_wavelengths))
    if opts.zsun is not None or opts.air_wavelengths is not None:
        raise ConfigError(f"{name}: zsun and air_wavelengths describe an ssp_file; a registered set knows its own")
    from ..registry import get_registry

    set_name = DEFAULT_SET if opts.templates is None else opts.templates
    grid = get_registry().get("host_template", set_name)()
    if not isinstance(grid, SSPGrid):
        raise ConfigError(ERR_NOT_SSP.format(name=set_name, kind=type(grid).__name__))
    return grid


@options_factory(SSPHostOptions)
def host_dsps(name: str, opts: SSPHostOptions) -> HostSSP:
    """Host galaxy from a DSPS SSP grid (see :class:`SSPHostOptions` for the options)."""
    ages = tuple(float(a) for a in np.atleast_1d(opts.ages))
    logz = tuple(float(z) for z in np.atleast_1d(opts.logzsol))
    if not ages or not logz or min(ages) <= 0:
        raise ConfigError(f"{name}: ages must be positive (Gyr) and logzsol non-empty, got {opts.ages!r}, {opts.logzsol!r}")
    wave_range = check_range(name, "wave_range", opts.wave_range, 1e-6)
    sigma_range = check_range(name, "sigma_range", opts.sigma_range)
    if opts.weight_scale <= 0 or opts.dv_max <= 0:
        raise ConfigError(f"{name}: weight_scale and dv_max must be positive")
    if not (wave_range[0] < opts.norm_wave - NORM_HALF_WIDTH and opts.norm_wave + NORM_HALF_WIDTH < wave_range[1]):
        raise ConfigError(f"{name}: norm_wave {opts.norm_wave} A +- {NORM_HALF_WIDTH} A must lie inside wave_range {wave_range}")
    grid = _resolve_ssp_grid(name, opts)
    lnu = ssp_subgrid(grid, ages, logz)
    flam = lnu * C_AA_S / grid.wave**2  # L_lambda, Lsun/A per Msun
    norm = window_mean(grid.wave, flam, float(opts.norm_wave))
    if np.any(norm <= 0):
        raise ConfigError(f"{name}: the SSPs have no flux around norm_wave={opts.norm_wave} A; choose another norm_wave")
    sig_t = grid.sigma_kms if opts.template_sigma_kms is None else float(opts.template_sigma_kms)
    max_sigma = float(np.hypot(sigma_range[1], MAX_INST_SIGMA_KMS) + opts.dv_max / 6.0)
    basis = BroadenedBasis.build(grid.wave, flam / norm[:, None], sig_t, wave_range, max_sigma)
    return HostSSP(
        name=name, basis=basis, ages_gyr=ages, logzsol=logz, norm_wave=float(opts.norm_wave),
        lum_norm=tuple(float(v) for v in norm), weight_scale=float(opts.weight_scale),
        sigma_range=sigma_range, dv_max=float(opts.dv_max),
    )


@hookimpl
def register_components():
    """The ``host_dsps`` and ``host_pca`` component types."""
    from .host_pca import host_pca

    return {"host_dsps": host_dsps, "host_pca": host_pca}


@hookimpl
def register_host_templates():
    """The built-in host template sets: the BC03+MILES SSP grid and the Yip et al. (2004) eigenspectra."""
    from .host_pca import load_yip2004_galaxy

    return {DEFAULT_SET: load_bc03_miles_chabrier, "yip2004_galaxy": load_yip2004_galaxy}

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
line-of-sight velocity distribution (``sigma``) and shifted (``dv``).

The PCA host (Yip et al. 2004 galaxy eigenspectra) lives in
:mod:`agnfit.plugins.host_pca`; both are registered here.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from pathlib import Path
from typing import NamedTuple

import equinox as eqx
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist

from ..core.component import AbstractComponent
from ..errors import ConfigError, InputError
from ..registry.hookspecs import hookimpl
from .broaden import C_KMS, LogTemplates

C_AA_S = 2.99792458e18  # speed of light in A/s
FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))
NORM_HALF_WIDTH = 50.0  # A: the normalisation window is norm_wave +- this
GRID_DV_KMS = 30.0  # log-grid step of the broadening grid (finer than MILES' 0.9 A sampling)
MAX_INST_SIGMA_KMS = 500.0  # largest instrumental sigma the FFT padding allows for
SIGMA_FLOOR_KMS = 1.0  # effective kernel sigma never goes below this (keeps gradients finite)
MILES_FWHM_A = 2.51  # MILES spectral resolution, FWHM in A (Falcon-Barroso et al. 2011)
ZSUN_BC03 = 0.02
SSP_KEYS = ("ssp_lgmet", "ssp_lg_age_gyr", "ssp_wave", "ssp_flux")
DEFAULT_SET = "bc03_miles_chabrier"
DEFAULT_SSP_FILE = "ssp/bc03_miles_chabrier.h5"

ERR_NOT_SSP = "host template set {name!r} is a {kind}, not an SSPGrid; host_dsps needs an SSP set"
ERR_GRID = "{what} {values} outside the SSP grid of {src} ({lo:.4g} to {hi:.4g} {unit}); choose values inside it"


def sigma_from_fwhm(fwhm_a: float, wave: float) -> float:
    """Gaussian sigma (km/s) of a resolution element of ``fwhm_a`` A at ``wave`` A."""
    return float(fwhm_a / FWHM_PER_SIGMA / wave * C_KMS)


def air_to_vacuum(wave) -> np.ndarray:
    """Vacuum wavelengths (A) of air wavelengths ``wave`` (A); unchanged below 2000 A.

    Uses the refractive index of standard air of Ciddor (1996), in the
    air-to-vacuum form of N. Piskunov adopted by VALD (Ryabchikova et al. 2015).
    """
    wave = np.asarray(wave, float)
    s2 = (1e4 / wave) ** 2
    n = 1.0 + 8.336624212083e-5 + 2.408926869968e-2 / (130.1065924522 - s2) + 1.599740894897e-4 / (38.92568793293 - s2)
    return np.where(wave > 2000.0, wave * n, wave)


class SSPGrid(NamedTuple):
    """An SSP grid, what a ``register_host_templates`` loader for ``host_dsps`` returns.

    Attributes:
        lgmet: log10 Z of the metallicity grid, increasing, shape (n_met,).
        lg_age_gyr: log10(age / Gyr) of the age grid, increasing, shape (n_age,).
        wave: vacuum rest wavelengths (A), increasing, shape (n_wave,).
        lnu: L_nu in Lsun/Hz per Msun formed, shape (n_met, n_age, n_wave).
        zsun: the solar metallicity Z of the grid (logzsol = lgmet - log10 zsun).
        sigma_kms: the templates' own Gaussian resolution (km/s), one constant.
        source: where the grid came from, for messages.
    """

    lgmet: np.ndarray
    lg_age_gyr: np.ndarray
    wave: np.ndarray
    lnu: np.ndarray
    zsun: float
    sigma_kms: float
    source: str


def _check_dsps_file(path: Path) -> None:
    """Raise InputError unless ``path`` is an HDF5 file with a consistent DSPS SSP grid."""
    import h5py

    try:
        hdf = h5py.File(path, "r")
    except OSError as exc:
        raise InputError(f"SSP file {path} cannot be read as HDF5 ({exc}); it must be a DSPS-format SSP grid") from exc
    with hdf:
        missing = [k for k in SSP_KEYS if k not in hdf]
        if missing:
            raise InputError(f"SSP file {path} lacks key(s) {missing}; a DSPS SSP file has {list(SSP_KEYS)}")
        shapes = {k: hdf[k].shape for k in SSP_KEYS}
        want = (shapes["ssp_lgmet"] + shapes["ssp_lg_age_gyr"] + shapes["ssp_wave"])
        if any(len(shapes[k]) != 1 for k in SSP_KEYS[:3]) or shapes["ssp_flux"] != want:
            raise InputError(
                f"SSP file {path} has inconsistent shapes {shapes}: ssp_lgmet (n_met,), ssp_lg_age_gyr (n_age,) "
                f"and ssp_wave (n_wave,) must be 1-D and ssp_flux (n_met, n_age, n_wave)"
            )
        for key in SSP_KEYS[:3]:
            arr = np.asarray(hdf[key][...], float)
            if arr.size > 1 and not np.all(np.diff(arr) > 0):
                raise InputError(f"SSP file {path}: {key} must be strictly increasing")
        if not np.all(np.isfinite(hdf["ssp_flux"][...])) or np.any(np.asarray(hdf["ssp_wave"][...]) <= 0):
            raise InputError(f"SSP file {path}: ssp_flux must be finite and ssp_wave positive")


def read_dsps_ssp(path, zsun: float = ZSUN_BC03, sigma_kms: float | None = None, air: bool = False) -> SSPGrid:
    """Read and validate a DSPS-format SSP file (Hearin et al. 2023) into an :class:`SSPGrid`.

    Args:
        path: the HDF5 file.
        zsun: solar Z of the grid's ``ssp_lgmet`` (0.02 for BC03).
        sigma_kms: the templates' Gaussian resolution (km/s); None: MILES' 2.51 A FWHM at 5100 A.
        air: whether ``ssp_wave`` is in air above 2000 A (converted to vacuum).

    Raises:
        InputError: the file is missing, not HDF5, lacks a key or has inconsistent shapes.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"SSP file {p} does not exist")
    return _read_dsps_ssp(str(p), p.stat().st_mtime, float(zsun), sigma_kms, bool(air))


@functools.lru_cache(maxsize=8)
def _read_dsps_ssp(path: str, mtime: float, zsun: float, sigma_kms, air: bool) -> SSPGrid:
    p = Path(path)
    _check_dsps_file(p)
    import dsps

    ssp = dsps.load_ssp_templates(fn=str(p))
    wave = np.asarray(ssp.ssp_wave, float)
    lgmet, lg_age, lnu = (np.asarray(a, float) for a in (ssp.ssp_lgmet, ssp.ssp_lg_age_gyr, ssp.ssp_flux))
    sigma = sigma_from_fwhm(MILES_FWHM_A, 5100.0) if sigma_kms is None else float(sigma_kms)
    return SSPGrid(lgmet, lg_age, air_to_vacuum(wave) if air else wave, lnu, zsun, sigma, str(p))


def load_bc03_miles_chabrier() -> SSPGrid:
    """BC03 + MILES, Chabrier IMF (Bruzual & Charlot 2003; Sanchez-Blazquez et al. 2006).

    7 metallicities (Z = 1e-4 to 0.1, Zsun = 0.02), 42 ages (1 Myr - 12.5 Gyr),
    900-25000 A. MILES (3540-7350 A) is tabulated in air and converted to
    vacuum. The resolution is taken as MILES' 2.51 A FWHM (Falcon-Barroso et
    al. 2011) at 5100 A, sigma = 62 km/s: it is 90 km/s at 3540 A and 43 km/s
    at 7350 A, and the BC03 parts outside MILES are coarser (STELIB ~3 A,
    BaSeL ~20 A); a fitted ``sigma`` absorbs these differences.
    """
    from ..data import fetch

    return read_dsps_ssp(fetch(DEFAULT_SSP_FILE), ZSUN_BC03, None, True)


def _bracket(grid: np.ndarray, x: float):
    """Indices (i0, i1) and weight t of linear interpolation of ``x`` on increasing ``grid``."""
    if grid.size == 1:
        return 0, 0, 0.0
    i1 = int(np.clip(np.searchsorted(grid, x), 1, grid.size - 1))
    t = float(np.clip((x - grid[i1 - 1]) / (grid[i1] - grid[i1 - 1]), 0.0, 1.0))
    return i1 - 1, i1, t


def _check_inside(what: str, values, grid: np.ndarray, show, unit: str, source: str) -> None:
    bad = (values < grid[0] - 1e-6) | (values > grid[-1] + 1e-6)
    if np.any(bad):
        vals = list(np.round(show(values[bad]), 6))
        raise ConfigError(ERR_GRID.format(what=what, values=vals, src=source, lo=show(grid[0]), hi=show(grid[-1]), unit=unit))


def ssp_subgrid(grid: SSPGrid, ages_gyr, logzsol) -> np.ndarray:
    """L_nu of the SSPs at ``ages_gyr`` x ``logzsol``, shape (n_met * n_age, n_wave).

    Bilinear interpolation of L_nu in (log10 age, log10 Z) between the four
    nearest grid SSPs; a requested point on the grid returns that SSP exactly.
    Row ``i_met * n_age + i_age``. Raises ConfigError outside the grid.
    """
    lg_age = np.log10(np.asarray(ages_gyr, float))
    lgmet = np.asarray(logzsol, float) + np.log10(grid.zsun)
    _check_inside("ages", lg_age, grid.lg_age_gyr, lambda v: 10**v, "Gyr", grid.source)
    _check_inside("logzsol", lgmet, grid.lgmet, lambda v: v - np.log10(grid.zsun), "log10 Z/Zsun", grid.source)
    rows = []
    for zm in lgmet:
        m0, m1, tm = _bracket(grid.lgmet, zm)
        for la in lg_age:
            a0, a1, ta = _bracket(grid.lg_age_gyr, la)
            lo = (1 - ta) * grid.lnu[m0, a0] + ta * grid.lnu[m0, a1]
            hi = (1 - ta) * grid.lnu[m1, a0] + ta * grid.lnu[m1, a1]
            rows.append((1 - tm) * lo + tm * hi)
    return np.stack(rows)


def window_mean(wave, flux, norm_wave: float) -> np.ndarray:
    """Mean of ``flux`` (k, m) over norm_wave +- NORM_HALF_WIDTH A (linear interpolation, zero outside)."""
    x = np.linspace(norm_wave - NORM_HALF_WIDTH, norm_wave + NORM_HALF_WIDTH, 201)
    return np.array([np.interp(x, wave, f, left=0.0, right=0.0).mean() for f in np.atleast_2d(flux)])


class BroadenedBasis(eqx.Module):
    """Templates on a log-lambda grid, combined, broadened to sigma and shifted by dv.

    The Gaussian kernel's sigma is sqrt(sigma^2 + sigma_inst^2 - sigma_template^2)
    (floored at ``SIGMA_FLOOR_KMS``): the line-of-sight dispersion, plus the
    instrument's (median over the spectrum), minus what the templates already have.

    Attributes:
        templates: the precomputed FFTs of the templates.
        sigma_template_kms: the templates' own Gaussian resolution (km/s).
        coverage: rest range (A) where the templates are defined.
    """

    templates: LogTemplates
    sigma_template_kms: float = eqx.field(static=True)
    coverage: tuple = eqx.field(static=True)

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

    def __call__(self, wave, coeffs, sigma, dv, ctx):
        """sum_k coeffs[k] template_k, broadened and shifted, at rest ``wave`` (A); 0 outside the coverage."""
        f = self.templates.broadened(coeffs, self.kernel_sigma(sigma, ctx), dv)
        lnw = jnp.log(jnp.maximum(jnp.asarray(wave, f.dtype), 1e-30))
        return self.templates.interp(lnw, f)

    def overlaps(self, wave_min: float, wave_max: float) -> bool:
        return wave_min < self.coverage[1] and wave_max > self.coverage[0]


def options_factory(options_cls):
    """Decorate ``factory(name, **options)``: options are checked against the dataclass ``options_cls``.

    The factory gets the dataclass' fields as its signature, so a config is
    checked before anything is built; an unknown option is a ConfigError.
    """

    def wrap(build):
        @functools.wraps(build)
        def factory(name: str, **options):
            allowed = [f.name for f in dataclasses.fields(options_cls)]
            unknown = sorted(set(options) - set(allowed))
            if unknown:
                raise ConfigError(f"{name}: unknown option(s) {unknown}; allowed: {allowed}")
            return build(name, options_cls(**options))

        params = [inspect.Parameter("name", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        kw = inspect.Parameter.KEYWORD_ONLY
        params += [inspect.Parameter(f.name, kw, default=f.default) for f in dataclasses.fields(options_cls)]
        factory.__signature__ = inspect.Signature(params)
        return factory

    return wrap


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


class HostSSP(AbstractComponent):
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

    def weights(self, params):
        return jnp.stack([jnp.asarray(params[n]) for n in self.weights_names()])

    def __call__(self, wave, params, ctx):
        return self.basis(wave, self.weights(params), params["sigma"], params["dv"], ctx)

    def restrict(self, wave_min, wave_max):
        return self if self.basis.overlaps(wave_min, wave_max) else None

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


def check_range(name: str, what: str, pair, lo_min: float = 0.0) -> tuple:
    try:
        lo, hi = (float(v) for v in pair)
    except (TypeError, ValueError):
        raise ConfigError(f"{name}: {what} must be a pair (low, high), got {pair!r}") from None
    if not (lo_min <= lo < hi):
        raise ConfigError(f"{name}: {what} must satisfy {lo_min} <= low < high, got {pair!r}")
    return lo, hi


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
    from .host_pca import host_pca

    return {"host_dsps": host_dsps, "host_pca": host_pca}


@hookimpl
def register_host_templates():
    from .host_pca import load_yip2004_galaxy

    return {DEFAULT_SET: load_bc03_miles_chabrier, "yip2004_galaxy": load_yip2004_galaxy}

"""Simple-stellar-population (SSP) grids for the host-galaxy components, and their shared option helpers.

An :class:`SSPGrid` is read from a DSPS-format file (Hearin et al. 2023: keys
``ssp_lgmet``, ``ssp_lg_age_gyr``, ``ssp_wave``, ``ssp_flux``, L_nu in Lsun/Hz
per Msun formed), validated, and interpolated onto the ages x metallicities a
user picks (:func:`ssp_subgrid`). :func:`window_mean` gives the normalisation
of a template over a window, and :func:`options_factory` / :func:`check_range`
check a component's options; ``host_dsps`` (:mod:`agnfit.plugins.host`) and
``host_pca`` (:mod:`agnfit.plugins.host_pca`) share them.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..errors import ConfigError, InputError
from .broaden import C_KMS

C_AA_S = 2.99792458e18  # speed of light in A/s
FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))
NORM_HALF_WIDTH = 50.0  # A: the normalisation window is norm_wave +- this
MILES_FWHM_A = 2.51  # MILES spectral resolution, FWHM in A (Falcon-Barroso et al. 2011)
ZSUN_BC03 = 0.02
SSP_KEYS = ("ssp_lgmet", "ssp_lg_age_gyr", "ssp_wave", "ssp_flux")
DEFAULT_SSP_FILE = "ssp/bc03_miles_chabrier.h5"

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


def check_range(name: str, what: str, pair, lo_min: float = 0.0) -> tuple:
    """``pair`` as (low, high) floats with lo_min <= low < high, else a ConfigError naming ``name`` and ``what``."""
    try:
        lo, hi = (float(v) for v in pair)
    except (TypeError, ValueError):
        raise ConfigError(f"{name}: {what} must be a pair (low, high), got {pair!r}") from None
    if not (lo_min <= lo < hi):
        raise ConfigError(f"{name}: {what} must satisfy {lo_min} <= low < high, got {pair!r}")
    return lo, hi

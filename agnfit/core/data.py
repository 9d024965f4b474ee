"""Validated data containers and the array bundle the model is fitted to.

``Spectrum`` and ``Photometry`` are what users (and readers) build; they check
their inputs once, at the boundary, and mask what cannot be used (with a
logged count). ``FitData`` is a NamedTuple of arrays only, so jitted fit
functions take it as a traced argument and compile once per shape bucket.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from ..errors import InputError
from .component import EvalContext

log = logging.getLogger(__name__)

C_KMS = 299792.458
Z_MAX = 8.0
#: catalogue sentinel values that mean "no measurement"
MAG_SENTINELS = (-9999.0, -999.0, -99.0, 99.0, 999.0, 9999.0)


def _as_1d(name, x, dtype=float):
    try:
        a = np.asarray(x, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be a 1-D numeric array ({exc})") from None
    if a.ndim != 1:
        raise InputError(f"{name} must be 1-D, got shape {a.shape}")
    return a


def _check_wave_units(wave):
    lo, hi = float(np.nanmin(wave)), float(np.nanmax(wave))
    if hi < 5.0 and lo > 2.0:
        raise InputError(
            f"wavelengths span {lo:.3f}-{hi:.3f}: this looks like log10(Angstrom); pass 10**wave"
        )
    if hi < 30.0:
        raise InputError(
            f"wavelengths span {lo:.4g}-{hi:.4g}: this looks like micron; multiply by 1e4 to get Angstrom"
        )
    if hi < 1000.0 and lo > 50.0:
        raise InputError(
            f"wavelengths span {lo:.4g}-{hi:.4g}: this looks like nm; multiply by 10 to get Angstrom"
        )


@dataclasses.dataclass
class Spectrum:
    """An observed spectrum, validated.

    Args:
        wave: observed-frame wavelength (A, vacuum), strictly increasing.
        flux: f_lambda in units of ``flux_unit`` erg/s/cm^2/A.
        err: 1-sigma uncertainty of ``flux`` (same units); non-positive or
            non-finite values mask the pixel.
        z: redshift (0 <= z <= 8).
        mask: optional good-pixel mask (True = use).
        lsf_sigma_kms: optional instrumental Gaussian sigma per pixel (km/s).
        ra, dec: optional sky position (deg), used for Galactic E(B-V).
        ebv: optional Galactic E(B-V) (mag), overrides the dust map.
        flux_unit: erg/s/cm^2/A per flux unit (SDSS: 1e-17).
        name: object name, used in logs and result files.
        sort: sort unsorted wavelengths instead of raising.
        photometry: optional broadband photometry that came with the file
            (e.g. SDSS CALIBFLUX), used when a fit is asked for photometry.
        meta: free-form metadata (file name, plate/mjd/fiber, ...).
    """

    wave: np.ndarray
    flux: np.ndarray
    err: np.ndarray
    z: float
    mask: np.ndarray | None = None
    lsf_sigma_kms: np.ndarray | float | None = None
    ra: float | None = None
    dec: float | None = None
    ebv: float | None = None
    flux_unit: float = 1e-17
    name: str = "spectrum"
    sort: bool = False
    photometry: "Photometry | None" = None
    meta: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        self.wave = _as_1d("wave", self.wave)
        self.flux = _as_1d("flux", self.flux)
        self.err = _as_1d("err", self.err)
        n = self.wave.size
        for other in ("flux", "err"):
            m = getattr(self, other).size
            if m != n:
                raise InputError(f"wave has {n} pixels but {other} has {m}; they must have the same length")
        if n < 10:
            raise InputError(f"a spectrum needs at least 10 pixels, got {n}")
        if not np.all(np.isfinite(self.wave)):
            raise InputError("wave contains NaN or inf; wavelengths must all be finite")
        _check_wave_units(self.wave)
        mask = np.ones(n, bool) if self.mask is None else _as_1d("mask", self.mask, bool)
        if mask.size != n:
            raise InputError(f"wave has {n} pixels but mask has {mask.size}")
        lsf = self.lsf_sigma_kms
        if lsf is not None:
            lsf = np.broadcast_to(np.asarray(lsf, float), (n,)).copy()
        dw = np.diff(self.wave)
        if np.any(dw <= 0):
            if not self.sort:
                bad = int(np.sum(dw <= 0))
                kind = "duplicated" if np.all(dw >= 0) else "non-monotonic"
                raise InputError(
                    f"wavelengths are {kind} at {bad} place(s); pass sort=True (config data.sort_wavelengths) "
                    "to sort them and drop duplicates"
                )
            order = np.argsort(self.wave, kind="stable")
            keep = np.r_[True, np.diff(self.wave[order]) > 0]
            idx = order[keep]
            log.warning("%s: sorted wavelengths, dropped %d duplicate pixel(s)", self.name, int(n - idx.size))
            self.wave, self.flux, self.err, mask = self.wave[idx], self.flux[idx], self.err[idx], mask[idx]
            lsf = None if lsf is None else lsf[idx]
        if lsf is not None and not np.all(np.isfinite(lsf) & (lsf >= 0)):
            raise InputError("lsf_sigma_kms must be finite and >= 0 everywhere")
        self.lsf_sigma_kms = lsf
        try:
            self.z = float(self.z)
        except (TypeError, ValueError):
            raise InputError(f"z must be a number, got {self.z!r}") from None
        if not np.isfinite(self.z) or self.z < 0 or self.z > Z_MAX:
            raise InputError(f"redshift z={self.z} is outside [0, {Z_MAX}]; check the catalogue value")
        if not (np.isfinite(self.flux_unit) and self.flux_unit > 0):
            raise InputError(f"flux_unit must be positive, got {self.flux_unit}")
        if self.ebv is not None and not (np.isfinite(self.ebv) and 0 <= self.ebv < 10):
            raise InputError(f"ebv={self.ebv} must be finite and in [0, 10) mag")
        nonfinite = ~np.isfinite(self.flux) | ~np.isfinite(self.err)
        badnoise = np.isfinite(self.err) & (self.err <= 0)
        for count, what in ((nonfinite.sum(), "NaN/inf flux or error"), (badnoise.sum(), "zero or negative error")):
            if count:
                log.warning("%s: masked %d pixel(s) with %s", self.name, int(count), what)
        mask = mask & ~nonfinite & ~badnoise
        if not mask.any():
            raise InputError(f"{self.name}: every pixel is masked (bad errors, NaN, or the given mask); nothing to fit")
        self.flux = np.where(mask, self.flux, 0.0)
        self.err = np.where(mask, self.err, 1.0)
        self.mask = mask

    @property
    def rest_wave(self) -> np.ndarray:
        return self.wave / (1.0 + self.z)

    @property
    def n_good(self) -> int:
        return int(self.mask.sum())

    def flux_scale(self) -> float:
        """Normalisation (in flux units): the median |flux| of good pixels, or their mean error."""
        f = np.abs(self.flux[self.mask])
        s = float(np.median(f))
        if not np.isfinite(s) or s <= 0:
            s = float(np.median(self.err[self.mask]))
        return s


@dataclasses.dataclass
class Photometry:
    """Broadband (PSF) AB magnitudes.

    Sentinel values (-9999, 99, ...), non-finite magnitudes and non-positive or
    non-finite errors drop the band with a logged warning.

    Args:
        bands: band names as registered filters (speclite ``group-band``).
        mags: AB magnitudes.
        errs: 1-sigma errors (mag).
    """

    bands: tuple
    mags: np.ndarray
    errs: np.ndarray

    def __post_init__(self):
        self.bands = tuple(str(b) for b in self.bands)
        self.mags = _as_1d("mags", self.mags)
        self.errs = _as_1d("errs", self.errs)
        if not (len(self.bands) == self.mags.size == self.errs.size):
            raise InputError(
                f"photometry has {len(self.bands)} bands, {self.mags.size} mags and {self.errs.size} errors; "
                "they must have the same length"
            )
        if len(set(self.bands)) != len(self.bands):
            raise InputError(f"duplicated band names in {self.bands}")
        sentinel = np.isin(self.mags, MAG_SENTINELS)
        bad = sentinel | ~np.isfinite(self.mags) | ~np.isfinite(self.errs) | (self.errs <= 0)
        if bad.any():
            log.warning("photometry: dropped band(s) %s with sentinel/NaN magnitude or bad error",
                        [b for b, x in zip(self.bands, bad) if x])
        self.valid = ~bad

    @classmethod
    def from_nanomaggies(cls, bands, flux_nmgy, ivar=None, err=None):
        """From fluxes in nanomaggies (m = 22.5 - 2.5 log10 f), e.g. SDSS CALIBFLUX."""
        f = np.asarray(flux_nmgy, float)
        if err is None:
            ivar = np.asarray(ivar, float)
            with np.errstate(divide="ignore", invalid="ignore"):
                err = np.where(ivar > 0, 1 / np.sqrt(ivar), np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            mags = np.where(f > 0, 22.5 - 2.5 * np.log10(f), np.nan)
            merr = np.where(f > 0, 2.5 / np.log(10) * np.asarray(err, float) / f, np.nan)
        return cls(tuple(bands), mags, merr)


class FitData(NamedTuple):
    """Arrays a model is fitted to; all traced, none static.

    wave is rest-frame (A); flux and err are divided by ``flux_scale`` (so that
    the model works in units of order one) and already corrected for Galactic
    extinction; ``flux_scale`` converts one model unit to erg/s/cm^2/A.
    Padded pixels have ``mask == 0``.
    """

    wave: Float[Array, " n"]
    flux: Float[Array, " n"]
    err: Float[Array, " n"]
    mask: Float[Array, " n"]
    z: Float[Array, ""]
    flux_scale: Float[Array, ""]
    ebv: Float[Array, ""]
    ctx: EvalContext
    phot_mag: Float[Array, " b"]
    phot_err: Float[Array, " b"]
    phot_mask: Float[Array, " b"]

    @property
    def n_pix(self) -> int:
        return self.wave.shape[-1]


def pad_length(n: int, buckets) -> int:
    """The smallest bucket length >= n (or n itself beyond the largest bucket)."""
    for b in sorted(buckets or ()):
        if b >= n:
            return int(b)
    return int(n)


def pad_edge(x: np.ndarray, n: int, extrapolate: bool = False) -> np.ndarray:
    """Pad 1-D ``x`` to length ``n``: repeat the last value or continue its last step."""
    k = n - x.size
    if k <= 0:
        return x
    if extrapolate:
        step = x[-1] - x[-2]
        return np.r_[x, x[-1] + step * np.arange(1, k + 1)]
    return np.r_[x, np.full(k, x[-1])]


def as_jnp(tree):
    import jax

    return jax.tree_util.tree_map(lambda a: jnp.asarray(a, dtype=float), tree)

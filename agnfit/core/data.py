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
from jaxtyping import Array, Bool, Float, Real

from ..errors import InputError
from .checks import checked
from .component import EvalContext

log = logging.getLogger(__name__)

C_KMS = 299792.458
Z_MAX = 8.0
#: catalogue sentinel values that mean "no measurement"
MAG_SENTINELS = (-9999.0, -999.0, -99.0, 99.0, 999.0, 9999.0)
ERR_QUANTITY = ("{name} is an astropy Quantity; Spectrum takes plain arrays (A, flux units). "
                "Use agnfit.read_spectrum((wave, flux, err), z=...), which converts units")


def _raw(name, x, missing=None):
    """``x`` as an ndarray with its own dtype (dtype checks follow); Quantities and ragged input raise.

    Args:
        name: argument name for messages.
        x: array-like.
        missing: fill value for the masked entries of a numpy masked array
            (None: masked arrays are taken as plain arrays).
    """
    if hasattr(x, "unit") and hasattr(x, "value"):
        raise InputError(ERR_QUANTITY.format(name=name))
    if missing is not None and isinstance(x, np.ma.MaskedArray) and np.ma.is_masked(x):
        x = np.ma.asarray(x, float).filled(missing)
    try:
        return np.asarray(x)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be a 1-D numeric array ({exc})") from None


def _as_1d(name, x, missing=None):
    a = _raw(name, x, missing)
    if a.ndim != 1:
        raise InputError(f"{name} must be 1-D, got shape {a.shape}")
    return a


def finite_number(name, value, lo=-np.inf, hi=np.inf) -> float:
    """``value`` as a finite float in [lo, hi], else InputError naming ``name`` (bools and text are refused)."""
    if isinstance(value, (bool, np.bool_, str, bytes)):
        raise InputError(f"{name} must be a number, got {value!r}")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number, got {value!r}") from None
    if not (np.isfinite(v) and lo <= v <= hi):
        raise InputError(f"{name}={value!r} must be finite and in [{lo:g}, {hi:g}]")
    return v


@checked(where="Spectrum", hint=(
    "wave, flux and err must be 1-D arrays of real numbers (int or float, not bool, complex or text) "
    "of one length n; mask boolean or 0/1 of length n; lsf_sigma_kms a number or a length-n array"))
def _check_spectrum_arrays(
    wave: Real[np.ndarray, " n"],
    flux: Real[np.ndarray, " n"],
    err: Real[np.ndarray, " n"],
    mask: Bool[np.ndarray, " n"] | Real[np.ndarray, " n"] | None,
    lsf_sigma_kms: Real[np.ndarray, " n"] | Real[np.ndarray, ""] | None,
) -> None:
    """The dtype and shape contract of a Spectrum's arrays (enforced by :func:`~agnfit.core.checks.checked`)."""


@checked(where="Photometry", hint="mags and errs must be 1-D arrays of real numbers, one per band")
def _check_photometry_arrays(mags: Real[np.ndarray, " b"], errs: Real[np.ndarray, " b"]) -> None:
    """The dtype and shape contract of Photometry's magnitudes and errors."""


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

    Raises:
        InputTypeError: an array of the wrong dtype (complex, boolean, text,
            objects) or shape (``lsf_sigma_kms`` of another length).
        InputError: anything else that cannot be fitted: mismatched lengths,
            fewer than 10 pixels, wavelengths that are not finite, positive,
            increasing Angstrom, z outside [0, 8], every pixel masked, an
            astropy Quantity (use :func:`agnfit.read_spectrum` for units).
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
        self.name = str(self.name)
        wave, flux, err = _as_1d("wave", self.wave), _as_1d("flux", self.flux, np.nan), _as_1d("err", self.err, np.nan)
        n = wave.size
        for other, arr in (("flux", flux), ("err", err)):
            if arr.size != n:
                raise InputError(f"wave has {n} pixels but {other} has {arr.size}; they must have the same length")
        mask = None if self.mask is None else _as_1d("mask", self.mask)
        if mask is not None and mask.size != n:
            raise InputError(f"wave has {n} pixels but mask has {mask.size}")
        lsf = None if self.lsf_sigma_kms is None else _raw("lsf_sigma_kms", self.lsf_sigma_kms)
        _check_spectrum_arrays(wave, flux, err, mask, lsf)
        self.wave, self.flux, self.err = (a.astype(float) for a in (wave, flux, err))
        if n < 10:
            raise InputError(f"a spectrum needs at least 10 pixels, got {n}")
        if not np.all(np.isfinite(self.wave)):
            raise InputError("wave contains NaN or inf; wavelengths must all be finite")
        if self.wave.min() <= 0:
            raise InputError(f"wavelengths must be positive (A, vacuum); the smallest is {self.wave.min():g}")
        _check_wave_units(self.wave)
        mask = np.ones(n, bool) if mask is None else mask.astype(bool)
        if lsf is not None:
            lsf = np.broadcast_to(lsf.astype(float), (n,)).copy()
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
            if idx.size < 10:
                raise InputError(f"a spectrum needs at least 10 distinct wavelengths, got {idx.size}")
        if lsf is not None and not np.all(np.isfinite(lsf) & (lsf >= 0)):
            raise InputError("lsf_sigma_kms must be finite and >= 0 everywhere")
        self.lsf_sigma_kms = lsf
        try:
            self.z = float(self.z)
        except (TypeError, ValueError):
            raise InputError(f"z must be a number, got {self.z!r}") from None
        if not np.isfinite(self.z) or self.z < 0 or self.z > Z_MAX:
            raise InputError(f"redshift z={self.z} is outside [0, {Z_MAX}]; check the catalogue value")
        self.flux_unit = finite_number("flux_unit", self.flux_unit, 0.0)
        if self.flux_unit <= 0:
            raise InputError(f"flux_unit must be positive (erg/s/cm^2/A per flux unit), got {self.flux_unit}")
        if self.ebv is not None:
            self.ebv = finite_number("ebv (mag)", self.ebv, 0.0, 10.0)
        for key, limit in (("ra", 360.0), ("dec", 90.0)):  # NaN = unknown position, like None
            v = getattr(self, key)
            nan = isinstance(v, (float, np.floating)) and np.isnan(v)
            setattr(self, key, None if v is None or nan else finite_number(f"{key} (deg)", v, -limit, limit))
        if self.photometry is not None and not isinstance(self.photometry, Photometry):
            raise InputError(f"photometry must be an agnfit.Photometry, got {type(self.photometry).__name__}")
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
        """Rest-frame wavelengths (A): wave / (1 + z)."""
        return self.wave / (1.0 + self.z)

    @property
    def n_good(self) -> int:
        """Number of unmasked pixels."""
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

    Raises:
        InputTypeError: magnitudes or errors that are not real numbers.
        InputError: band names that are not a sequence of strings, duplicated
            bands, or lengths that differ.
    """

    bands: tuple
    mags: np.ndarray
    errs: np.ndarray

    def __post_init__(self):
        if isinstance(self.bands, (str, bytes)):
            raise InputError(f"bands must be a sequence of band names, got the single string {self.bands!r}; "
                             "pass a list, e.g. [\"sdss2010-r\"]")
        try:
            bands = tuple(self.bands)
        except TypeError:
            raise InputError(f"bands must be a sequence of band names, got {type(self.bands).__name__}") from None
        odd = [b for b in bands if not isinstance(b, str)]
        if odd:
            raise InputError(f"band names must be strings (speclite 'group-band', e.g. 'sdss2010-r'), got {odd}")
        self.bands = bands
        mags, errs = _as_1d("mags", self.mags, np.nan), _as_1d("errs", self.errs, np.nan)
        if not (len(self.bands) == mags.size == errs.size):
            raise InputError(
                f"photometry has {len(self.bands)} bands, {mags.size} mags and {errs.size} errors; "
                "they must have the same length"
            )
        _check_photometry_arrays(mags, errs)
        self.mags, self.errs = mags.astype(float), errs.astype(float)
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
        """From fluxes in nanomaggies (m = 22.5 - 2.5 log10 f), e.g. SDSS CALIBFLUX.

        Args:
            bands: band names.
            flux_nmgy: fluxes (nanomaggies, 3.631e-6 Jy).
            ivar: inverse variances of ``flux_nmgy`` (1/nanomaggies^2), or
            err: their 1-sigma errors (nanomaggies).
        """
        if (ivar is None) == (err is None):
            raise InputError("Photometry.from_nanomaggies needs exactly one of ivar= or err=")
        f = _as_1d("flux_nmgy", flux_nmgy, np.nan)
        unc = _as_1d("ivar" if err is None else "err", ivar if err is None else err, np.nan)
        _check_photometry_arrays(f, unc)
        f, unc = f.astype(float), unc.astype(float)
        if err is None:
            with np.errstate(divide="ignore", invalid="ignore"):
                err = np.where(unc > 0, 1 / np.sqrt(unc), np.nan)
        else:
            err = unc
        with np.errstate(divide="ignore", invalid="ignore"):
            mags = np.where(f > 0, 22.5 - 2.5 * np.log10(f), np.nan)
            merr = np.where(f > 0, 2.5 / np.log(10) * err / f, np.nan)
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
        """Padded length (pixels) of the arrays, the length bucket."""
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
    """The pytree with every leaf as a float64 jax array (the form the compiled fit takes)."""
    import jax

    return jax.tree_util.tree_map(lambda a: jnp.asarray(a, dtype=float), tree)

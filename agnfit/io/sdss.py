"""Readers for SDSS-family spectra.

Three layouts, all on a log10-lambda grid in vacuum Angstrom with flux in
1e-17 erg/s/cm^2/A:

``spec-PLATE-MJD-FIBER.fits`` (SDSS DR8+ reprocessing of SDSS-I/II, BOSS, eBOSS)
    HDU 1 (COADD) columns ``loglam, flux, ivar, and_mask, wdisp``; HDU 2
    (SPECOBJ / SPALL) one row with ``Z, PLUG_RA, PLUG_DEC, CALIBFLUX,
    CALIBFLUX_IVAR, PLATE, MJD, FIBERID``.
DR7 ``spSpec-MJD-PLATE-FIBER.fit``
    primary image of 4 rows (flux, continuum-subtracted flux, 1-sigma noise,
    pixel mask) with ``COEFF0, COEFF1, Z, RAOBJ, DECOBJ`` in the header. It
    has no per-pixel dispersion (no LSF) and no imaging fluxes.
``spPlate-PLATE-MJD.fits``
    all fibres of a plate: images of flux, ivar, and_mask, or_mask and
    dispersion (HDUs 0-4) and the plug map (HDU 5); select with ``fiber=``
    (1-based FIBERID). The redshift is not in this file: pass ``z=``.

Pixel masking (``and_mask_bits``)
    A pixel is dropped where ``ivar <= 0`` (or the spSpec noise is <= 0), and
    where its AND mask has any of the SPPIXMASK bits in ``and_mask_bits``.
    The default, :data:`DEFAULT_AND_MASK_BITS`, is FULLREJECT, NOSKY,
    NODATA and COMBINEREJ (data rejected; their ivar is normally 0 already)
    plus BRIGHTSKY and BADSKYCHI (strong sky-subtraction residuals). The
    fibre-level bits 0-12 (e.g. MANYBADCOLUMNS, set on every pixel of some
    good spectra) and the informational bits NEARBADPIXEL, LOWFLAT,
    PARTIALREJECT, SCATTEREDLIGHT, CROSSTALK are *not* used: masking every
    non-zero AND mask would throw away large parts of good spectra (about
    45 % of spec-0332-52367-0639). Pass a sequence of bit names or numbers,
    ``"all"`` (any non-zero AND mask) or ``None`` (ivar only).

LSF
    ``wdisp`` is the Gaussian sigma of the line-spread function in pixels of
    the log10-lambda grid (``dloglam = COEFF1 = 1e-4`` dex), so
    ``sigma_kms = wdisp * dloglam * ln(10) * c`` (about 60-75 km/s for SDSS).
    Non-positive ``wdisp`` values are interpolated from their neighbours.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..core.data import Photometry
from ..errors import InputError
from .common import build_spectrum, check_options, fill_bad, ivar_to_err, loglam_sigma_kms, pop_overrides, reading

log = logging.getLogger(__name__)

#: SDSS/BOSS spectroscopic pixel mask bits (SPPIXMASK), name -> bit number.
SPPIXMASK = {
    "NOPLUG": 0, "BADTRACE": 1, "BADFLAT": 2, "BADARC": 3, "MANYBADCOLUMNS": 4, "MANYREJECTED": 5,
    "LARGESHIFT": 6, "BADSKYFIBER": 7, "NEARWHOPPER": 8, "WHOPPER": 9, "SMEARIMAGE": 10,
    "SMEARHIGHSN": 11, "SMEARMEDSN": 12, "NEARBADPIXEL": 16, "LOWFLAT": 17, "FULLREJECT": 18,
    "PARTIALREJECT": 19, "SCATTEREDLIGHT": 20, "CROSSTALK": 21, "NOSKY": 22, "BRIGHTSKY": 23,
    "NODATA": 24, "COMBINEREJ": 25, "BADFLUXFACTOR": 26, "BADSKYCHI": 27, "REDMONSTER": 28,
}
#: AND-mask bits that drop a pixel by default (see the module docstring).
DEFAULT_AND_MASK_BITS = ("FULLREJECT", "NOSKY", "BRIGHTSKY", "NODATA", "COMBINEREJ", "BADSKYCHI")
#: speclite names of the SDSS imaging bands, in CALIBFLUX order.
SDSS_BANDS = ("sdss2010-u", "sdss2010-g", "sdss2010-r", "sdss2010-i", "sdss2010-z")
#: erg/s/cm^2/A per SDSS flux unit.
SDSS_FLUX_UNIT = 1e-17

SPEC_WHAT = "an SDSS spec-*.fits file (HDU 1 COADD table with loglam, flux, ivar; HDU 2 SPECOBJ)"
SPSPEC_WHAT = "an SDSS DR7 spSpec file (primary image: flux, continuum-subtracted flux, noise, mask; COEFF0/COEFF1)"
SPPLATE_WHAT = "an SDSS spPlate file (HDUs 0-4: flux, ivar, and_mask, or_mask, dispersion; HDU 5 plug map)"


def and_mask_value(bits) -> int:
    """The AND-mask integer whose set bits drop a pixel.

    Args:
        bits: sequence of SPPIXMASK names (``"BRIGHTSKY"``) or bit numbers,
            ``"all"`` (every bit) or ``None`` / ``"none"`` (no bit masks).
    """
    if bits is None:
        return 0
    if isinstance(bits, str):
        if bits.lower() == "all":
            return 0xFFFFFFFF
        if bits.lower() == "none":
            return 0
        bits = (bits,)
    try:
        items = list(bits)
    except TypeError:
        raise InputError(
            f"and_mask_bits={bits!r} must be a sequence of SPPIXMASK bit names or numbers, 'all' or None"
        ) from None
    value = 0
    for b in items:
        if isinstance(b, str):
            if b.upper() not in SPPIXMASK:
                raise InputError(f"unknown SPPIXMASK bit {b!r}; known bits: {sorted(SPPIXMASK)}")
            value |= 1 << SPPIXMASK[b.upper()]
        elif isinstance(b, (int, np.integer)) and 0 <= int(b) < 32:
            value |= 1 << int(b)
        else:
            raise InputError(f"and_mask_bits entry {b!r} is neither an SPPIXMASK name nor a bit number 0-31")
    return value


def bit_names(value: int) -> list[str]:
    """SPPIXMASK names of the bits set in ``value`` (``"bit<N>"`` for unnamed ones)."""
    names = {v: k for k, v in SPPIXMASK.items()}
    return [names.get(i, f"bit{i}") for i in range(32) if value >> i & 1]


def _pixel_mask(source, ivar_good, and_mask, bits: int) -> np.ndarray:
    """Good pixels: positive ivar and none of ``bits`` set in the AND mask."""
    flagged = (np.asarray(and_mask, np.int64) & bits) != 0
    good = ivar_good & ~flagged
    log.info("%s: masked %d of %d pixels (%d without inverse variance, %d more by AND-mask bits)",
             source, int((~good).sum()), good.size, int((~ivar_good).sum()), int((flagged & ivar_good).sum()))
    return good


def _log_grid(header, n: int, loglam=None) -> tuple[np.ndarray, float]:
    """Vacuum wavelengths (A) and the grid step (dex) of a log10-lambda grid.

    Uses ``COEFF0 + COEFF1 * i`` from ``header`` when present (and, given
    ``loglam``, consistent with it to 0.05 pixel): single-precision
    ``loglam`` columns carry ~1e-6 relative (0.4 km/s) rounding noise.
    """
    c0, c1 = header.get("COEFF0"), header.get("COEFF1")
    if header.get("AIRORVAC", "vac").strip().lower().startswith("air") or header.get("VACUUM") is False:
        raise InputError("the file's wavelengths are in air; agnfit expects vacuum wavelengths")
    if loglam is None:
        if c0 is None or c1 is None:
            raise InputError("the header has no COEFF0/COEFF1 wavelength solution")
        return 10.0 ** (float(c0) + float(c1) * np.arange(n)), float(c1)
    loglam = np.asarray(loglam, float)
    if loglam.size == 0:
        raise InputError("the spectrum has no pixels (empty loglam column)")
    if c0 is not None and c1 is not None and float(c1) > 0:
        idx = (loglam - float(c0)) / float(c1)
        if np.all(np.abs(idx - np.round(idx)) < 0.05):
            return 10.0 ** (float(c0) + float(c1) * np.round(idx)), float(c1)
    step = (loglam[-1] - loglam[0]) / max(loglam.size - 1, 1)
    return 10.0**loglam, float(step)


class _Row:
    """Case-insensitive access to one row of a FITS table (or nothing)."""

    def __init__(self, hdu=None, index: int = 0):
        self.values = {}
        if hdu is not None and getattr(hdu, "columns", None) is not None and hdu.data is not None and len(hdu.data):
            row = hdu.data[index]
            self.values = {n.upper(): row[n] for n in hdu.columns.names}

    def get(self, name, default=None):
        return self.values.get(name.upper(), default)

    def scalar(self, name, kind=float, default=None):
        """The value of column ``name`` as ``kind`` (str: stripped text); ``default`` when absent or unreadable."""
        v = self.get(name)
        if v is None or np.size(v) == 0:
            return default
        v = np.ravel(v)[0]
        if isinstance(v, bytes):
            v = v.decode(errors="replace")
        if kind is str:
            return str(v).strip()
        try:
            return kind(v)
        except (TypeError, ValueError, OverflowError):
            log.warning("column %s=%r is not a %s; ignored", name, v, kind.__name__)
            return default


def calibflux_photometry(row: _Row) -> Photometry | None:
    """SDSS ugriz imaging photometry from ``CALIBFLUX`` / ``CALIBFLUX_IVAR`` (nanomaggies).

    These are the imaging fluxes the pipeline calibrated the spectrum to
    (not corrected for Galactic extinction, like the spectrum).
    """
    flux, ivar = row.get("CALIBFLUX"), row.get("CALIBFLUX_IVAR")
    if flux is None or ivar is None:
        return None
    flux, ivar = np.ravel(flux).astype(float), np.ravel(ivar).astype(float)
    if flux.size != len(SDSS_BANDS) or ivar.size != len(SDSS_BANDS):
        return None
    return Photometry.from_nanomaggies(SDSS_BANDS, flux, ivar=ivar)


def _plate_name(plate, mjd, fiber, path) -> str:
    if plate is None or mjd is None or fiber is None:
        return Path(str(path)).stem
    return f"{int(plate):04d}-{int(mjd):05d}-{int(fiber):04d}"


def _header_float(header, key):
    """A header value as float, or None when absent or not a number (logged)."""
    v = header.get(key)
    try:
        return None if v is None else float(v)
    except (TypeError, ValueError):
        log.warning("header keyword %s=%r is not a number; ignored", key, v)
        return None


def _header_int(header, key):
    v = header.get(key)
    try:
        return None if v is None else int(v)
    except (TypeError, ValueError):
        return None


def is_spec(hdul) -> bool:
    """True for a ``spec-*.fits`` layout: HDU 1 a COADD table (or one with and_mask) with loglam, flux, ivar."""
    if len(hdul) < 2 or getattr(hdul[1], "columns", None) is None:
        return False
    names = {n.lower() for n in hdul[1].columns.names}
    return {"loglam", "flux", "ivar"} <= names and (hdul[1].name.upper() == "COADD" or "and_mask" in names)


def _primary_2d(hdul):
    h = hdul[0].header
    return h.get("NAXIS") == 2 and "COEFF0" in h and "COEFF1" in h


def is_spplate(hdul) -> bool:
    """True for an spPlate layout: 2-D flux and ivar images of equal shape, COEFF0/COEFF1."""
    return (_primary_2d(hdul) and len(hdul) >= 5 and hdul[1].header.get("NAXIS") == 2
            and hdul[1].header.get("NAXIS1") == hdul[0].header.get("NAXIS1")
            and hdul[1].header.get("NAXIS2") == hdul[0].header.get("NAXIS2"))


def is_spspec(hdul) -> bool:
    """True for a DR7 spSpec layout: a 2-D primary image of 4 rows with COEFF0/COEFF1."""
    return _primary_2d(hdul) and hdul[0].header.get("NAXIS2") in (4, 5) and not is_spplate(hdul)


def read_spec(hdul, path, options: dict):
    """Read an SDSS/BOSS/eBOSS ``spec-*.fits`` file (see the module docstring).

    Options: ``and_mask_bits``, and the Spectrum overrides ``z``, ``name``,
    ``ebv``, ``ra``, ``dec``, ``photometry``, ``meta``, ``sort``.
    """
    opts = dict(options)
    overrides = pop_overrides(opts)
    check_options(opts, ("and_mask_bits",), "an SDSS spec file")
    bits = and_mask_value(opts.get("and_mask_bits", DEFAULT_AND_MASK_BITS))
    with reading(path, SPEC_WHAT):
        cols = {n.lower(): n for n in hdul[1].columns.names}
        data = hdul[1].data
        loglam = np.asarray(data[cols["loglam"]], float)
        flux = np.asarray(data[cols["flux"]], float)
        ivar = np.asarray(data[cols["ivar"]], float)
        and_mask = np.asarray(data[cols["and_mask"]]) if "and_mask" in cols else np.zeros(loglam.size, int)
        wdisp = np.asarray(data[cols["wdisp"]], float) if "wdisp" in cols else None
        header = hdul[0].header
        row = _Row(hdul[2] if len(hdul) > 2 else None)
    wave, dloglam = _log_grid(header, loglam.size, loglam)
    err, ivar_good = ivar_to_err(ivar)
    mask = _pixel_mask(path, ivar_good, and_mask, bits)
    lsf = None
    if wdisp is not None:
        lsf = loglam_sigma_kms(fill_bad(wdisp, wdisp > 0), dloglam)
    plate = row.scalar("PLATE", int, _header_int(header, "PLATEID"))
    mjd = row.scalar("MJD", int, _header_int(header, "MJD"))
    fiber = row.scalar("FIBERID", int, _header_int(header, "FIBERID"))
    meta = {"file": str(path), "format": "sdss-spec", "plate": plate, "mjd": mjd, "fiber": fiber,
            "and_mask_bits": bit_names(bits), "class": row.scalar("CLASS", str),
            "z_err": row.scalar("Z_ERR"), "zwarning": row.scalar("ZWARNING", int)}
    fields = dict(
        wave=wave, flux=flux, err=err, mask=mask, lsf_sigma_kms=lsf,
        z=row.scalar("Z"), ra=row.scalar("PLUG_RA", float, header.get("PLUG_RA")),
        dec=row.scalar("PLUG_DEC", float, header.get("PLUG_DEC")),
        flux_unit=SDSS_FLUX_UNIT, name=_plate_name(plate, mjd, fiber, path),
        photometry=calibflux_photometry(row), meta=meta,
    )
    return build_spectrum(fields, overrides, path)


def read_spspec(hdul, path, options: dict):
    """Read a DR7 ``spSpec`` file (see the module docstring; no LSF, no photometry).

    Options: ``and_mask_bits`` (applied to the mask row) and the Spectrum overrides.
    """
    opts = dict(options)
    overrides = pop_overrides(opts)
    check_options(opts, ("and_mask_bits",), "an SDSS spSpec file")
    bits = and_mask_value(opts.get("and_mask_bits", DEFAULT_AND_MASK_BITS))
    with reading(path, SPSPEC_WHAT):
        header = hdul[0].header
        image = np.asarray(hdul[0].data, float)
        flux, noise, pixmask = image[0], image[2], image[3].astype(np.int64)
        wave, _ = _log_grid(header, image.shape[1])
    good = np.isfinite(noise) & (noise > 0)
    err = np.where(good, noise, 1.0)
    mask = _pixel_mask(path, good, pixmask, bits)
    plate, mjd, fiber = (_header_int(header, k) for k in ("PLATEID", "MJD", "FIBERID"))
    fields = dict(
        wave=wave, flux=flux, err=err, mask=mask, z=_header_float(header, "Z"),
        ra=header.get("RAOBJ"), dec=header.get("DECOBJ"), flux_unit=SDSS_FLUX_UNIT,
        name=_plate_name(plate, mjd, fiber, path),
        meta={"file": str(path), "format": "sdss-spspec", "plate": plate, "mjd": mjd, "fiber": fiber,
              "and_mask_bits": bit_names(bits)},
    )
    return build_spectrum(fields, overrides, path)


def read_spplate(hdul, path, options: dict):
    """Read one fibre of an ``spPlate`` file; ``fiber=`` (1-based) is required, and ``z=``.

    Options: ``fiber``, ``and_mask_bits`` and the Spectrum overrides.
    """
    opts = dict(options)
    overrides = pop_overrides(opts)
    check_options(opts, ("fiber", "and_mask_bits"), "an SDSS spPlate file")
    bits = and_mask_value(opts.get("and_mask_bits", DEFAULT_AND_MASK_BITS))
    with reading(path, SPPLATE_WHAT):
        header = hdul[0].header
        nfib, npix = hdul[0].data.shape
        fiber = opts.get("fiber")
        if fiber is None or not 1 <= int(fiber) <= nfib:
            raise InputError(f"{path}: an spPlate file holds {nfib} fibres; pass fiber=<1..{nfib}>")
        i = int(fiber) - 1
        flux = np.asarray(hdul[0].data[i], float)
        ivar = np.asarray(hdul[1].data[i], float)
        and_mask = np.asarray(hdul[2].data[i])
        wdisp = np.asarray(hdul[4].data[i], float)
        plug = _Row(hdul[5] if len(hdul) > 5 else None, i)
        wave, dloglam = _log_grid(header, npix)
    err, ivar_good = ivar_to_err(ivar)
    mask = _pixel_mask(path, ivar_good, and_mask, bits)
    plate, mjd = _header_int(header, "PLATEID"), _header_int(header, "MJD")
    fields = dict(
        wave=wave, flux=flux, err=err, mask=mask,
        lsf_sigma_kms=loglam_sigma_kms(fill_bad(wdisp, wdisp > 0), dloglam),
        z=None, ra=plug.scalar("RA"), dec=plug.scalar("DEC"), flux_unit=SDSS_FLUX_UNIT,
        name=_plate_name(plate, mjd, fiber, path),
        meta={"file": str(path), "format": "sdss-spplate", "plate": plate, "mjd": mjd, "fiber": int(fiber),
              "and_mask_bits": bit_names(bits)},
    )
    return build_spectrum(fields, overrides, path)

"""``read_spectrum``: one call that turns a file or an in-memory spectrum into a Spectrum.

Dispatch, in order:

==============================  ===============================================
``Spectrum``                    returned (re-validated with the overrides, if any)
specutils spectrum              :func:`agnfit.io.quantity.read_specutils`
``(wave, flux[, err])``         :func:`agnfit.io.quantity.read_arrays`
``astropy.table.Table``         :func:`agnfit.io.tables.read_table`
``astropy.io.fits.HDUList``     FITS content detection (below)
path (str / PathLike)           an existing file, else a registered data file
                                name (``"sdss/spec-0332-52367-0639.fits"``)
==============================  ===============================================

FITS content detection: DESI coadd (FIBERMAP + ``<ARM>_FLUX`` HDUs), SDSS
``spec-*`` (COADD table with loglam/flux/ivar), SDSS ``spPlate``, DR7
``spSpec``, then any table HDU with wavelength and flux columns. Other files
are read as text/ECSV/CSV tables. ``format=`` (one of :data:`FORMATS`)
skips the detection.

Every reader takes the Spectrum overrides ``z``, ``name``, ``ebv``, ``ra``,
``dec``, ``photometry``, ``meta`` and ``sort`` (the caller's value wins over
the file's) plus its own options; an option a reader does not know raises.
Whatever goes wrong while reading raises :class:`agnfit.errors.InputError`
naming the file and what was expected.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path

from ..core.data import Spectrum
from ..errors import InputError
from . import desi, sdss, tables
from .common import OVERRIDES, reading
from .quantity import is_specutils, read_arrays, read_specutils

log = logging.getLogger(__name__)

#: FITS layouts by name: (detector, reader(hdul, path, options)).
FITS_FORMATS = {
    "desi-coadd": (desi.is_desi, desi.read_desi),
    "sdss-spec": (sdss.is_spec, sdss.read_spec),
    "sdss-spplate": (sdss.is_spplate, sdss.read_spplate),
    "sdss-spspec": (sdss.is_spspec, sdss.read_spspec),
    "fits-table": (lambda hdul: tables.table_hdu_index(hdul) is not None, tables.read_fits_table),
}
#: every value ``format=`` accepts.
FORMATS = (*FITS_FORMATS, "table")

FITS_SUFFIXES = (".fits", ".fit", ".fts", ".fz", ".fits.gz", ".fit.gz", ".fits.bz2")
TEXT_SUFFIXES = (".txt", ".csv", ".dat", ".ecsv", ".tsv", ".asc")
SUPPORTED = ("SDSS/BOSS/eBOSS spec-*.fits, SDSS spPlate or DR7 spSpec, DESI coadd-*.fits, a FITS table "
             "with wavelength/flux/error columns, or a text/ECSV/CSV table")


def read_spectrum(source, **kwargs) -> Spectrum:
    """Read a spectrum from a file or an in-memory object.

    Args:
        source: a path (or registered data-file name), an ``HDUList``, an
            astropy ``Table``, a specutils spectrum, a ``(wave, flux[, err])``
            tuple of Quantities/arrays, or a ``Spectrum``.
        **kwargs: ``format`` (one of :data:`FORMATS`), the Spectrum overrides
            (``z``, ``name``, ``ebv``, ``ra``, ``dec``, ``photometry``,
            ``meta``, ``sort``) and the chosen reader's options:
            SDSS ``and_mask_bits`` (and ``fiber`` for spPlate); DESI
            ``targetid`` / ``index`` / ``redrock``; tables ``columns``,
            ``flux_unit``, ``hdu``, ``table_format``; arrays ``err`` /
            ``ivar`` / ``flux_unit``.

    Returns:
        A validated :class:`~agnfit.core.data.Spectrum`: observed-frame vacuum
        wavelengths in A, flux in ``flux_unit`` erg/s/cm^2/A, masked pixels,
        per-pixel LSF sigma in km/s where the file has one, and the file's
        photometry and metadata.

    Raises:
        InputError: missing file, unknown or unreadable format, missing columns,
            or data that fail validation.
    """
    fmt = kwargs.pop("format", None)
    if fmt is not None and fmt not in FORMATS:
        raise InputError(f"unknown format={fmt!r}; known formats: {list(FORMATS)}")
    if isinstance(source, Spectrum):
        return _respectrum(source, kwargs)
    if is_specutils(source):
        return read_specutils(source, kwargs)
    if isinstance(source, (tuple, list)):
        return read_arrays(source, kwargs)
    if isinstance(source, (str, os.PathLike)):
        return read_file(resolve_path(source), fmt, kwargs)
    from astropy.io import fits
    from astropy.table import Table

    if isinstance(source, Table):
        return tables.read_table(source, "table", kwargs)
    if isinstance(source, fits.HDUList):
        return read_hdul(source, getattr(source, "filename", lambda: None)() or "HDUList", fmt, kwargs)
    raise InputError(f"read_spectrum cannot read a {type(source).__name__}; pass a file path, an HDUList, "
                     "an astropy Table, a specutils spectrum or a (wave, flux, err) tuple")


def _respectrum(spec: Spectrum, overrides: dict) -> Spectrum:
    unknown = sorted(set(overrides) - set(OVERRIDES))
    if unknown:
        raise InputError(f"a Spectrum can only be given the overrides {list(OVERRIDES)}, not {unknown}")
    if not overrides:
        return spec
    if "meta" in overrides:
        overrides = {**overrides, "meta": {**spec.meta, **overrides["meta"]}}
    return dataclasses.replace(spec, **overrides)


def resolve_path(source) -> Path:
    """An existing file for ``source``: the path itself, else a registered data file of that name.

    Raises:
        InputError: neither exists.
        DataFileError: a registered data file that cannot be fetched.
    """
    path = Path(source).expanduser()
    if path.is_file():
        return path
    if path.exists():
        raise InputError(f"{path} is not a file; expected a spectrum file ({SUPPORTED})")
    from ..data import fetch, registered_files

    if str(source) in registered_files():
        return fetch(str(source))
    raise InputError(f"{path}: no such file; expected a spectrum file ({SUPPORTED}) "
                     "or the name of a registered data file")


def looks_like_fits(path: Path) -> bool:
    """True when the file starts with a FITS header or has a FITS (compressed) suffix."""
    name = path.name.lower()
    if name.endswith(FITS_SUFFIXES):
        return True
    with open(path, "rb") as fh:
        return fh.read(9) == b"SIMPLE  ="


def read_file(path: Path, fmt: str | None, options: dict) -> Spectrum:
    """Read ``path`` as ``fmt`` (a name in :data:`FORMATS`) or as detected from its content."""
    from astropy.io import fits

    if fmt == "table" or (fmt is None and not looks_like_fits(path)):
        return tables.read_text_table(path, options)
    if fmt is None and path.name.lower().endswith(TEXT_SUFFIXES):
        log.warning("%s: the name says text table but the content is FITS; reading it as FITS", path)
    with reading(path, f"a FITS file ({SUPPORTED})"):
        hdul = fits.open(path, memmap=False)
    with hdul:
        with reading(path, f"a FITS file ({SUPPORTED})"):
            check_complete(hdul, path)
        return read_hdul(hdul, path, fmt, options)


def check_complete(hdul, path: Path) -> None:
    """Raise InputError when an uncompressed FITS file is shorter than its headers say.

    A truncated download otherwise reads as a file with fewer HDUs (a partial
    header is skipped with only a logged warning) or with short data. Two
    checks: the last HDU's data (``datLoc + size`` bytes, padding excluded)
    must be in the file, and no incomplete ``XTENSION`` header may follow it.
    Compressed files (gzip, bzip2) are not checked: their offsets refer to the
    decompressed stream.
    """
    with open(path, "rb") as fh:
        if fh.read(9) != b"SIMPLE  =":
            return
    size = path.stat().st_size
    last = len(hdul) - 1
    info = hdul.fileinfo(last)
    need = info["datLoc"] + hdul[last].size
    if size < need:
        raise InputError(f"{path}: truncated FITS file: {size} bytes, but HDU {last} ends at byte {need}; "
                         "the file is incomplete (download or copy it again)")
    end = info["datLoc"] + info["datSpan"]
    if size > end:
        with open(path, "rb") as fh:
            fh.seek(end)
            if fh.read(8) == b"XTENSION":
                raise InputError(f"{path}: truncated FITS file: the header of HDU {last + 1} at byte {end} is "
                                 "incomplete (download or copy the file again)")


def detect_fits(hdul, path) -> str:
    """The name in :data:`FITS_FORMATS` of an open FITS file's layout."""
    with reading(path, f"a FITS file ({SUPPORTED})"):
        for name, (detect, _) in FITS_FORMATS.items():
            if detect(hdul):
                return name
        hdus = [f"{h.name}({type(h).__name__})" for h in hdul]
    raise InputError(f"{path}: unknown FITS layout with HDUs {hdus}; expected {SUPPORTED}")


def read_hdul(hdul, path, fmt: str | None, options: dict) -> Spectrum:
    """Read an open FITS file as ``fmt`` or as detected."""
    if fmt is None:
        fmt = detect_fits(hdul, path)
    elif fmt not in FITS_FORMATS:
        raise InputError(f"{path}: format={fmt!r} is not a FITS layout; FITS layouts: {list(FITS_FORMATS)}")
    log.debug("%s: reading as %s", path, fmt)
    with reading(path, f"a {fmt} file"):  # content the layout checks did not foresee
        return FITS_FORMATS[fmt][1](hdul, path, options)

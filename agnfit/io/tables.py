"""Reader for generic spectrum tables: FITS binary/ASCII tables, ECSV, CSV, plain text.

Columns are found by name, case-insensitively (first match in each list):

===============  =======================================================
wavelength       :data:`WAVE_NAMES` (linear) or :data:`LOGWAVE_NAMES` (log10 A)
flux             :data:`FLUX_NAMES`
uncertainty      :data:`ERR_NAMES` (1-sigma), :data:`IVAR_NAMES` (inverse
                 variance) or :data:`VAR_NAMES` (variance)
===============  =======================================================

``columns={"wave": ..., "flux": ..., "err" | "ivar" | "var": ..., "mask": ...}``
names them explicitly (``"loglam"`` for a log10 wavelength column; a
``mask`` column is non-zero for bad pixels). A table with the positional
names ``col1, col2[, col3]`` (text without a header) is read as wavelength,
flux[, error]. A table without an uncertainty column cannot be fitted.

Units: a column's unit is honoured (spectral axis -> A, flux -> erg/s/cm^2/A,
see :mod:`agnfit.io.units`); without units the wavelengths are taken as A
and the flux in units of ``flux_unit`` erg/s/cm^2/A (default 1e-17).
Wavelengths are taken as vacuum. The redshift is ``z=`` or the table's
(or FITS primary header's) ``Z`` / ``REDSHIFT`` keyword.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np

from ..core.data import finite_number
from ..errors import InputError
from .common import build_spectrum, check_options, pop_overrides, reading
from .units import DEFAULT_FLUX_UNIT, flux_to_flam, std_from, wave_to_angstrom

log = logging.getLogger(__name__)

WAVE_NAMES = ("wave", "wavelength", "wavelengths", "lambda", "lam", "wl", "wav", "lambda_obs", "wave_obs")
LOGWAVE_NAMES = ("loglam", "log_lam", "loglambda", "log_lambda", "logwave", "log_wave", "log10lam")
FLUX_NAMES = ("flux", "f_lambda", "flambda", "flam", "fluxes", "flux_density", "spec", "spectrum")
ERR_NAMES = ("err", "error", "errors", "sigma", "flux_err", "flux_error", "fluxerr", "err_flux",
             "error_flux", "e_flux", "uncertainty", "unc", "noise", "sig", "std", "stddev")
IVAR_NAMES = ("ivar", "inverse_variance", "invvar", "inv_var", "flux_ivar", "ivar_flux")
VAR_NAMES = ("var", "variance", "flux_var")
Z_KEYS = ("Z", "REDSHIFT")
OPTIONS = ("columns", "flux_unit", "hdu", "table_format")

_POSITIONAL = re.compile(r"col\d+$")


def _first(lower: dict, names) -> str | None:
    for n in names:
        if n in lower:
            return lower[n]
    return None


def find_columns(colnames, columns: dict | None = None) -> dict:
    """Map roles to column names: ``{"wave", "flux", "err", "mask"}`` plus their kinds.

    Returns:
        dict with ``wave``, ``wave_log`` (bool), ``flux``, ``err``, ``err_kind``
        (``"std"``, ``"ivar"`` or ``"var"``) and ``mask`` (None when absent);
        ``wave`` / ``flux`` / ``err`` are None when not found.
    """
    lower = {c.lower(): c for c in colnames}
    if columns is not None and not (isinstance(columns, dict) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in columns.items())):
        raise InputError(f"columns= must be a dict of role -> column name, e.g. {{'wave': 'lam', 'flux': 'f', "
                         f"'err': 'e'}}; got {columns!r}")
    given = {k.lower(): v for k, v in (columns or {}).items()}
    unknown = set(given) - {"wave", "loglam", "flux", "err", "ivar", "var", "mask"}
    if unknown:
        raise InputError(f"columns= has unknown role(s) {sorted(unknown)}; use wave or loglam, flux, "
                         "err or ivar or var, mask")
    for role, col in given.items():
        if col not in colnames:
            raise InputError(f"columns= names {col!r} for {role}, but the table's columns are {list(colnames)}")
    out = {"wave": None, "wave_log": False, "flux": None, "err": None, "err_kind": "std", "mask": given.get("mask")}
    if "wave" in given or "loglam" in given:
        out["wave"], out["wave_log"] = given.get("wave") or given["loglam"], "wave" not in given
    elif _first(lower, WAVE_NAMES):
        out["wave"] = _first(lower, WAVE_NAMES)
    elif _first(lower, LOGWAVE_NAMES):
        out["wave"], out["wave_log"] = _first(lower, LOGWAVE_NAMES), True
    out["flux"] = given.get("flux") or _first(lower, FLUX_NAMES)
    for kind, key, names in (("std", "err", ERR_NAMES), ("ivar", "ivar", IVAR_NAMES), ("var", "var", VAR_NAMES)):
        col = given.get(key) or (None if given.keys() & {"err", "ivar", "var"} else _first(lower, names))
        if col is not None:
            out["err"], out["err_kind"] = col, kind
            break
    if out["wave"] is None and out["flux"] is None and all(_POSITIONAL.match(c) for c in colnames):
        if len(colnames) >= 2:
            out["wave"], out["flux"] = colnames[0], colnames[1]
            out["err"] = colnames[2] if len(colnames) >= 3 else None
            log.info("table without column names: reading %s as wavelength, flux, error", list(colnames[:3]))
    return out


def _meta_value(meta, keys):
    upper = {str(k).upper(): v for k, v in (meta or {}).items()}
    for k in keys:
        if k in upper:
            try:
                return float(upper[k])
            except (TypeError, ValueError):
                return None
    return None


def _column(table, name, source=""):
    col = table[name]
    if col.dtype.kind in "cmMV":  # complex, dates, raw bytes: no flux or wavelength (text is tried below)
        raise InputError(f"{source}: column {name!r} holds {col.dtype} values; expected real numbers")
    if col.dtype.kind in "USO":
        log.warning("%s: column %r holds text (%s); reading it as numbers", source, name, col.dtype)
    data = np.ma.filled(np.ma.asarray(col, dtype=float), np.nan)
    if data.ndim != 1:
        raise InputError(f"{source}: column {name!r} has shape {data.shape}; expected one value per row")
    return data, getattr(col, "unit", None)


def read_table(table, source, options: dict, extra_meta: dict | None = None):
    """A Spectrum from an astropy Table (see the module docstring).

    Args:
        table: ``astropy.table.Table``.
        source: file name (or description) for messages and ``meta["file"]``.
        options: ``columns``, ``flux_unit`` and the Spectrum overrides.
        extra_meta: more header keywords to look for the redshift in
            (e.g. the FITS primary header).
    """
    opts = dict(options)
    overrides = pop_overrides(opts)
    check_options(opts, OPTIONS, "a spectrum table")
    cols = find_columns(table.colnames, opts.get("columns"))
    missing = [r for r in ("wave", "flux", "err") if cols[r] is None]
    if missing:
        expected = {"wave": "wave/wavelength/lambda/lam or loglam", "flux": "flux",
                    "err": "err/error/sigma or ivar/inverse_variance or var"}
        raise InputError(f"{source}: no {', '.join(missing)} column among {table.colnames}; expected "
                         f"{'; '.join(expected[m] for m in missing)} (or pass columns={{...}})")
    with reading(source, "numeric wavelength, flux and error columns"):
        wave, wave_unit = _column(table, cols["wave"], source)
        flux, flux_unit = _column(table, cols["flux"], source)
        err, err_unit = _column(table, cols["err"], source)
        bad = np.zeros(wave.size, bool) if cols["mask"] is None else _column(table, cols["mask"], source)[0] != 0
    wave = 10.0**wave if cols["wave_log"] else wave_to_angstrom(wave, wave_unit, source)
    fields = spectrum_fields(wave, flux, (cols["err_kind"], err, err_unit), flux_unit, opts.get("flux_unit"),
                             source, bad)
    z = _meta_value(table.meta, Z_KEYS)
    if z is None:
        z = _meta_value(extra_meta, Z_KEYS)
    used = {k: cols[k] for k in ("wave", "flux", "err")}
    fields.update(z=z, name=Path(str(source)).stem, meta={"file": str(source), "format": "table", "columns": used})
    return build_spectrum(fields, overrides, source)


def spectrum_fields(wave, flux, uncertainty, flux_unit, default_unit, source, bad=None) -> dict:
    """Spectrum fields from wavelengths (A) and flux / uncertainty with optional units.

    Args:
        wave: wavelengths in A (any order; decreasing grids are reversed).
        flux: flux values.
        uncertainty: ``(kind, values, unit)``, kind one of std / var / ivar.
        flux_unit: astropy unit of ``flux`` or None.
        default_unit: erg/s/cm^2/A per flux unit when ``flux_unit`` is None
            (None: :data:`~agnfit.io.units.DEFAULT_FLUX_UNIT`).
        source: name for messages.
        bad: optional boolean array, True for pixels to mask.

    Returns:
        dict with ``wave, flux, err, mask, flux_unit``.
    """
    from .units import as_unit

    kind, values, err_unit = uncertainty
    flux_unit = as_unit(flux_unit, source, "flux unit")
    err_unit = as_unit(err_unit, source, "uncertainty unit")
    err, err_unit = std_from(kind, values, err_unit, flux_unit)
    if flux_unit is not None:
        if err_unit is not None and err_unit != flux_unit:
            err = _convert_err(err, err_unit, flux_unit, source)
        flux, err, scale = flux_to_flam(flux, err, flux_unit, wave, source)
    else:
        if err_unit is not None:
            raise InputError(f"{source}: the uncertainty has unit {err_unit} but the flux has none")
        scale = DEFAULT_FLUX_UNIT if default_unit is None else finite_number(
            f"{source}: flux_unit (erg/s/cm^2/A per flux unit)", default_unit, 0.0)
    wave, flux, err = (np.asarray(a, float) for a in (wave, flux, err))
    bad = np.zeros(wave.size, bool) if bad is None else np.asarray(bad, bool)
    if wave.size > 1 and np.all(np.diff(wave) < 0):
        wave, flux, err, bad = wave[::-1], flux[::-1], err[::-1], bad[::-1]
    good = np.isfinite(flux) & np.isfinite(err) & (err > 0)
    _log_masked(source, flux, values, kind, wave.size)
    return {"wave": wave, "flux": np.where(good, flux, 0.0), "err": np.where(good, err, 1.0),
            "mask": good & ~bad, "flux_unit": scale}


def _log_masked(source, flux, values, kind: str, n: int) -> None:
    """Log why pixels are masked, with counts.

    NaN/inf values and non-positive 1-sigma errors are warnings (the data are
    damaged); a zero or negative variance or inverse variance is how pipelines
    flag a bad pixel, so it is logged at INFO.
    """
    values = np.asarray(values, float)
    if values.shape != np.shape(flux):
        return
    nonfinite = ~np.isfinite(flux) | ~np.isfinite(values)
    nonpositive = np.isfinite(values) & (values <= 0)
    if nonfinite.any():
        log.warning("%s: masked %d of %d pixel(s) with NaN/inf flux or uncertainty", source, int(nonfinite.sum()), n)
    if nonpositive.any():
        what = {"std": "error", "var": "variance", "ivar": "inverse variance"}[kind]
        (log.warning if kind == "std" else log.info)("%s: masked %d of %d pixel(s) with %s <= 0", source,
                                                     int(nonpositive.sum()), n, what)


def _convert_err(err, err_unit, flux_unit, source):
    import astropy.units as u

    try:
        return np.asarray(err, float) * err_unit.to(flux_unit)
    except u.UnitConversionError:
        raise InputError(
            f"{source}: uncertainty unit {err_unit} does not convert to the flux unit {flux_unit}"
        ) from None


def table_hdu_index(hdul, hdu=None) -> int | None:
    """The table HDU to read: ``hdu`` (index or name) or the first one with wave and flux columns."""
    if hdu is not None:
        try:
            i = hdul.index_of(hdu)
        except (KeyError, IndexError, TypeError):
            raise InputError(f"the file has no HDU {hdu!r}; it has {[h.name for h in hdul]}") from None
        if getattr(hdul[i], "columns", None) is None:
            raise InputError(f"HDU {hdu!r} is a {type(hdul[i]).__name__}, not a table; pass hdu= a table HDU")
        return i
    for i, h in enumerate(hdul):
        names = getattr(h, "columns", None)
        if names is None:
            continue
        cols = find_columns(h.columns.names)
        if cols["wave"] is not None and cols["flux"] is not None:
            return i
    return None


def read_fits_table(hdul, path, options: dict):
    """Read a spectrum from a FITS table HDU (option ``hdu`` picks it; default: the first that fits)."""
    from astropy.table import Table

    i = table_hdu_index(hdul, options.get("hdu"))
    if i is None:
        raise InputError(f"{path}: no table HDU with wavelength and flux columns; expected a column named "
                         "wave/wavelength/lambda/lam/loglam and one named flux (or pass columns= and hdu=)")
    with reading(path, f"a spectrum table in HDU {i}"):
        table = Table.read(hdul[i])
    return read_table(table, path, options, extra_meta=dict(hdul[0].header))


def read_text_table(path, options: dict):
    """Read a spectrum from a text (or other astropy-readable) table file.

    ``table_format`` is passed to ``astropy.table.Table.read`` as ``format``;
    by default the format is identified from the name, else guessed as ASCII.
    """
    from astropy.io.registry import IORegistryError
    from astropy.table import Table

    fmt = options.get("table_format")
    what = "a spectrum table (FITS, ECSV, CSV or whitespace-separated text with wave, flux, error columns)"
    with reading(path, what):
        try:
            table = Table.read(path, format=fmt) if fmt else Table.read(path)
        except IORegistryError:
            table = Table.read(path, format="ascii")
        except UnicodeDecodeError:
            raise InputError(f"{path}: not a text file; could not read {what}") from None
    if len(table.colnames) == 0 or len(table) == 0:
        raise InputError(f"{path}: the table is empty; expected {what}")
    return read_table(table, path, options)

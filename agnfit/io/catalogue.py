"""Catalogues of many fits: one row per object, written as FITS plus Parquet or CSV.

A catalogue (:func:`write_catalogue`) is one row per object
(:meth:`FitResult.catalogue_row`), written as a FITS table plus a Parquet file
(when pyarrow is importable) or else a CSV file. Missing values across objects
become NaN (numbers) or ``""`` (text). Rows come from FitResults, row dicts,
or files saved by :func:`agnfit.io.results.save_result` (``.h5`` results or
their ``.row.json`` rows).

Mixed catalogues: every row records how it was made (``agnfit_version``,
``schema_version``, ``config_hash``; :meth:`FitResult.provenance`). When the
rows of one catalogue differ in these (a batch directory holding results of
an older agnfit, or of an earlier configuration), the catalogue says so:
``mixed="warn"`` (default) logs and warns (:class:`~agnfit.errors.AgnfitWarning`)
naming each group, its size and a few of its objects; ``mixed="error"``
refuses with an :class:`~agnfit.errors.InputError`; ``mixed="ignore"``
stays silent. The columns are in the catalogue either way.
"""

from __future__ import annotations

import importlib
import json
import logging
import math
import warnings
from pathlib import Path

import numpy as np

from ..core.result import PROVENANCE, FitResult
from ..errors import AgnfitWarning, InputError

log = logging.getLogger(__name__)

_MISSING = object()
#: what ``mixed=`` accepts
MIXED_POLICIES = ("warn", "error", "ignore")
#: objects named per group in a mixed-catalogue message
N_NAMED = 5


def _json_value(v):
    """A catalogue value as plain JSON (numpy -> Python, non-finite floats -> None)."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, (str, bool, int, float)) or v is None:
        return v
    return json.dumps(v, default=lambda x: x.tolist() if hasattr(x, "tolist") else str(x))


def _json_row(row: dict) -> dict:
    return {str(k): _json_value(v) for k, v in row.items()}


def _as_row(item) -> dict:
    if isinstance(item, FitResult):
        return item.catalogue_row()
    if isinstance(item, dict):
        return item
    p = Path(item)
    if p.suffix == ".h5":
        from .results import load_result

        return load_result(p).catalogue_row()
    if p.suffix == ".json":
        return json.loads(p.read_text())
    raise InputError(f"{item!r}: expected a FitResult, a row dict, a .h5 result or a .row.json file")


def _column(values: list) -> np.ndarray:
    """One catalogue column: bool, int64, float64 (NaN where missing) or str ("" where missing)."""
    present = [v.item() if isinstance(v, np.generic) else v for v in values if v is not _MISSING and v is not None]
    complete = len(present) == len(values)
    if present and all(isinstance(v, bool) for v in present) and complete:
        return np.array(values, dtype=bool)
    if all(isinstance(v, (bool, int, float)) for v in present):
        if present and complete and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
            return np.array(values, dtype=np.int64)
        return np.array([np.nan if v is _MISSING or v is None else float(v) for v in values])
    return np.array(["" if v is _MISSING or v is None else (v if isinstance(v, str) else str(_json_value(v))) for v in values])


def provenance_groups(rows) -> dict:
    """Object names by provenance ``(agnfit_version, schema_version, config_hash)``, largest group first.

    A value a row does not record reads ``"unknown"``.
    """
    groups: dict = {}
    for r in rows:
        key = tuple("unknown" if r.get(k) is None else str(r.get(k)) for k in PROVENANCE)
        groups.setdefault(key, []).append(str(r.get("name", "?")))
    return dict(sorted(groups.items(), key=lambda kv: -len(kv[1])))


def describe_groups(groups: dict) -> str:
    """``"agnfit 0.1.0 / schema 1 / config 3fa2...: 10 objects; ..."``, naming a few objects of the smaller groups."""
    parts = []
    for i, ((version, schema, chash), names) in enumerate(groups.items()):
        text = f"agnfit {version} / schema {schema} / config {chash}: {len(names)} object{'s' * (len(names) != 1)}"
        if i:
            text += f" ({', '.join(names[:N_NAMED])}{', ...' if len(names) > N_NAMED else ''})"
        parts.append(text)
    return "; ".join(parts)


def check_provenance(rows, mixed: str = "warn") -> dict:
    """Warn about (or refuse) rows made by different agnfit versions, result schemas or configurations.

    Args:
        rows: catalogue rows (dicts with the :data:`~agnfit.core.result.PROVENANCE` keys).
        mixed: ``"warn"``, ``"error"`` or ``"ignore"`` (see the module docstring).

    Returns:
        :func:`provenance_groups` of ``rows``.

    Raises:
        InputError: ``mixed="error"`` and the rows form more than one group.
    """
    if mixed not in MIXED_POLICIES:
        raise InputError(f"mixed={mixed!r}; use one of {list(MIXED_POLICIES)}")
    groups = provenance_groups(rows)
    if len(groups) < 2 or mixed == "ignore":
        return groups
    msg = (f"catalogue mixes {len(groups)} groups of objects fitted differently (agnfit version / result schema / "
           f"config hash): {describe_groups(groups)}")
    if mixed == "error":
        raise InputError(msg + ". Refit the odd ones with one agnfit version and configuration, or pass "
                         "mixed='warn' to write the catalogue anyway")
    log.warning(msg)
    warnings.warn(msg + " (see the agnfit_version, schema_version and config_hash columns)", AgnfitWarning,
                  stacklevel=3)
    return groups


def catalogue_table(items, mixed: str = "warn"):
    """An astropy Table, one row per FitResult / row dict / saved file, union of all columns.

    ``mixed`` says what to do when the rows were made by different agnfit
    versions, result schemas or configurations (:func:`check_provenance`).
    """
    from astropy.table import Table

    rows = [_as_row(x) for x in items]
    check_provenance(rows, mixed)
    names = list(dict.fromkeys(k for r in rows for k in r))
    return Table({k: _column([r.get(k, _MISSING) for r in rows]) for k in names})


def _ascii(s: str) -> str:
    """FITS holds ASCII only: other characters become Python escapes (``"Å"`` -> ``"\\xc5"``)."""
    return s.encode("ascii", "backslashreplace").decode("ascii")


def _fits_ready(table):
    """A copy of ``table`` with ASCII-only column names and text."""
    out = table.copy(copy_data=False)
    for name in list(out.colnames):
        col = out[name]
        if col.dtype.kind == "U":
            out[name] = np.array([_ascii(str(v)) for v in col], dtype=str)
        if _ascii(name) != name:
            out.rename_column(name, _ascii(name))
    return out


def write_catalogue(results_or_rows, path, mixed: str = "warn") -> list[Path]:
    """Write a catalogue as ``<stem>.fits`` plus ``<stem>.parquet`` (pyarrow) or ``<stem>.csv``.

    Args:
        results_or_rows: FitResults, ``catalogue_row()`` dicts, or paths of
            saved ``.h5`` results / ``.row.json`` rows, one per object.
        path: output path; a ``.fits``, ``.parquet`` or ``.csv`` suffix is
            replaced, anything else is kept as part of the stem.
        mixed: rows from different agnfit versions, result schemas or
            configurations: ``"warn"`` (default), ``"error"`` (write nothing,
            raise InputError) or ``"ignore"``.

    Returns:
        The two paths written (FITS first).
    """
    from .results import _atomic_write

    table = catalogue_table(results_or_rows, mixed)
    if not len(table):
        raise InputError(f"write_catalogue({str(path)!r}): no objects given")
    path = Path(path)
    stem = path.with_suffix("") if path.suffix in (".fits", ".parquet", ".csv") else path
    try:
        importlib.import_module("pyarrow")
        second, fmt = stem.with_name(stem.name + ".parquet"), "parquet"
    except ImportError:
        second, fmt = stem.with_name(stem.name + ".csv"), "ascii.csv"
    fits = _fits_ready(table)
    out = [_atomic_write(stem.with_name(stem.name + ".fits"), lambda p: fits.write(p, format="fits", overwrite=True))]
    out.append(_atomic_write(second, lambda p: table.write(p, format=fmt, overwrite=True)))
    return out

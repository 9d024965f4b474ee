"""Saving and loading a :class:`~agnfit.core.result.FitResult`.

One fit is one HDF5 file, ``<out_dir>/<name>.h5``, written atomically (a
temporary file in the same directory, fsync, then ``os.replace``), so a batch
run that is killed never leaves a truncated result behind. Layout::

    /                   attrs: format, schema_version, name, data_hash, versions (JSON)
    /name               the object name
    /config /info /point /samples /derived_samples /diagnostics /spectrum /photometry
                        groups, one member per key (exact: the file is read back from these)
    /config.toml        the configuration as TOML text, for ``agnfit.load_config``
                        (absent when TOML cannot hold it, e.g. a None value)
    /params /derived    summary tables: columns name, median, p16, p84, std
                        (a group instead when a summary is not all Python floats)

Every dataset or group carries a ``kind`` attribute that says how to rebuild
the Python value, so the round trip is exact: ``dict``, ``list``, ``tuple``,
``ndarray`` (any shape, 0-d included, numeric/bool/bytes dtypes),
``str_ndarray``, ``npscalar``, ``npstr``, ``float``, ``int``, ``bigint``,
``bool``, ``str``, ``none``, ``json`` (lists of plain values, and strings
HDF5 cannot hold: NUL characters, lone surrogates), ``summary``. Keys are
arbitrary strings (``"broad_lines.Hb.fwhm"``, ``"component:host"``) or
integers; the member name escapes ``%`` and ``/`` as ``%25`` and ``%2F``, a
leading ``.`` as ``%2E``, the empty key as ``%e`` and an integer key n as ``%in``.

Catalogues of many results (:func:`catalogue_table`, :func:`write_catalogue`)
are :mod:`agnfit.io.catalogue`, re-exported here.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import secrets
import urllib.parse
from pathlib import Path

import h5py
import numpy as np
import tomli_w

from ..core.result import SCHEMA_VERSION, FitResult
from ..errors import InputError
from .catalogue import _json_row, catalogue_table, write_catalogue  # noqa: F401

FORMAT = "agnfit-result"
KIND = "kind"
#: arrays with at least this many elements are gzip-compressed (lossless)
COMPRESS_MIN_SIZE = 1024
SUMMARY_STATS = ("median", "p16", "p84", "std")
ERR_NOT_RESULT = "{path}: not an agnfit result file (no format attribute {fmt!r}); write one with save_result"
ERR_NEWER = "{path}: result schema version {found} is newer than this agnfit's ({ours}); upgrade agnfit to read it"
ERR_TYPE = "cannot save {where}: values of type {tname} are not supported (use arrays, numbers, str, bool, None, lists, dicts)"

_STR = h5py.string_dtype("utf-8")


# ---------------------------------------------------------------- atomic files


def _atomic_write(path: Path, writer) -> Path:
    """Call ``writer(tmp_path)`` on a temporary file next to ``path``, fsync it, then rename onto ``path``.

    If ``writer`` raises, the temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:  # O_EXCL with mode 0666: a fresh name, permissions from the umask like any new file
        tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            break
        except FileExistsError:
            continue
    try:
        writer(Path(tmp))
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    try:  # make the rename itself durable (best effort; not every filesystem allows it)
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass
    return path


def result_filename(name: str) -> str:
    """File-system-safe stem for an object name (anything but ``[A-Za-z0-9._+-]`` becomes ``_``)."""
    safe = re.sub(r"[^A-Za-z0-9._+\-]", "_", str(name)) or "result"
    return "_" + safe if safe.startswith(".") else safe


# ---------------------------------------------------------------- key escaping


def _escape(key) -> str:
    if isinstance(key, str):
        if key == "":
            return "%e"
        s = key.replace("%", "%25").replace("/", "%2F")
        return "%2E" + s[1:] if s.startswith(".") else s
    if isinstance(key, (int, np.integer)) and not isinstance(key, (bool, np.bool_)):
        return f"%i{int(key)}"
    raise TypeError(f"cannot save dictionary key {key!r} of type {type(key).__name__}; keys must be str or int")


def _unescape(name: str):
    if name == "%e":
        return ""
    if name.startswith("%i"):
        return int(name[2:])
    return urllib.parse.unquote(name)


# ---------------------------------------------------------------- values -> HDF5


def _plain_json(v) -> bool:
    """True for values JSON holds exactly: None, bool, int, float, str and lists of them."""
    if type(v) in (type(None), bool, int, float, str):
        return True
    return type(v) is list and all(_plain_json(x) for x in v)


def _utf8_ok(s: str) -> bool:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in s


def _dataset(parent: h5py.Group, name: str, data, kind: str, **kw):
    ds = parent.create_dataset(name, data=data, **kw)
    ds.attrs[KIND] = kind
    return ds


def _put_array(parent: h5py.Group, name: str, a: np.ndarray, where: str) -> None:
    if a.dtype.kind in "biufcS":
        kw = {"compression": "gzip", "shuffle": True} if a.ndim and a.size >= COMPRESS_MIN_SIZE else {}
        _dataset(parent, name, a, "ndarray", **kw)
    elif a.dtype.kind == "U" and all(_utf8_ok(s) for s in a.ravel().tolist()):
        ds = _dataset(parent, name, np.array(a.ravel().tolist(), dtype=object).reshape(a.shape), "str_ndarray", dtype=_STR)
        ds.attrs["dtype"] = a.dtype.str
    else:
        raise TypeError(ERR_TYPE.format(where=where, tname=f"ndarray[{a.dtype}]"))


def _put(parent: h5py.Group, key, value, where: str = "") -> None:
    """Write ``value`` as member ``key`` of ``parent`` (recursively for dicts, lists and tuples)."""
    name, where = _escape(key), f"{where}/{key}"
    if isinstance(value, dict):
        g = parent.create_group(name, track_order=True)
        g.attrs[KIND] = "dict"
        for k, v in value.items():
            _put(g, k, v, where)
    elif isinstance(value, np.ndarray):
        _put_array(parent, name, value, where)
    elif isinstance(value, np.str_):
        _put_array(parent, name, np.asarray(value), where)
        parent[name].attrs[KIND] = "npstr"
    elif isinstance(value, np.generic) and value.dtype.kind in "biufcS":
        _dataset(parent, name, value, "npscalar")
    elif value is None:
        _dataset(parent, name, h5py.Empty("f8"), "none")
    elif type(value) is bool:
        _dataset(parent, name, np.bool_(value), "bool")
    elif type(value) is int:
        if -(2**63) <= value < 2**63:
            _dataset(parent, name, np.int64(value), "int")
        else:
            _dataset(parent, name, str(value), "bigint", dtype=_STR)
    elif type(value) is float:
        _dataset(parent, name, np.float64(value), "float")
    elif type(value) is str and _utf8_ok(value):
        _dataset(parent, name, value, "str", dtype=_STR)
    elif _plain_json(value):
        _dataset(parent, name, json.dumps(value, allow_nan=True), "json", dtype=_STR)
    elif type(value) in (list, tuple):
        g = parent.create_group(name, track_order=True)
        g.attrs[KIND] = type(value).__name__
        for i, v in enumerate(value):
            _put(g, str(i), v, where)
    else:
        raise TypeError(ERR_TYPE.format(where=where, tname=type(value).__name__))


def _is_summary(table) -> bool:
    """A ``{name: {"median", "p16", "p84", "std"}}`` dict of Python floats (stored as one table)."""
    if not isinstance(table, dict) or not table:
        return False
    for k, s in table.items():
        if type(k) is not str or not _utf8_ok(k) or type(s) is not dict or tuple(s) != SUMMARY_STATS:
            return False
        if any(type(x) is not float for x in s.values()):
            return False
    return True


def _put_summary(parent: h5py.Group, key: str, table: dict) -> None:
    if not _is_summary(table):
        _put(parent, key, table)
        return
    dtype = np.dtype([("name", _STR)] + [(s, "f8") for s in SUMMARY_STATS])
    rows = np.array([(k, *(s[x] for x in SUMMARY_STATS)) for k, s in table.items()], dtype=dtype)
    _dataset(parent, key, rows, "summary")


def _toml_text(config) -> str | None:
    """The configuration as TOML text (for reading by eye and ``load_config``), or None if TOML cannot hold it."""
    try:
        return tomli_w.dumps(config)
    except (TypeError, ValueError):
        return None


def _write_result(path: Path, result: FitResult) -> None:
    with h5py.File(path, "w", track_order=True) as f:
        f.attrs["format"] = FORMAT
        f.attrs["schema_version"] = SCHEMA_VERSION
        f.attrs["name"] = str(result.name)
        f.attrs["data_hash"] = str(result.info.get("data_hash", ""))
        f.attrs["versions"] = json.dumps(result.info.get("versions", {}), default=str)
        for field in dataclasses.fields(FitResult):
            value = getattr(result, field.name)
            if field.name in ("params", "derived"):
                _put_summary(f, field.name, value)
            else:
                _put(f, field.name, value)
        text = _toml_text(result.config)
        if text is not None:
            _dataset(f, "config.toml", text, "toml", dtype=_STR)


# ---------------------------------------------------------------- HDF5 -> values


def _get(obj):
    """Rebuild the Python value written by :func:`_put` or :func:`_put_summary`."""
    kind = obj.attrs[KIND]
    if isinstance(obj, h5py.Group):
        items = [(_unescape(n), _get(obj[n])) for n in obj]
        if kind == "dict":
            return dict(items)
        seq = [v for _, v in sorted(items, key=lambda kv: int(kv[0]))]
        return seq if kind == "list" else tuple(seq)
    if kind == "ndarray":
        return np.asarray(obj[()])
    if kind == "str_ndarray":
        return np.array(obj.asstr()[()], dtype=obj.attrs["dtype"]).reshape(obj.shape)
    if kind == "npstr":
        return np.str_(obj.asstr()[()])
    if kind == "npscalar":
        return obj[()]
    if kind == "none":
        return None
    if kind in ("bool", "int", "float"):
        return {"bool": bool, "int": int, "float": float}[kind](obj[()])
    if kind == "summary":
        rows = obj[()]
        return {
            (r["name"].decode() if isinstance(r["name"], bytes) else str(r["name"])): {s: float(r[s]) for s in SUMMARY_STATS}
            for r in rows
        }
    text = obj.asstr()[()]
    if kind == "str":
        return text
    if kind == "bigint":
        return int(text)
    if kind == "json":
        return json.loads(text)
    raise InputError(f"{obj.file.filename}:{obj.name}: unknown stored kind {kind!r}")


# ---------------------------------------------------------------- public API


def save_result(result: FitResult, out_dir, row: bool = True) -> list[Path]:
    """Write ``<out_dir>/<name>.h5`` (and ``<name>.row.json``, its catalogue row), atomically.

    Args:
        result: the fit to save.
        out_dir: directory (created if needed).
        row: also write the catalogue row as JSON (NaN as null), so a batch run
            can assemble its catalogue from the rows without opening every file.

    Returns:
        The paths written (the HDF5 file first).
    """
    if not isinstance(result, FitResult):
        raise InputError(f"save_result needs a FitResult, got {type(result).__name__}")
    stem = Path(out_dir) / result_filename(result.name)
    paths = [_atomic_write(stem.with_name(stem.name + ".h5"), lambda p: _write_result(p, result))]
    if row:
        text = json.dumps(_json_row(result.catalogue_row()), indent=1)
        paths.append(_atomic_write(stem.with_name(stem.name + ".row.json"), lambda p: p.write_text(text)))
    return paths


def load_result(path) -> FitResult:
    """The :class:`FitResult` saved in ``path`` by :func:`save_result` (equal to the one saved)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"result file {str(path)!r} does not exist")
    with h5py.File(path, "r") as f:
        if f.attrs.get("format") != FORMAT:
            raise InputError(ERR_NOT_RESULT.format(path=path, fmt=FORMAT))
        found = int(f.attrs.get("schema_version", 0))
        if found > SCHEMA_VERSION:
            raise InputError(ERR_NEWER.format(path=path, found=found, ours=SCHEMA_VERSION))
        kw = {fl.name: _get(f[fl.name]) for fl in dataclasses.fields(FitResult) if fl.name in f}
    return FitResult(**kw)

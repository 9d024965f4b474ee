"""Saving, loading and cataloguing FitResults: exact round trip, atomic writes, FITS/CSV/Parquet catalogues."""

import dataclasses
import json
import math
import sys
import tomllib

import h5py
import numpy as np
import pytest
from astropy.table import Table

from agnfit.core.result import SCHEMA_VERSION, FitResult
from agnfit.errors import InputError
from agnfit.io import results as io_results
from agnfit.io.results import load_result, save_result, write_catalogue


def _summary(m, lo, hi, sd=0.1):
    return {"median": m, "p16": lo, "p84": hi, "std": sd}


def nasty_result(name="spec-0332-52367-0639", z=0.2) -> FitResult:
    """A FitResult whose keys and values exercise every stored kind."""
    rng = np.random.default_rng(0)
    w = np.linspace(3800.0, 9200.0, 3000)
    return FitResult(
        name=name,
        config={"data": {"deredden": True, "rv": 3.1, "buckets": [1024, 2048]},
                "components": {"power_law": {"type": "power_law", "wave0": 3000.0}},
                "inference": [{"type": "map"}, {"type": "nuts", "num_chains": 2}]},
        info={"z": z, "ra": np.float64(150.1), "dec": float("nan"), "converged": False, "message": "ok ✓ Å",
              "n_pix": 2999, "data_hash": "ab" * 32, "versions": {"agnfit": "0.1.0", "jax": "0.4"},
              "dropped_bands": {"sdss2010-u": "coverage 0.5 < 0.97"}, "kept_bands": ["sdss2010-g"],
              "components": [], "nothing": None, "big": 2**80, "pair": (1, "a"), "mixed": [1, "x", None, 2.5, True],
              "": "empty key", ".": "dot", ".hidden": 1, "a/b%c": "slash and percent", "%e": "escape-like", 7: "int key",
              "nul": "a\x00b", "blank": "", "surrogate": "\ud800", "inf": float("-inf"), "neg0": -0.0},
        params={"power_law.norm": _summary(1.0, 0.9, 1.1), "power_law.alpha": _summary(-1.5, float("nan"), -1.4)},
        point={"power_law.norm": 1.0, "power_law.alpha": -1.5},
        samples={"power_law.norm": rng.normal(size=(2, 50)), "power_law.alpha": rng.normal(size=(2, 50)).astype(np.float32)},
        derived={"host_fraction.5100": _summary(0.3, 0.2, 0.4), "broad_lines.Hb.fwhm": _summary(4000.0, 3900.0, 4100.0)},
        derived_samples={"host_fraction.5100": rng.uniform(size=100), "log_mbh.VP06_Hbeta": np.full(100, np.nan)},
        diagnostics={
            "r_hat": {"power_law.norm": np.float32(1.01), "power_law.alpha": np.float64(1.002)},
            "divergences": np.int64(0), "ok": np.bool_(True), "loss": np.array(12.5), "trace": rng.normal(size=(3, 4, 5)),
            "stages": [{"kind": "map", "converged": True, "diagnostics": {"loss": 3.0, "reason": "tol"}},
                       {"kind": "nuts", "converged": False, "diagnostics": {}}],
            "labels": np.array(["a", "bb", "Å"]), "bytes": np.array([b"x", b"yz"]), "word": np.str_("wörd"),
            "c": np.array([1 + 2j, 3 - 1j]), "empty": np.zeros((0, 3)), "int8": np.arange(4, dtype=np.int8),
            "nested": {"deeper": {"deepest": {"x.y:z": [np.ones(2), (3, "t")]}}}, "none_list": [], "tuple_empty": (),
        },
        spectrum={"wave": w, "wave_rest": w / (1 + z), "flux": rng.normal(size=w.size), "err": np.ones(w.size),
                  "mask": rng.uniform(size=w.size) > 0.1, "model": np.zeros(w.size), "component:power_law": np.ones(w.size),
                  "component:poly": np.ones(w.size)},
        photometry={"bands": ["sdss2010-g", "sdss2010-r"], "kept": np.array([True, False]),
                    "mag_obs": np.array([18.0, np.nan]), "mag_err": np.array([0.02, 0.03]),
                    "psf_component:power_law": np.ones(5)},
    )


def assert_identical(a, b, where="result"):
    """Equal values of identical types (dict order, dtypes and shapes included), NaN == NaN."""
    assert type(a) is type(b), f"{where}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, dict):
        assert list(a) == list(b), f"{where}: keys {list(a)} != {list(b)}"
        for k in a:
            assert_identical(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_identical(x, y, f"{where}[{i}]")
    elif isinstance(a, (np.ndarray, np.generic)):
        assert a.dtype == b.dtype and np.shape(a) == np.shape(b), f"{where}: {a.dtype}{np.shape(a)} vs {b.dtype}{np.shape(b)}"
        assert np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"), where
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b), where
    else:
        assert a == b, where
        if isinstance(a, float):
            assert math.copysign(1, a) == math.copysign(1, b), where


def test_round_trip_is_exact(tmp_path):
    res = nasty_result()
    paths = save_result(res, tmp_path)
    assert [p.name for p in paths] == ["spec-0332-52367-0639.h5", "spec-0332-52367-0639.row.json"]
    back = load_result(paths[0])
    assert back == res
    for f in dataclasses.fields(FitResult):
        assert_identical(getattr(res, f.name), getattr(back, f.name), f.name)


def test_file_layout(tmp_path):
    res = nasty_result()
    path = save_result(res, tmp_path, row=False)[0]
    with h5py.File(path, "r") as f:
        assert f.attrs["schema_version"] == SCHEMA_VERSION and f.attrs["name"] == res.name
        assert f.attrs["data_hash"] == "ab" * 32
        assert json.loads(f.attrs["versions"]) == {"agnfit": "0.1.0", "jax": "0.4"}
        assert f["config"].attrs["kind"] == "dict"
        assert tomllib.loads(f["config.toml"].asstr()[()]) == res.config
        assert f["params"].attrs["kind"] == "summary" and f["params"].shape == (2,)
        assert f["spectrum/component:power_law"].shape == (3000,)
        assert f["derived_samples/host_fraction.5100"].shape == (100,)
        assert "a%2Fb%25c" in f["info"] and "%2E" in f["info"]


def test_config_toml_cannot_hold_is_stored_exactly(tmp_path):
    res = dataclasses.replace(nasty_result(), config={"components": {"pl": {"type": "power_law", "range": (1.0, 2.0)}},
                                                      "weights": np.arange(3.0), "unset": None})
    path = save_result(res, tmp_path, row=False)[0]
    assert_identical(res.config, load_result(path).config, "config")
    with h5py.File(path, "r") as f:
        assert "config.toml" not in f


def test_unique_file_names_and_overwrite(tmp_path):
    res = nasty_result(name="a/b c")
    p1 = save_result(res, tmp_path)[0]
    assert p1.name == "a_b_c.h5"
    res2 = dataclasses.replace(res, point={"power_law.norm": 2.0})
    p2 = save_result(res2, tmp_path)[0]
    assert p1 == p2 and load_result(p2) == res2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_b_c.h5", "a_b_c.row.json"]


def test_failed_write_leaves_nothing(tmp_path, monkeypatch):
    real_put, calls = io_results._put, []

    def failing_put(*args, **kw):
        calls.append(1)
        if len(calls) == 40:  # part-way through the file
            raise RuntimeError("disk full")
        return real_put(*args, **kw)

    monkeypatch.setattr(io_results, "_put", failing_put)
    res = nasty_result()
    with pytest.raises(RuntimeError, match="disk full"):
        save_result(res, tmp_path)
    assert list(tmp_path.iterdir()) == []  # neither the target nor a temporary file

    monkeypatch.setattr(io_results, "_put", real_put)
    good = save_result(res, tmp_path)[0]
    before = good.read_bytes()
    calls.clear()
    monkeypatch.setattr(io_results, "_put", failing_put)
    with pytest.raises(RuntimeError):
        save_result(dataclasses.replace(res, name=res.name), tmp_path)
    assert good.read_bytes() == before  # the old result is untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == [good.name, good.name.replace(".h5", ".row.json")]


def test_unsupported_value_names_its_key(tmp_path):
    res = dataclasses.replace(nasty_result(), diagnostics={"stages": {"bad": object()}})
    with pytest.raises(TypeError, match="diagnostics/stages/bad"):
        save_result(res, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_load_rejects_other_files(tmp_path):
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["x"] = 1
    with pytest.raises(InputError, match="not an agnfit result"):
        load_result(tmp_path / "other.h5")
    path = save_result(nasty_result(), tmp_path, row=False)[0]
    with h5py.File(path, "a") as f:
        f.attrs["schema_version"] = SCHEMA_VERSION + 1
    with pytest.raises(InputError, match="newer"):
        load_result(path)
    with pytest.raises(InputError, match="does not exist"):
        load_result(tmp_path / "missing.h5")


def test_row_json(tmp_path):
    res = nasty_result()
    row = json.loads(save_result(res, tmp_path)[1].read_text())
    assert row["name"] == res.name and row["z"] == 0.2 and row["converged"] is False
    assert row["dec"] is None  # NaN -> null
    assert row["power_law.alpha_p16"] is None and row["broad_lines.Hb.fwhm_p84"] == 4100.0


def _objects(tmp_path):
    a = nasty_result("obj-a", z=0.1)
    b = dataclasses.replace(nasty_result("obj-b", z=0.2), derived={"L5100": _summary(1e44, 9e43, 1.1e44)})
    c_h5, c_row = save_result(nasty_result("obj-c", z=0.3), tmp_path / "fits")
    d = {"name": "obj-d", "z": 0.4, "extra": "note"}
    return [a, b, c_h5, c_row, d]


def _check_table(t: Table, n_cols: int):
    assert len(t) == 5 and len(t.colnames) == n_cols
    assert list(t["name"]) == ["obj-a", "obj-b", "obj-c", "obj-c", "obj-d"]
    np.testing.assert_allclose(np.asarray(t["z"], float), [0.1, 0.2, 0.3, 0.3, 0.4])
    assert np.isnan(float(np.ma.filled(t["L5100"], np.nan)[0])) and float(t["L5100"][1]) == 1e44
    assert str(t["extra"][4]) == "note"


def test_catalogue_fits_and_csv(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # the CSV fallback
    items = _objects(tmp_path)
    paths = write_catalogue(items, tmp_path / "cat.fits")
    assert [p.name for p in paths] == ["cat.fits", "cat.csv"]
    table = io_results.catalogue_table(items)
    n_cols = len(table.colnames)
    # name, info (z ra dec converged message n_pix), provenance (version, schema, config hash), params, derived a/c, b, extra
    assert n_cols == 1 + 6 + 3 + 3 * 2 + 3 * 2 + 3 + 1
    _check_table(Table.read(paths[0]), n_cols)
    _check_table(Table.read(paths[1], format="ascii.csv"), n_cols)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_empty_catalogue_is_an_error(tmp_path):
    with pytest.raises(InputError, match="no objects"):
        write_catalogue([], tmp_path / "cat")


def test_catalogue_parquet(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    items = _objects(tmp_path)
    paths = write_catalogue(items, tmp_path / "cat")
    assert [p.name for p in paths] == ["cat.fits", "cat.parquet"]
    _check_table(Table(pq.read_table(paths[1]).to_pydict()), len(io_results.catalogue_table(items).colnames))

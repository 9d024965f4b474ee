"""Mixed catalogues: objects fitted by different agnfit versions, result schemas or configurations are reported."""

import json
import logging

import pytest
from astropy.table import Table

from agnfit import cli
from agnfit.batch import BatchOptions, run_batch
from agnfit.core.result import FitResult, config_hash
from agnfit.errors import AgnfitWarning, InputError
from agnfit.io.catalogue import catalogue_table, provenance_groups, write_catalogue
from agnfit.io.results import save_result

CONFIG = {"components": {"pl": {"type": "power_law"}}, "inference": [{"type": "map"}]}


def result(name, version="0.1.0", schema=1, config=None) -> FitResult:
    """A small FitResult made by agnfit ``version`` with result schema ``schema`` and ``config``."""
    info = {"z": 0.1, "converged": True, "versions": {"agnfit": version, "jax": "0.4"}, "schema_version": schema}
    summary = {"pl.norm": {"median": 1.0, "p16": 0.9, "p84": 1.1, "std": 0.1}}
    return FitResult(name=name, config=config or CONFIG, info=info, params=summary, point={"pl.norm": 1.0},
                     samples={}, derived={}, derived_samples={}, diagnostics={}, spectrum={})


def test_rows_record_version_schema_and_config_hash():
    row = result("a").catalogue_row()
    assert row["agnfit_version"] == "0.1.0" and row["schema_version"] == 1
    assert row["config_hash"] == config_hash(CONFIG) and len(row["config_hash"]) == 16
    reordered = {"inference": CONFIG["inference"], "components": CONFIG["components"]}
    assert config_hash(reordered) == config_hash(CONFIG)
    changed = {**CONFIG, "priors": {"pl.alpha": {"dist": "Normal", "loc": -1.0, "scale": 0.5}}}
    assert config_hash(changed) != config_hash(CONFIG)


def test_one_provenance_is_silent(recwarn):
    table = catalogue_table([result("a"), result("b")])
    assert list(table["agnfit_version"]) == ["0.1.0", "0.1.0"] and len(set(table["config_hash"])) == 1
    assert not [w for w in recwarn if issubclass(w.category, AgnfitWarning)]


def test_mixed_versions_and_configs_warn_naming_groups_and_counts(caplog):
    other = {**CONFIG, "inference": [{"type": "laplace"}]}
    items = [result(f"new{i}") for i in range(4)] + [result("old1", version="0.0.9"), result("old2", version="0.0.9"),
                                                     result("cfg", config=other), result("v2", schema=2)]
    with caplog.at_level(logging.WARNING), pytest.warns(AgnfitWarning, match="mixes 4 groups") as rec:
        table = catalogue_table(items)
    msg = str(rec[0].message)
    assert f"agnfit 0.1.0 / schema 1 / config {config_hash(CONFIG)}: 4 objects" in msg
    assert "agnfit 0.0.9 / schema 1" in msg and "2 objects (old1, old2)" in msg
    assert f"config {config_hash(other)}: 1 object (cfg)" in msg and "schema 2" in msg
    assert "mixes 4 groups" in caplog.text
    assert list(table["agnfit_version"]).count("0.0.9") == 2 and sorted(set(table["schema_version"])) == [1, 2]


def test_mixed_error_refuses_and_writes_nothing(tmp_path):
    with pytest.raises(InputError, match=r"mixes 2 groups.*old"):
        write_catalogue([result("a"), result("old", version="0.0.9")], tmp_path / "cat", mixed="error")
    assert not list(tmp_path.iterdir())
    with pytest.raises(InputError, match="mixed='sometimes'"):
        write_catalogue([result("a")], tmp_path / "cat", mixed="sometimes")


def test_mixed_ignore_is_silent_and_keeps_the_columns(tmp_path, recwarn):
    paths = write_catalogue([result("a"), result("old", version="0.0.9")], tmp_path / "cat", mixed="ignore")
    assert not [w for w in recwarn if issubclass(w.category, AgnfitWarning)]
    assert list(Table.read(paths[0])["agnfit_version"]) == ["0.1.0", "0.0.9"]


def test_rows_without_provenance_read_unknown(tmp_path):
    legacy = {"name": "legacy", "z": 0.3}  # a row written before provenance was recorded
    groups = provenance_groups([result("a").catalogue_row(), legacy])
    assert groups[("unknown", "unknown", "unknown")] == ["legacy"]
    row_file = save_result(result("b"), tmp_path)[1]
    assert json.loads(row_file.read_text())["agnfit_version"] == "0.1.0"


def _leftovers(out):
    """A batch directory holding results of two agnfit versions (an earlier run left the old one)."""
    save_result(result("obj1"), out / "objects")
    save_result(result("obj2", version="0.0.9"), out / "objects")


def test_batch_assembly_reports_leftovers(tmp_path):
    empty = tmp_path / "inputs"
    empty.mkdir()
    out = tmp_path / "out"
    _leftovers(out)
    with pytest.warns(AgnfitWarning, match=r"obj2"):
        summary = run_batch(str(empty), BatchOptions(out=out, progress=False))
    assert list(Table.read(summary.catalogue[0])["agnfit_version"]) == ["0.1.0", "0.0.9"]
    with pytest.raises(InputError, match="mixes 2 groups"):
        run_batch(str(empty), BatchOptions(out=out, progress=False, mixed="error"))


def test_cli_batch_mixed_error(tmp_path, capsys):
    empty = tmp_path / "inputs"
    empty.mkdir()
    _leftovers(tmp_path / "out")
    code = cli.main(["batch", str(empty), "--out", str(tmp_path / "out"), "--no-progress", "--mixed", "error"])
    assert code == cli.EXIT_ERROR and "mixes 2 groups" in capsys.readouterr().err

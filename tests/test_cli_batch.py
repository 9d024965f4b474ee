"""Command line and catalogue runner: listing, configs, fitting files, failures, resume, Dask."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from astropy.table import Table

import agnfit
from agnfit.batch import BatchOptions, run_batch
from agnfit.cli import main

SMALL = """
[data]
deredden = false
[components.pl]
type = "power_law"
[components.broad]
type = "broad_lines"
lines = ["Hb"]
[likelihood]
frac_jitter = false
add_jitter = false
"""


def write_spectra(folder, n, seed=0):
    cfg = agnfit.load_config(SMALL)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        truth = {"pl.norm": 5.0 + i, "pl.alpha": -1.2 - 0.05 * i, "broad.Hb_flux": 300.0, "broad.Hb_fwhm": 3000.0 + 100 * i}
        spec, _ = agnfit.simulate(cfg, truth, agnfit.Observation(z=0.1 + 0.001 * i, snr=30, seed=seed + i))
        t = Table({"wave": spec.wave, "flux": spec.flux, "err": spec.err})
        t.meta["Z"] = spec.z
        t.write(folder / f"obj{i:03d}.fits", overwrite=True)
    return cfg


@pytest.fixture
def config_file(tmp_path):
    p = tmp_path / "fit.toml"
    p.write_text(SMALL)
    return p


def test_cli_plugins_and_default_config(capsys, tmp_path):
    assert main(["plugins", "--kind", "component"]) == 0
    out = capsys.readouterr().out
    assert "power_law" in out and "agnfit (built-in)" in out and "host_dsps" in out
    assert main(["config", "--default"]) == 0
    text = capsys.readouterr().out
    (tmp_path / "d.toml").write_text(text)
    assert agnfit.load_config(tmp_path / "d.toml") == agnfit.default_config()
    assert main(["config", "--check", str(tmp_path / "d.toml")]) == 0


def test_cli_errors_exit_2(capsys, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[components.pl]\ntype = 'powerlaw'\n")
    assert main(["config", "--check", str(bad)]) == 2
    assert "unknown component 'powerlaw'" in capsys.readouterr().err
    assert main(["fit", str(tmp_path / "missing.fits"), "--config", str(bad)]) == 2


def test_cli_fit_writes_result_and_figures(tmp_path, config_file, capsys):
    write_spectra(tmp_path / "in", 1)
    rc = main(["fit", str(tmp_path / "in" / "obj000.fits"), "--config", str(config_file), "--out", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "broad.Hb.fwhm" in out
    res = agnfit.FitResult.load(tmp_path / "out" / "obj000.h5")
    assert res.derived["broad.Hb.fwhm"]["median"] == pytest.approx(3000, rel=0.05)
    assert (tmp_path / "out" / "obj000_spectrum.png").is_file()


def test_batch_isolates_failures_and_resumes(tmp_path, config_file):
    write_spectra(tmp_path / "in", 5)
    # a name with characters outside [A-Za-z0-9._+-] is stored under a safe file name and still resumed
    (tmp_path / "in" / "obj004.fits").rename(tmp_path / "in" / "obj 004#b.fits")
    (tmp_path / "in" / "broken.fits").write_bytes(b"this is not a FITS file")
    opts = BatchOptions(out=tmp_path / "out", config=str(config_file), batch_size=2, progress=False)
    s1 = run_batch(tmp_path / "in", opts)
    assert (s1.n_total, s1.n_done, s1.n_failed) == (6, 5, 1)
    fails = [json.loads(x) for x in (tmp_path / "out" / "failures.jsonl").read_text().splitlines()]
    assert fails[0]["name"] == "broken" and fails[0]["error"] == "InputError"
    cat = Table.read(tmp_path / "out" / "catalogue.fits")
    assert len(cat) == 5 and len(set(cat["name"])) == 5
    s2 = run_batch(tmp_path / "in", opts)
    assert (s2.n_done, s2.n_skipped) == (0, 5)
    # a changed input is refitted
    t = Table.read(tmp_path / "in" / "obj001.fits")
    t["flux"] *= 1.01
    t.write(tmp_path / "in" / "obj001.fits", overwrite=True)
    s3 = run_batch(tmp_path / "in", opts)
    assert (s3.n_done, s3.n_skipped) == (1, 4)


def test_batch_killed_midway_resumes_without_loss_or_duplicates(tmp_path, config_file):
    write_spectra(tmp_path / "in", 8, seed=100)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "agnfit.cli", "batch", str(tmp_path / "in"), "--config", str(config_file),
           "--out", str(out), "--batch-size", "1", "--no-progress"]
    proc = subprocess.Popen(cmd, env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 240
    while time.time() < deadline and len(list((out / "objects").glob("*.h5"))) < 2:
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = {p.name for p in (out / "objects").glob("*.h5")}
    assert 2 <= len(done_before) < 8
    # a kill during a write can leave a hidden temporary file, never a partial result
    from agnfit.io.results import load_result

    for p in (out / "objects").glob("*.h5"):
        load_result(p)
    assert all(p.name.startswith(".") for p in (out / "objects").glob("*.tmp"))
    s = run_batch(tmp_path / "in", BatchOptions(out=out, config=str(config_file), batch_size=4, progress=False))
    assert s.n_skipped >= len(done_before) - 1 and s.n_done + s.n_skipped == 8 and s.n_failed == 0
    cat = Table.read(out / "catalogue.fits")
    assert sorted(cat["name"]) == [f"obj{i:03d}" for i in range(8)]


def test_batch_on_dask_local_cluster(tmp_path, config_file):
    pytest.importorskip("dask.distributed")
    write_spectra(tmp_path / "in", 4, seed=200)
    opts = BatchOptions(out=tmp_path / "out", config=str(config_file), batch_size=2, scheduler="local", workers=2,
                        progress=False)
    s = run_batch(tmp_path / "in", opts)
    assert (s.n_done, s.n_failed) == (4, 0)
    cat = Table.read(tmp_path / "out" / "catalogue.fits")
    assert len(cat) == 4 and np.all(cat["converged"])


def test_result_without_its_row_still_reaches_the_catalogue(tmp_path, config_file):
    """A kill between an object's result and its catalogue row loses nothing on resume."""
    write_spectra(tmp_path / "in", 3, seed=300)
    opts = BatchOptions(out=tmp_path / "out", config=str(config_file), batch_size=3, progress=False)
    run_batch(tmp_path / "in", opts)
    (tmp_path / "out" / "objects" / "obj001.row.json").unlink()
    s = run_batch(tmp_path / "in", opts)
    assert (s.n_done, s.n_skipped) == (0, 3)
    cat = Table.read(tmp_path / "out" / "catalogue.fits")
    assert sorted(cat["name"]) == ["obj000", "obj001", "obj002"]

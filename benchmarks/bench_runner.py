"""The catalogue runner end to end: `agnfit batch` on N simulated spectrum files, killed with SIGKILL
mid-run and resumed; checks that no object is lost or duplicated and prints the throughput.

    python benchmarks/bench_runner.py                        # 200 objects, small fast model
    python benchmarks/bench_runner.py --quick                # 12 objects
    python benchmarks/bench_runner.py --n 500 --batch-size 16 --scheduler local --workers 2

N spectra are simulated with ``agnfit.simulate`` from a small model (power
law + broad and narrow Hbeta and [O III], S/N 20, each object with its own
redshift and line widths) and written as FITS binary tables (wave, flux, err
columns, redshift in the ``Z`` keyword), a layout ``agnfit.read_spectrum``
reads; one file is read back to check. Then:

1. ``agnfit batch IN --config fit.toml --out OUT`` runs as a subprocess and is
   killed with SIGKILL once ``--kill-at`` of the objects have result files;
2. the same command runs again and resumes;
3. checks: every input has exactly one ``objects/<name>.h5`` and one
   ``.row.json`` row, no temporary file is left behind, no failure was
   recorded, and the catalogue (``catalogue.fits`` and ``catalogue.parquet``)
   has N rows with N distinct names, equal to the inputs.

It prints the throughput of each run (objects fitted per second of wall time,
including the start-up and compilation of each process; the runs share a
compilation cache that starts empty, so the first compiles and the second
reads the cache) and the resumed run's own summary line. The first run is
killed as soon as the K-th result file appears, the moment at which an
object's result is written and its catalogue row not yet, so a kill there
tests the bookkeeping where it is most fragile. The exit code is 1 if a check
fails.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import Stopwatch, print_header, run_script, table  # noqa: E402

FIT_TOML = """\
[data]
deredden = false
wave_range = [4200.0, 5600.0]

[components.power_law]
type = "power_law"
wave0 = 5100.0

[components.broad_lines]
type = "broad_lines"
lines = ["Hb"]

[components.narrow_lines]
type = "narrow_lines"
lines = ["Hb", "OIII_4959", "OIII_5007"]

[likelihood]
frac_jitter = false
add_jitter = false
"""

SUMMARY = re.compile(r"(\d+) objects: (\d+) fitted, (\d+) already done, (\d+) failed; ([\d.]+) s")


def write_inputs(folder: Path, cfg, n: int, seed: int) -> list[str]:
    """``n`` simulated spectra as FITS tables ``obj<i>.fits``; returns the object names."""
    import numpy as np
    from astropy.table import Table

    import agnfit

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    names = []
    for i in range(n):
        truth = {"power_law.norm": rng.uniform(5, 30), "power_law.alpha": rng.normal(-1.5, 0.3),
                 "broad_lines.Hb_flux": rng.uniform(200, 1500), "broad_lines.Hb_fwhm": rng.uniform(2000, 8000),
                 "narrow_lines.Hb_flux": rng.uniform(10, 60), "narrow_lines.OIII_5007_flux": rng.uniform(50, 500)}
        truth = {k: float(v) for k, v in truth.items()}
        name = f"obj{i:05d}"
        obs = agnfit.Observation(z=float(rng.uniform(0.1, 0.5)), snr=20.0, seed=seed * 100003 + i, name=name)
        spec, _ = agnfit.simulate(cfg, truth, obs)
        t = Table({"wave": spec.wave, "flux": spec.flux, "err": spec.err})
        t.meta["Z"] = spec.z
        t.write(folder / f"{name}.fits", overwrite=True)
        names.append(name)
    back = agnfit.read_spectrum(folder / f"{names[0]}.fits")
    assert back.wave.size > 0 and abs(back.z - float(Table.read(folder / f"{names[0]}.fits").meta["Z"])) < 1e-12
    return names


def batch_command(args, inp: Path, out: Path, config: Path) -> list[str]:
    exe = Path(sys.executable).with_name("agnfit")
    head = [str(exe)] if exe.is_file() else [sys.executable, "-m", "agnfit.cli"]
    cmd = head + ["batch", str(inp), "--config", str(config), "--out", str(out), "--no-progress",
                  "--batch-size", str(args.batch_size)]
    if args.scheduler:
        cmd += ["--scheduler", args.scheduler, "--workers", str(args.workers)]
    return cmd


def results_in(out: Path) -> list[str]:
    d = out / "objects"
    return sorted(p.name for p in d.iterdir()) if d.is_dir() else []


def kill_midway(cmd: list[str], out: Path, n_kill: int, timeout: float, env: dict) -> dict:
    """Start ``cmd``, SIGKILL it when ``n_kill`` results exist; what it had done by then."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True, env=env)
    finished = False
    while time.perf_counter() - t0 < timeout:
        if proc.poll() is not None:
            finished = True
            break
        if sum(f.endswith(".h5") and not f.startswith(".") for f in results_in(out)) >= n_kill:
            break
        time.sleep(0.05)
    if not finished:
        os.killpg(proc.pid, signal.SIGKILL)  # the whole process group: a Dask cluster's workers too
    proc.wait()
    files = results_in(out)
    return {"seconds": time.perf_counter() - t0, "finished": finished, "returncode": proc.returncode,
            "n_h5": sum(f.endswith(".h5") and not f.startswith(".") for f in files),
            "n_rows": sum(f.endswith(".row.json") and not f.startswith(".") for f in files),
            "leftovers": [f for f in files if f.startswith(".") or f.endswith(".tmp")],
            "stderr": proc.stderr.read().decode(errors="replace")[-2000:] if proc.stderr else ""}


def check(out: Path, names: list[str]) -> list[tuple[str, bool, str]]:
    """(check, passed, detail) for the finished output directory."""
    import pyarrow.parquet as pq
    from astropy.table import Table

    want = set(names)
    files = results_in(out)
    h5 = [f[:-3] for f in files if f.endswith(".h5") and not f.startswith(".")]
    rows = [f[: -len(".row.json")] for f in files if f.endswith(".row.json") and not f.startswith(".")]
    stray = [f for f in files if f.startswith(".") or not (f.endswith(".h5") or f.endswith(".row.json"))]
    out_checks = [
        ("one result file per object", sorted(h5) == sorted(want), f"{len(h5)} .h5 for {len(want)} inputs"
         + (f"; missing {sorted(want - set(h5))[:5]}" if want - set(h5) else "")),
        ("one catalogue row file per object", sorted(rows) == sorted(want), f"{len(rows)} .row.json"
         + (f"; missing {sorted(want - set(rows))[:5]}" if want - set(rows) else "")),
        ("no temporary or stray files", not stray, f"{len(stray)}: {stray[:3]}"),
    ]
    fail = out / "failures.jsonl"
    n_fail = len(fail.read_text().splitlines()) if fail.is_file() else 0
    out_checks.append(("no failures recorded", n_fail == 0, f"{n_fail} line(s) in failures.jsonl"))
    for fmt, path in (("FITS", out / "catalogue.fits"), ("Parquet", out / "catalogue.parquet")):
        if not path.is_file():
            out_checks.append((f"{fmt} catalogue has N rows", False, f"{path.name} missing"))
            continue
        names_col = Table.read(path)["name"] if fmt == "FITS" else pq.read_table(path).column("name").to_pylist()
        col = [str(x) for x in names_col]
        dup = len(col) - len(set(col))
        ok = len(col) == len(want) and set(col) == want and dup == 0
        out_checks.append((f"{fmt} catalogue has N rows, each object once", ok,
                           f"{len(col)} rows, {len(set(col))} distinct, {dup} duplicated"))
    return out_checks


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="12 objects")
    p.add_argument("--n", type=int, default=None, help="number of objects (default 200; quick 12)")
    p.add_argument("--kill-at", type=float, default=0.4, help="kill when this fraction of the objects is done")
    p.add_argument("--batch-size", type=int, default=8, help="agnfit batch --batch-size")
    p.add_argument("--scheduler", default=None, help="agnfit batch --scheduler (e.g. local)")
    p.add_argument("--workers", type=int, default=2, help="agnfit batch --workers (with --scheduler local)")
    p.add_argument("--timeout", type=float, default=3600.0, help="seconds before the first run is killed anyway")
    p.add_argument("--workdir", default=None, help="where inputs and outputs go (default: a temporary directory)")
    p.add_argument("--keep", action="store_true", help="keep the work directory")
    p.add_argument("--seed", type=int, default=3)
    args = p.parse_args(argv)
    warnings.simplefilter("ignore")
    n = args.n or (12 if args.quick else 200)

    import agnfit

    print_header("bench_runner: agnfit batch, SIGKILL mid-run, resume, catalogue checks",
                 {"objects": n, "batch size": args.batch_size, "scheduler": args.scheduler or "none (in process)"})
    work = Path(args.workdir or tempfile.mkdtemp(prefix="agnfit-bench-runner-"))
    work.mkdir(parents=True, exist_ok=True)
    inp, out, config = work / "in", work / "out", work / "fit.toml"
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(work / "jaxcache", ignore_errors=True)
    config.write_text(FIT_TOML)
    try:
        cfg = agnfit.load_config(config)
        with Stopwatch() as sw:
            names = write_inputs(inp, cfg, n, args.seed)
        print(f"wrote {n} spectrum files in {sw.seconds:.1f} s -> {inp}")
        cmd = batch_command(args, inp, out, config)
        print("command: " + " ".join(cmd), flush=True)

        env = {**os.environ, "JAX_COMPILATION_CACHE_DIR": str(work / "jaxcache")}
        first = kill_midway(cmd, out, max(1, int(args.kill_at * n)), args.timeout, env)
        state = "finished before the kill" if first["finished"] else f"killed (SIGKILL) after {first['seconds']:.1f} s"
        print(f"run 1: {state}; {first['n_h5']} result files, {first['n_rows']} rows, "
              f"{len(first['leftovers'])} temporary file(s) left: {first['leftovers'][:3]}")
        if args.scheduler and args.scheduler != "local":
            print("  (the kill stops the driver only: the tasks the scheduler's workers are running go on to the end, "
                  "so more objects finish before and during the resumed run)")
        if first["finished"] and first["returncode"]:
            print(first["stderr"])
        with Stopwatch() as sw2:
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        summary = [ln for ln in proc.stdout.splitlines() if SUMMARY.search(ln)]
        print(f"run 2 (resume): exit {proc.returncode}, {sw2.seconds:.1f} s")
        print("  summary: " + (summary[-1] if summary else "(none)\n" + proc.stderr[-3000:]))
        m = SUMMARY.search(summary[-1]) if summary else None
        resumed = {"fitted": int(m.group(2)), "skipped": int(m.group(3)), "failed": int(m.group(4))} if m else {}

        checks = check(out, names)
        if resumed:
            ok = resumed["fitted"] + resumed["skipped"] == n and resumed["skipped"] >= first["n_h5"]
            checks.append(("resume skipped every finished object, fitted the rest", ok,
                           f"{resumed['skipped']} skipped (run 1 left {first['n_h5']}), {resumed['fitted']} fitted"))
        print()
        print(table(["check", "passed", "detail"], [[c, "yes" if ok else "NO", d] for c, ok, d in checks]))

        rate1 = first["n_h5"] / first["seconds"] if first["seconds"] > 0 else float("nan")
        n2 = resumed.get("fitted", float("nan"))
        print()
        print(table(["run", "objects fitted", "wall [s]", "objects/s"],
                    [["1 (killed)", first["n_h5"], first["seconds"], rate1],
                     ["2 (resumed)", n2, sw2.seconds, n2 / sw2.seconds if sw2.seconds > 0 else float("nan")],
                     ["total", first["n_h5"] + (n2 if resumed else 0), first["seconds"] + sw2.seconds,
                      (first["n_h5"] + (n2 if resumed else 0)) / (first["seconds"] + sw2.seconds)]]))
        print("\n(wall times include process start-up and the compilation of each new process)")
        return 0 if all(ok for _, ok, _ in checks) and proc.returncode == 0 else 1
    finally:
        if args.keep or args.workdir:
            print(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    run_script(main)

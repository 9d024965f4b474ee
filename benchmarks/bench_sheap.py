"""Side-by-side wall time per spectrum of agnfit and sheap (another JAX AGN-fitting package, from
PyPI) on the same simulated spectra.

    python benchmarks/bench_sheap.py                    # 8 spectra of the full default model
    python benchmarks/bench_sheap.py --quick            # 2 short spectra
    python benchmarks/bench_sheap.py --n 32 --venv /tmp/sheap-venv --python python3.12

sheap pins its own JAX version, so it lives in a separate virtual environment
(``--venv``, default ``/tmp/sheap-venv``). When that environment does not exist
the script creates it with a Python that sheap supports (it needs >= 3.12;
``--python`` or the first python3.12 / python3.13 found on PATH or under
~/.pyenv) and runs ``pip install sheap``. If any step fails (no suitable
Python, no network, the install or the import fails, the fit raises) the
script prints the exact reason and exits 2, so the comparison is never
silently missing.

Both packages fit the same spectra (``benchlib.sim``: full default model,
z ~ 0.15, S/N 20, 3841 pixels), each with its own default way of working:

* agnfit: ``agnfit.fit`` one by one (MAP, Levenberg-Marquardt, float64), in
  this process with an empty compilation cache: first fit (with compilation)
  and the median of the later ones; and ``agnfit.fit_batch`` on all spectra at
  once, first and second call, when it exists.
* sheap: ``Sheapectral(...).makemodel(...).fitmodel()`` on all spectra at once
  (its optimiser is Adam, float32, a fixed number of steps), run by
  ``benchlib/sheap_driver.py`` in the sheap environment, twice.

The models are not identical (sheap's own line list, MILES host and Fe II
templates versus agnfit's), so the ratio compares the cost of a typical fit
with each package, not the same computation; both parameter counts are printed.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from benchlib import CompileTimer, Stopwatch, fresh_compilation_cache, median, print_header, run_script, table  # noqa: E402

MIN_PYTHON = (3, 12)


def find_python(given: str | None) -> str | None:
    """An interpreter >= MIN_PYTHON: ``given``, else python3.12/3.13 on PATH, else one under ~/.pyenv."""
    cands = [given] if given else []
    cands += [shutil.which(n) for n in ("python3.12", "python3.13")]
    cands += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.1[23]*/bin/python")))
    for c in filter(None, cands):
        try:
            v = subprocess.run([c, "-c", "import sys; print(*sys.version_info[:2])"], capture_output=True, text=True,
                               timeout=60).stdout.split()
        except (OSError, subprocess.SubprocessError):
            continue
        if len(v) == 2 and tuple(int(x) for x in v) >= MIN_PYTHON:
            return c
    return None


def ensure_sheap(venv: Path, python: str | None, timeout: float) -> tuple[Path | None, str]:
    """(interpreter of the sheap environment, note) or (None, the reason it is not usable)."""
    exe = venv / "bin" / "python"
    if not exe.is_file():
        base = find_python(python)
        if base is None:
            return None, (f"no Python >= {'.'.join(map(str, MIN_PYTHON))} found (sheap needs it); pass --python")
        r = subprocess.run([base, "-m", "venv", str(venv)], capture_output=True, text=True)
        if r.returncode:
            return None, f"'{base} -m venv {venv}' failed: {r.stderr.strip()[-1500:]}"
    check = subprocess.run([str(exe), "-c", "import sheap; print(sheap.__version__)"], capture_output=True, text=True)
    if check.returncode:
        try:
            r = subprocess.run([str(exe), "-m", "pip", "install", "sheap"], capture_output=True, text=True,
                               timeout=timeout)
        except subprocess.TimeoutExpired:
            return None, f"'pip install sheap' did not finish in {timeout:.0f} s"
        if r.returncode:
            return None, f"'pip install sheap' failed (exit {r.returncode}):\n{(r.stdout + r.stderr).strip()[-2500:]}"
        check = subprocess.run([str(exe), "-c", "import sheap; print(sheap.__version__)"], capture_output=True,
                               text=True)
        if check.returncode:
            v = subprocess.run([str(exe), "-c", "import sys; print(*sys.version_info[:2])"], capture_output=True,
                               text=True).stdout.split()
            hint = ""
            if len(v) == 2 and tuple(int(x) for x in v) < MIN_PYTHON:
                hint = (f" (this environment has Python {'.'.join(v)}; sheap needs >= "
                        f"{'.'.join(map(str, MIN_PYTHON))}: remove {venv} or pass another --venv)")
            return None, f"sheap installed but 'import sheap' fails{hint}:\n{check.stderr.strip()[-2500:]}"
    return exe, f"sheap {check.stdout.strip()} in {venv}"


def time_agnfit(spectra, cfg) -> dict:
    """agnfit one by one and (if available) fit_batch; seconds."""
    import agnfit

    timer = CompileTimer.install()
    walls, compiles, n_par = [], [], 0
    for spec in spectra:
        before = timer.snapshot()
        with Stopwatch() as sw:
            res = agnfit.fit(spec, cfg)
        walls.append(sw.seconds)
        compiles.append(CompileTimer.diff(timer.snapshot(), before)["total"])
        n_par = len(res.point)
    out = {"first": walls[0], "first_compile": compiles[0], "steady": median(walls[1:]) if len(walls) > 1 else walls[0],
           "n_params": n_par, "batch": None}
    if hasattr(agnfit, "fit_batch"):
        calls = []
        for _ in range(2):
            before = timer.snapshot()
            with Stopwatch() as sw:
                agnfit.fit_batch(spectra, cfg, batch_size=len(spectra))
            calls.append({"wall": sw.seconds, "compile": CompileTimer.diff(timer.snapshot(), before)["total"]})
        out["batch"] = calls
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="2 spectra of 1500 pixels, sheap with 200 steps")
    p.add_argument("--n", type=int, default=None, help="spectra (default 8; quick 2)")
    p.add_argument("--venv", default="/tmp/sheap-venv", help="the sheap environment (created if missing)")
    p.add_argument("--python", default=None, help="Python >= 3.12 used to create the environment")
    p.add_argument("--steps", type=int, default=None, help="sheap optimiser steps (default its 1000; quick 200)")
    p.add_argument("--install-timeout", type=float, default=900.0)
    p.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "agnfit-bench-sheap"))
    opts = p.parse_args(argv)
    warnings.simplefilter("ignore")
    n = opts.n or (2 if opts.quick else 8)
    npix = 1500 if opts.quick else None
    steps = opts.steps or (200 if opts.quick else 1000)
    work = Path(opts.workdir)
    work.mkdir(parents=True, exist_ok=True)
    fresh_compilation_cache()  # before agnfit sets its own: a cold first fit, the user's cache untouched

    import numpy as np

    import agnfit
    from benchlib.sim import default_spectra, to_arrays

    print_header("bench_sheap: agnfit versus sheap, wall time per spectrum",
                 {"spectra": f"{n} x {npix or 3841} pixels, full default model",
                  "mode": "quick" if opts.quick else "full"})
    with Stopwatch() as sw:
        exe, note = ensure_sheap(Path(opts.venv), opts.python, opts.install_timeout)
    if exe is None:
        print(f"sheap cannot be used here, so there is no comparison.\nreason: {note}")
        return 2
    print(f"{note} (ready in {sw.seconds:.0f} s)")

    cfg = agnfit.default_config()
    spectra = default_spectra(n, cfg, seed=11, npix=npix)
    path = work / f"spectra_{n}_{npix or 'sdss'}.npz"
    np.savez(path, **to_arrays(spectra))

    r = subprocess.run([str(exe), str(HERE / "benchlib" / "sheap_driver.py"), str(path), "--repeat", "1",
                        "--steps", str(steps)], capture_output=True, text=True)
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("RESULT ")]
    sheap = json.loads(lines[-1][7:]) if lines else {"error": f"no result (exit {r.returncode}): {r.stderr[-2500:]}"}
    if "error" in sheap:
        print(f"sheap is installed but its fit failed at stage '{sheap.get('stage', '?')}', so there is no comparison."
              f"\nreason: {sheap['error']}\n{sheap.get('traceback', '')}")
        return 2
    print(f"sheap (jax {sheap['jax']}): {sheap['calls'][0]['n_params']} parameters per spectrum, "
          f"rest-frame range {sheap['rest_limits']}, {steps} Adam steps, peak RSS {sheap['rss_mib']:.0f} MiB",
          flush=True)

    a = time_agnfit(spectra, cfg)
    print(f"agnfit: {a['n_params']} parameters per spectrum\n")
    sc = sheap["calls"]
    rows = [["agnfit.fit, one by one", a["first"], a["first_compile"], a["steady"], 0.0, a["steady"], a["steady"]]]
    if a["batch"]:
        b = a["batch"]
        rows.append([f"agnfit.fit_batch, {n} at once", b[0]["wall"], b[0]["compile"], b[1]["wall"], b[1]["compile"],
                     b[1]["wall"] / n, (b[1]["wall"] - b[1]["compile"]) / n])
    rows.append([f"sheap, {n} at once", sc[0]["wall"], sc[0]["compile"], sc[-1]["wall"], sc[-1]["compile"],
                 sc[-1]["wall"] / n, (sc[-1]["wall"] - sc[-1]["compile"]) / n])
    for r in rows:
        r += [r[5] / a["steady"], r[6] / a["steady"]]
    print(table(["how", "1st call [s]", "of which compile [s]", "2nd call [s]", "of which compile [s]",
                 "per spectrum, 2nd call [s]", "same, without compile [s]", "ratio to agnfit one by one",
                 "ratio without compile"], rows))
    print("\nagnfit's first call starts from an empty compilation cache; sheap builds a new model object per call "
          "and compiles it again each time.")
    best = min(a["steady"], rows[1][5] if a["batch"] else np.inf)
    print(f"sheap / agnfit, per spectrum, 2nd call, agnfit's faster way: {rows[-1][5] / best:.3g} "
          f"(without compilation: {rows[-1][6] / min(a['steady'], rows[1][6] if a['batch'] else np.inf):.3g})")
    return 0


if __name__ == "__main__":
    run_script(main)

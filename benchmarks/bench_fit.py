"""Wall time per spectrum of a MAP fit of the full default model: the first fit in a fresh process
(cold and warm compilation cache), later fits, and agnfit.fit_batch batches.

    python benchmarks/bench_fit.py                          # full default model, 3841-pixel SDSS-like spectra
    python benchmarks/bench_fit.py --quick                  # small model, 1500 pixels: checks the script end to end
    python benchmarks/bench_fit.py --n-single 5 --sizes 1,8,32,128 --workdir /tmp/agnfit-bench

Spectra are simulated with ``agnfit.simulate`` from the full default model
(``agnfit.default_config()``: power law, UV and optical Fe II, Balmer continuum,
DSPS host, broad and narrow lines, Legendre calibration polynomial) with the
truth values of ``benchlib.sim`` (a z ~ 0.15 quasar, host fraction 0.4 at
5100 A, S/N 20 per pixel, SDSS 3800-9200 A grid). They are written once to an
``.npz`` file in ``--workdir`` and reused by later runs.

Part (a), single fits: a fresh Python process (``--child single``) imports
agnfit and fits ``--n-single`` spectra one by one with ``agnfit.fit`` (the
config's MAP stage, Levenberg-Marquardt). It runs twice: with
``JAX_COMPILATION_CACHE_DIR`` pointed at an empty directory ("cold cache"),
then again at the same, now filled directory ("warm cache"). The first fit's
wall time includes everything a user waits for (building the model, loading
templates, tracing, compiling, running, derived quantities); the compilation
part is measured directly from JAX's monitoring events (tracing + lowering +
XLA compilation or cache read). Later fits reuse the compiled code.

``--xla-defaults`` repeats part (a) with ``AGNFIT_XLA_DEFAULTS=1``: agnfit's
single-fit programs compiled with XLA's default options instead of
``agnfit.core.jit``'s (compile time and memory against run time).

Part (b), batches: if ``agnfit.fit_batch`` exists, one fresh process per batch
size fits that many spectra in one call (one chunk) twice: the first
call includes compilation for that batch shape, the second is the steady
state; the table gives the amortised time per spectrum.

Peak memory is each child process's peak RSS (``getrusage(RUSAGE_SELF).ru_maxrss``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import CompileTimer, Stopwatch, median, peak_rss_mib, print_header, table  # noqa: E402

#: a small model for --quick: the Hbeta region's continuum and lines
QUICK_TOML = """
[data]
deredden = false
wave_range = [4000.0, 5600.0]
[components.power_law]
type = "power_law"
wave0 = 5100.0
[components.feii_optical]
type = "feii"
template = "bg92_optical"
[components.broad_lines]
type = "broad_lines"
lines = ["Hg", "Hb"]
[components.narrow_lines]
type = "narrow_lines"
lines = ["Hb", "OIII_4959", "OIII_5007"]
[likelihood]
frac_jitter = false
add_jitter = true
"""

RESULT_TAG = "RESULT "


# ---------------------------------------------------------------- child processes


def _load(args):
    import numpy as np

    import agnfit
    from benchlib.sim import from_arrays

    with np.load(args.spectra) as f:
        spectra = from_arrays({k: f[k] for k in f.files})
    return agnfit, spectra, agnfit.load_config(args.config)


def child_single(args) -> dict:
    """Fit ``args.n`` spectra one by one in this (fresh) process."""
    with Stopwatch() as sw_import:
        import agnfit  # noqa: F401  (timed: the import a user waits for)
    timer = CompileTimer.install()
    _, spectra, cfg = _load(args)
    fits = []
    for spec in spectra[: args.n]:
        before = timer.snapshot()
        with Stopwatch() as sw:
            res = agnfit.fit(spec, cfg)
        comp = CompileTimer.diff(timer.snapshot(), before)
        diag = res.diagnostics or {}
        fits.append({"wall": sw.seconds, "compile": comp["total"], "backend_compile": comp["compile"],
                     "trace_lower": comp["trace"] + comp["lower"], "n_compiled": comp["n_compiled"],
                     "cache_hits": comp["cache_hits"], "converged": bool(res.converged),
                     "n_steps": diag.get("n_steps")})
    return {"import": sw_import.seconds, "fits": fits, "rss_mib": peak_rss_mib(),
            "n_params": len(res.point), "components": res.info["components"]}


def child_batch(args) -> dict:
    """Fit ``args.size`` spectra in one ``agnfit.fit_batch`` call, twice."""
    import agnfit

    if not hasattr(agnfit, "fit_batch"):
        return {"skipped": "agnfit.fit_batch does not exist in this version"}
    timer = CompileTimer.install()
    agnfit, spectra, cfg = _load(args)
    spectra = spectra[: args.size]
    calls = []
    for _ in range(1 + args.repeat):
        before = timer.snapshot()
        with Stopwatch() as sw:
            out = agnfit.fit_batch(spectra, cfg, batch_size=len(spectra))
        comp = CompileTimer.diff(timer.snapshot(), before)
        ok = [r for r in out if isinstance(r, agnfit.FitResult)]
        calls.append({"wall": sw.seconds, "compile": comp["total"], "n_results": len(ok),
                      "n_converged": sum(bool(r.converged) for r in ok)})
    return {"size": len(spectra), "calls": calls, "rss_mib": peak_rss_mib()}


def run_child(mode: str, args, cache_dir: Path, extra: list[str], env_extra: dict | None = None) -> dict:
    """Run this script as ``--child mode`` in a fresh interpreter (``env_extra`` added); its last RESULT line, parsed."""
    cmd = [sys.executable, __file__, "--child", mode, "--spectra", str(args.spectra)] + extra
    if args.config:
        cmd += ["--config", str(args.config)]
    env = {**os.environ, "JAX_COMPILATION_CACHE_DIR": str(cache_dir), **(env_extra or {})}
    with Stopwatch() as sw:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(RESULT_TAG)]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"child {mode} failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
    out = json.loads(lines[-1][len(RESULT_TAG):])
    out["process_wall"] = sw.seconds
    return out


# ---------------------------------------------------------------- parent


def make_spectra(args, n: int) -> Path:
    """Simulate ``n`` spectra once; reuse the file on later runs with the same settings."""
    import hashlib

    import numpy as np

    import agnfit
    from agnfit.build import build_model
    from benchlib.sim import default_spectra, to_arrays

    cfg = agnfit.load_config(args.config)
    tag = hashlib.sha256(f"{cfg.to_toml()}|{n}|{args.seed}|{args.npix}|{args.snr}".encode()).hexdigest()[:12]
    path = Path(args.workdir) / f"spectra_{tag}.npz"
    if not path.is_file():
        with Stopwatch() as sw:
            spectra = default_spectra(n, cfg, seed=args.seed, npix=args.npix, snr=args.snr)
        np.savez(path, **to_arrays(spectra))
        print(f"simulated {n} spectra in {sw.seconds:.1f} s -> {path}")
    else:
        print(f"reusing {n} simulated spectra from {path}")
    with np.load(path) as f:
        rests = [(float(w[0]) / (1 + z), float(w[-1]) / (1 + z)) for w, z in zip(f["wave"], f["z"])]
    structures = {id(build_model(cfg, r, with_photometry=False)) for r in rests}
    print(f"{n} spectra share {len(structures)} model structure(s) (fit_batch groups by structure)")
    return path


def single_table(runs: dict) -> str:
    rows = []
    for label, r in runs.items():
        first, later = r["fits"][0], r["fits"][1:]
        rows.append([label, r["import"], first["wall"], first["compile"], first["backend_compile"],
                     first["wall"] - first["compile"], first["cache_hits"],
                     median([f["wall"] for f in later]), min((f["wall"] for f in later), default=float("nan")),
                     len(later), sum(f["compile"] for f in later), r["rss_mib"],
                     f"{sum(f['converged'] for f in r['fits'])}/{len(r['fits'])}"])
    heads = ["cache", "import [s]", "1st fit [s]", "compile [s]", "XLA/cache [s]", "1st - compile [s]",
             "cache hits", "later fit median [s]", "min [s]", "n later", "later compile [s]", "peak RSS [MiB]",
             "converged"]
    return table(heads, rows)


def batch_table(results: list[dict], single_median: float) -> str:
    rows = []
    for r in results:
        first, steady = r["calls"][0], r["calls"][-1]
        n = r["size"]
        rows.append([n, first["wall"], first["compile"], steady["wall"], steady["wall"] / n,
                     single_median / (steady["wall"] / n) if steady["wall"] > 0 else float("nan"),
                     r["rss_mib"], f"{steady['n_converged']}/{n}"])
    heads = ["batch", "1st call [s]", "compile [s]", "steady call [s]", "per spectrum [s]",
             "speed-up vs one by one", "peak RSS [MiB]", "converged"]
    return table(heads, rows)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="small model, 1500 pixels, 3 fits, batch sizes 1,4")
    p.add_argument("--n-single", type=int, default=None, help="fits per fresh process (default 5; quick 3)")
    p.add_argument("--sizes", default=None, help="comma-separated batch sizes (default 1,8,32,128; quick 1,4)")
    p.add_argument("--repeat", type=int, default=1, help="steady-state fit_batch calls after the first one")
    p.add_argument("--npix", type=int, default=None, help="pixels per spectrum (default SDSS grid, 3841; quick 1500)")
    p.add_argument("--snr", type=float, default=20.0, help="median S/N per pixel")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "agnfit-bench-fit"),
                   help="where simulated spectra and compilation caches are kept")
    p.add_argument("--skip-batch", action="store_true", help="only part (a)")
    p.add_argument("--xla-defaults", action="store_true",
                   help="part (a) also with AGNFIT_XLA_DEFAULTS=1 (XLA's default compiler options)")
    # internal: child processes
    p.add_argument("--child", choices=("single", "batch"), help=argparse.SUPPRESS)
    p.add_argument("--spectra", help=argparse.SUPPRESS)
    p.add_argument("--config", help=argparse.SUPPRESS)
    p.add_argument("--n", type=int, default=1, help=argparse.SUPPRESS)
    p.add_argument("--size", type=int, default=1, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    warnings.simplefilter("ignore")

    if args.child:
        out = child_single(args) if args.child == "single" else child_batch(args)
        print(RESULT_TAG + json.dumps(out), flush=True)
        return 0

    n_single = args.n_single or (3 if args.quick else 5)
    sizes = [int(s) for s in (args.sizes or ("1,4" if args.quick else "1,8,32,128")).split(",")]
    if args.quick and args.npix is None:
        args.npix = 1500
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    if args.quick:
        args.config = str(work / "quick.toml")
        Path(args.config).write_text(QUICK_TOML)
    import agnfit  # noqa: F401  (x64 and the cache settings, for the header)

    model = "quick: power law + Fe II + Hbeta/Hgamma lines" if args.quick else "full default model"
    print_header("bench_fit: MAP fit wall time per spectrum",
                 {"model": model, "mode": "quick" if args.quick else "full"})
    args.spectra = make_spectra(args, max(n_single, max(sizes) if not args.skip_batch else 1))

    cache = Path(tempfile.mkdtemp(prefix="jaxcache-", dir=work))
    runs = {}
    try:
        runs["cold"] = run_child("single", args, cache, ["--n", str(n_single)])
        size_mib = sum(f.stat().st_size for f in cache.rglob("*") if f.is_file()) / 2**20
        runs["warm"] = run_child("single", args, cache, ["--n", str(n_single)])
        if args.xla_defaults:  # the same with agnfit's fit programs compiled with XLA's default options
            plain, env = cache / "xla-defaults", {"AGNFIT_XLA_DEFAULTS": "1"}
            plain.mkdir()
            runs["cold, XLA defaults"] = run_child("single", args, plain, ["--n", str(n_single)], env)
            runs["warm, XLA defaults"] = run_child("single", args, plain, ["--n", str(n_single)], env)
        r = runs["cold"]
        print(f"\n## (a) single fits: {len(r['components'])} components ({', '.join(r['components'])}), "
              f"{r['n_params']} parameters; compilation cache after the cold run: {size_mib:.0f} MiB\n")
        print(single_table(runs))
        single_median = median([f["wall"] for f in runs["warm"]["fits"][1:]])
        print(f"\nsteady state, one by one: {single_median:.3g} s per spectrum "
              f"({1 / single_median if single_median > 0 else float('nan'):.3g} spectra/s)")

        print("\n## (b) agnfit.fit_batch\n")
        if args.skip_batch:
            print("skipped (--skip-batch)")
        elif not hasattr(agnfit, "fit_batch"):
            print("skipped: agnfit.fit_batch does not exist in this version of agnfit")
        else:
            results = []
            for n in sizes:
                res = run_child("batch", args, cache, ["--size", str(n), "--repeat", str(max(0, args.repeat))])
                if "skipped" in res:
                    print(f"skipped: {res['skipped']}")
                    break
                results.append(res)
                print(f"batch of {n}: done in {res['process_wall']:.1f} s (process)", flush=True)
            if results:
                print()
                print(batch_table(results, single_median))
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return 0


if __name__ == "__main__":
    t0 = time.perf_counter()
    rc = main()
    if "--child" not in sys.argv:
        print(f"\n(total benchmark time {time.perf_counter() - t0:.0f} s)")
    sys.exit(rc)

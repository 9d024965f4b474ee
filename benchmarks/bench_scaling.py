"""How the cost of the model grows: evaluation and value+gradient time versus the number of pixels
(1000-16000) and versus the number of components of the default model.

    python benchmarks/bench_scaling.py                     # full default model; pixels 1000..16000
    python benchmarks/bench_scaling.py --map               # also one MAP fit per row (compiles per row: slow)
    python benchmarks/bench_scaling.py --quick             # 1000 and 4000 pixels, 4 component steps, fewer repeats

Pixels: spectra of the full default model are simulated (``benchlib.sim``, z ~
0.15) on log-uniform 3800-9200 A grids of 1000, 2000, 4000, 8000 and 16000
pixels and prepared as a fit prepares them (padded to the config's length
buckets, 1024 ... 8192; longer spectra are not padded). Components: the
default config's components are added one at a time in their order (power
law, UV and optical Fe II, Balmer continuum, host, broad lines, narrow lines,
calibration polynomial), each model on the same 3841-pixel spectrum of the
full model.

For each row: ``eval`` is the model spectrum (``Model.fiber_flux``), ``value+grad``
the potential energy that the MAP and NUTS backends minimise and sample
(``agnfit.plugins.map.loss_fn``: likelihood + priors + log-Jacobians, in the
unconstrained space) with its gradient, both jitted with the model and data
as traced arguments, median of repeated calls after compilation; ``compile`` is
the compilation time of the two (the persistent compilation cache starts
empty). With ``--map``, one ``agnfit.fit`` per row: its wall time and the part
that was compilation.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import CompileTimer, Stopwatch, fresh_compilation_cache, block_time, print_header, run_script, table  # noqa: E402

PIXELS = (1000, 2000, 4000, 8000, 16000)
QUICK_PIXELS = (1000, 4000)


def _kernels():
    import equinox as eqx
    import jax

    from agnfit.plugins.map import loss_fn

    @eqx.filter_jit
    def evaluate(model, data, params):
        return model.fiber_flux(data.wave, params, data.ctx)

    @eqx.filter_jit
    def value_and_grad(model, data, u):
        return jax.value_and_grad(loss_fn(model, data))(u)

    return evaluate, value_and_grad


def measure(spec, cfg, repeat: int, with_map: bool) -> dict:
    """Timings of one (spectrum, config) pair; see the module docstring."""
    import jax.numpy as jnp

    import agnfit
    from agnfit.build import build_model
    from agnfit.plugins.map import start_point
    from agnfit.prepare import prepare

    timer = CompileTimer.install()
    prep = prepare(spec, cfg)
    model = build_model(cfg, prep.rest_range, with_photometry=False, name=spec.name, sampling=prep.sampling)
    data = prep.data
    params = {k: jnp.asarray(v) for k, v in model.init_values().items()}
    u = start_point(model, data)
    evaluate, value_and_grad = _kernels()
    before = timer.snapshot()
    evaluate(model, data, params).block_until_ready()
    value_and_grad(model, data, u)[0].block_until_ready()
    compile_s = CompileTimer.diff(timer.snapshot(), before)["total"]
    row = {"pixels": prep.n_pix, "padded": int(data.wave.shape[0]), "components": len(model.components),
           "params": len(params), "compile": compile_s,
           "eval_ms": 1e3 * block_time(evaluate, model, data, params, repeat=repeat, min_seconds=0.5),
           "vg_ms": 1e3 * block_time(value_and_grad, model, data, u, repeat=repeat, min_seconds=0.5),
           "map_s": float("nan"), "map_compile_s": float("nan"), "map_steps": ""}
    if with_map:
        before = timer.snapshot()
        with Stopwatch() as sw:
            res = agnfit.fit(spec, cfg)
        row["map_s"] = sw.seconds
        row["map_compile_s"] = CompileTimer.diff(timer.snapshot(), before)["total"]
        row["map_steps"] = str(res.diagnostics.get("n_steps", ""))
    return row


def print_rows(title: str, rows: list[dict], first: str, with_map: bool) -> None:
    heads = [first, "padded", "components", "params", "compile [s]", "eval [ms]", "value+grad [ms]",
             "grad/eval"]
    body = [[r["label"], r["padded"], r["components"], r["params"], r["compile"], r["eval_ms"], r["vg_ms"],
             r["vg_ms"] / r["eval_ms"]] for r in rows]
    if with_map:
        heads += ["MAP fit [s]", "of which compile [s]", "MAP steps"]
        for b, r in zip(body, rows):
            b += [r["map_s"], r["map_compile_s"], r["map_steps"]]
    print(f"\n## {title}\n")
    print(table(heads, body), flush=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="1000 and 4000 pixels, 4 component steps, fewer repeats")
    p.add_argument("--pixels", default=None, help="comma-separated pixel counts (default 1000,2000,4000,8000,16000)")
    p.add_argument("--map", action="store_true", help="also time one MAP fit per row (one compilation each)")
    p.add_argument("--repeat", type=int, default=None, help="timed calls per kernel (default 20; quick 5)")
    p.add_argument("--skip-pixels", action="store_true")
    p.add_argument("--skip-components", action="store_true")
    opts = p.parse_args(argv)
    warnings.simplefilter("ignore")
    pixels = [int(x) for x in opts.pixels.split(",")] if opts.pixels else (QUICK_PIXELS if opts.quick else PIXELS)
    repeat = opts.repeat or (5 if opts.quick else 20)
    with_map = opts.map
    fresh_compilation_cache()  # compile times of a first run; the user's cache untouched

    import agnfit
    from benchlib.sim import default_spectra

    cfg = agnfit.default_config()
    print_header("bench_scaling: model cost versus pixels and components",
                 {"model": "full default model", "mode": "quick" if opts.quick else "full"})

    if not opts.skip_pixels:
        rows = []
        for n in pixels:
            spec = default_spectra(1, cfg, seed=7, npix=n)[0]
            r = measure(spec, cfg, repeat, with_map)
            r["label"] = r["pixels"]
            rows.append(r)
            print(f"{n} pixels done", flush=True)
        print_rows("versus pixels (full default model)", rows, "pixels", with_map)

    if not opts.skip_components:
        spec = default_spectra(1, cfg, seed=7)[0]
        full = cfg.to_dict()
        names = list(full["components"])
        steps = names[:1] + names[1:3] + names[-1:] if opts.quick else names
        rows = []
        for i in range(len(steps)):
            sub = dict(full, components={k: full["components"][k] for k in steps[: i + 1]})
            r = measure(spec, agnfit.load_config(sub), repeat, with_map)
            r["label"] = ("+ " if i else "") + steps[i]
            rows.append(r)
            print(f"{r['label']} done", flush=True)
        print_rows(f"versus components ({spec.wave.size}-pixel spectrum, components added in order)", rows,
                   "component added", with_map)
    return 0


if __name__ == "__main__":
    run_script(main)

"""NUTS on the full default model, started from MAP: wall time to r-hat < 1.01 for every parameter,
bulk ESS and ESS per second of the host fraction and the broad Hbeta FWHM.

    python benchmarks/bench_nuts.py                               # full default model, 4 chains
    python benchmarks/bench_nuts.py --quick                       # small model, short chains
    python benchmarks/bench_nuts.py --quick --host                # the same with a two-SSP host
    python benchmarks/bench_nuts.py --ladder 250:250,500:500,1000:1000 --chains 4 --all
    python benchmarks/bench_nuts.py --drop poly --set 'host.ages=[0.1,1,10]'   # another fitted model
    python benchmarks/bench_nuts.py --ladder 200:300 --jitter 0.5 --seed 1 --warm   # timed with the sampler compiled
    python benchmarks/bench_nuts.py --ladder 200:300 --jitter 0.5 --seed 4 --chain-seed 1 --set 'poly.form="linear"'

One spectrum is simulated from the full default model (``benchlib.sim``: a
z ~ 0.15 quasar, host fraction 0.4 at 5100 A, S/N 20, 3841 pixels). It is
fitted with agnfit's staged backend, ``Staged(MAP(), NUTS(num_warmup=W,
num_samples=S, num_chains=4))``, for each rung ``W:S`` of ``--ladder`` in turn,
until a rung reaches max r-hat < 1.01 over all parameters with a bulk ESS of
at least 400 for the host fraction and the broad Hbeta FWHM (``--all`` runs every
rung). agnfit compiles the sampler once per (model structure, settings), so
each rung compiles anew (the persistent compilation cache starts empty); JAX's
monitoring events separate that compilation from the run. The MAP stage is timed on its own beforehand (warm), and the
NUTS time is the staged run minus compilation minus that MAP time.
``--warm`` runs each rung once untimed first and then times the same run (same
keys, same draws) with the sampler compiled, nothing subtracted: the
per-spectrum time of a catalogue fitted with one compiled sampler.

For each rung the table gives the worst split r-hat and the smallest bulk ESS
over all parameters (from the Posterior's diagnostics), the bulk ESS
(``numpyro.diagnostics.effective_sample_size`` of the rank-normalised draws)
of the derived ``host_fraction.5100`` and ``broad_lines.Hb.fwhm``, computed
from every draw with the chains kept apart, their split r-hat and ESS per
second of NUTS time, the chains' adapted step sizes (smallest-largest), and how
many draws per chain the run needed before every parameter's r-hat on the
draws so far fell below 1.01. Two times are printed,
each the MAP + NUTS wall time of the first rung whose full run meets it: r-hat
< 1.01 and ESS >= 400 for the host fraction and the Hbeta FWHM; and that with
r-hat < 1.01 for every parameter as well.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import CompileTimer, Stopwatch, fresh_compilation_cache, print_header, run_script, table  # noqa: E402

RHAT_TARGET = 1.01
ESS_TARGET = 400
DERIVED = ("host_fraction.5100", "broad_lines.Hb.fwhm")

#: the small model of --quick (as in bench_fit): the Hbeta region, 16 parameters
QUICK = {
    "data": {"deredden": False, "wave_range": [4000.0, 5600.0]},
    "components": {
        "power_law": {"type": "power_law", "wave0": 5100.0},
        "feii_optical": {"type": "feii", "template": "bg92_optical"},
        "broad_lines": {"type": "broad_lines", "lines": ["Hg", "Hb"]},
        "narrow_lines": {"type": "narrow_lines", "lines": ["Hb", "OIII_4959", "OIII_5007"]},
    },
    "likelihood": {"frac_jitter": False, "add_jitter": True},
}
#: the two-SSP host that ``--quick --host`` adds (then the host fraction has samples too; NUTS is much slower)
QUICK_HOST = {"type": "host_dsps", "ages": [1.0, 10.0], "logzsol": [0.0]}


def setup(spec, cfg):
    """(model, FitData) of ``spec`` exactly as ``agnfit.fit`` builds them (``agnfit.fit.setup_fit``)."""
    from agnfit.fit import setup_fit

    s = setup_fit(spec, cfg)
    return s.model, s.prep.data


def fitted_config(cfg, opts):
    """``cfg`` with the components of ``--drop`` left out and the component options of ``--set``."""
    import tomllib

    import agnfit

    if not (opts.drop or opts.overrides):
        return cfg
    raw = cfg.to_dict()
    comps = raw["components"]
    unknown = sorted(set(opts.drop) - set(comps))
    if unknown:
        raise SystemExit(f"--drop: no component(s) {unknown}; the model has {sorted(comps)}")
    for name in opts.drop:
        comps.pop(name)
    for item in opts.overrides:
        target, _, text = item.partition("=")
        comp, _, key = target.partition(".")
        if comp not in comps or not key or not text:
            raise SystemExit(f"--set {item!r}: expected COMPONENT.KEY=VALUE with a component of {sorted(comps)}")
        comps[comp][key] = tomllib.loads(f"v = {text}")["v"]
    print(f"fitted model: without {opts.drop or 'nothing'}, with {opts.overrides or 'no changed options'} "
          "(the spectrum: full default model)")
    return agnfit.load_config(raw)


def derived_converged(row: dict) -> bool:
    """r-hat < 1.01 and bulk ESS >= 400 for the host fraction and the broad Hbeta FWHM (those that vary)."""
    sampled = [k for k in DERIVED if np.isfinite(row[f"rhat:{k}"])]
    return bool(sampled) and all(row[f"rhat:{k}"] < RHAT_TARGET and row[f"ess:{k}"] >= ESS_TARGET for k in sampled)


def max_rhat(samples: dict) -> tuple[float, str]:
    """Worst split r-hat over all parameters of (chains, draws) samples (constant sites ignored)."""
    from numpyro.diagnostics import split_gelman_rubin

    worst = (1.0, "")
    for k, v in samples.items():
        x = np.asarray(v, float).reshape(v.shape[0], v.shape[1], -1)
        for i in range(x.shape[2]):
            if np.ptp(x[..., i]) == 0:
                continue
            r = float(split_gelman_rubin(x[..., i]))
            if not np.isfinite(r) or r > worst[0]:
                worst = (r, k)
    return worst


def draws_to_converge(samples: dict, step: int) -> int | None:
    """Smallest prefix (draws per chain, multiple of ``step``) whose r-hat is below the target for every parameter."""
    n = next(iter(samples.values())).shape[1]
    for k in range(max(step, 20), n + 1, step):
        r, _ = max_rhat({name: v[:, :k] for name, v in samples.items()})
        if np.isfinite(r) and r < RHAT_TARGET:
            return k
    return None


def derived_chains(model, data, cfg, z: float, samples: dict) -> dict:
    """The derived quantities of :data:`DERIVED` for every draw, shaped (chains, draws)."""
    from agnfit.core.derived import compute_derived_samples, derived_settings

    c, d = next(iter(samples.values())).shape[:2]
    flat = {k: np.asarray(v).reshape(c * d) for k, v in samples.items()}
    values = compute_derived_samples(model, flat, data, derived_settings(cfg, z))
    return {k: np.asarray(values[k]).reshape(c, d) for k in DERIVED if k in values}


def bulk_ess(x: np.ndarray) -> float:
    from numpyro.diagnostics import effective_sample_size

    from agnfit.plugins.nuts import rank_normalize

    return float(effective_sample_size(rank_normalize(np.asarray(x, float)))) if np.ptp(x) > 0 else float("nan")


def run_rung(model, data, cfg, z, warmup: int, samples: int, opts) -> dict:
    from agnfit.plugins.map import MAP
    from agnfit.plugins.nuts import NUTS
    from agnfit.plugins.staged import Staged

    import jax

    timer = CompileTimer.install()
    nuts = NUTS(num_warmup=warmup, num_samples=samples, num_chains=opts.chains, dense_mass=opts.dense,
                precondition=opts.precondition, chain_method=opts.chain_method, init_jitter=opts.jitter,
                target_accept_prob=opts.target_accept, max_tree_depth=opts.max_tree_depth)
    def staged():
        key = opts.seed if opts.chain_seed is None else opts.chain_seed
        return Staged(MAP(), nuts).run(model, data, jax.random.PRNGKey(key))

    if opts.warm:  # compile (and run) once untimed; the timed run below then compiles nothing
        with Stopwatch() as first:
            staged()
        print(f"rung {warmup}:{samples}: untimed first run (with compilation) {first.seconds:.1f} s", flush=True)
    before = timer.snapshot()
    with Stopwatch() as sw:
        post = staged()
    compile_s = CompileTimer.diff(timer.snapshot(), before)["total"]
    diag = post.diagnostics
    chains = {k: np.asarray(v) for k, v in post.samples.items()}
    worst = max_rhat(chains)
    ess_all = [float(np.nanmin(v)) for v in diag.get("ess_bulk", {}).values() if np.size(v) and np.isfinite(v).any()]
    der = derived_chains(model, data, cfg, z, chains)
    nuts_s = max(sw.seconds - compile_s - opts.map_seconds, 1e-9)
    row = {"warmup": warmup, "samples": samples, "wall": sw.seconds, "compile": compile_s, "nuts": nuts_s,
           "rhat": worst[0], "rhat_param": worst[1], "ess_min": min(ess_all) if ess_all else float("nan"),
           "divergences": int(diag.get("divergences", 0)), "tree": float(diag.get("mean_tree_size", float("nan"))),
           "steps": np.atleast_1d(np.asarray(diag.get("step_size", np.nan), float)),
           "draws_needed": draws_to_converge(chains, max(samples // 20, 10))}
    for k in DERIVED:
        x = der.get(k)
        sampled = x is not None and np.ptp(x) > 0  # e.g. no host: the host fraction is 0 in every draw
        ess = bulk_ess(x) if sampled else float("nan")
        row[f"ess:{k}"] = ess
        row[f"rhat:{k}"] = max_rhat({k: x})[0] if sampled else float("nan")
        row[f"ess_per_s:{k}"] = ess / nuts_s
        row[f"median:{k}"] = float(np.median(x)) if x is not None else float("nan")
    return row


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="small model (16 parameters), 1500 pixels, ladder 100:100,200:200")
    p.add_argument("--host", action="store_true", help="with --quick: add a two-SSP host (20 parameters)")
    p.add_argument("--ladder", default=None,
                   help="comma-separated warmup:samples rungs (default 250:250,500:500,1000:1000)")
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--dense", action="store_true", help="dense mass matrix (default diagonal)")
    p.add_argument("--precondition", default="laplace", choices=("laplace", "none"),
                   help="the coordinates the chains move in (NUTS.precondition)")
    p.add_argument("--jitter", type=float, default=0.01, help="NUTS.init_jitter")
    p.add_argument("--target-accept", type=float, default=0.8, help="NUTS.target_accept_prob")
    p.add_argument("--max-tree-depth", type=int, default=10, help="NUTS.max_tree_depth")
    p.add_argument("--chain-method", default="auto", choices=("auto", "parallel", "sequential", "vectorized"),
                   help="NUTS.chain_method (auto: parallel threads on a CPU)")
    p.add_argument("--all", action="store_true", help="run every rung, not only up to the first that converges")
    p.add_argument("--warm", action="store_true",
                   help="run each rung once untimed first, then time the same run with the sampler compiled "
                        "(the per-spectrum time of a catalogue fitted with one compiled sampler)")
    p.add_argument("--npix", type=int, default=None, help="pixels (default SDSS grid, 3841; quick 1500)")
    p.add_argument("--seed", type=int, default=0, help="the simulated spectrum (and, by default, the chains' key)")
    p.add_argument("--chain-seed", type=int, default=None,
                   help="key of the timed staged fit (MAP, the chains' jitter and NUTS); default --seed")
    p.add_argument("--drop", action="append", default=[], metavar="COMPONENT",
                   help="fit without this component (repeatable); the spectrum is still simulated with it")
    p.add_argument("--set", action="append", default=[], metavar="COMPONENT.KEY=VALUE", dest="overrides",
                   help="fit with this component option (a TOML value, e.g. host.ages=[0.1,1,10]; repeatable)")
    opts = p.parse_args(argv)
    warnings.simplefilter("ignore")
    ladder = [tuple(int(x) for x in r.split(":")) for r in (opts.ladder or ("100:100,200:200" if opts.quick else
                                                                             "250:250,500:500,1000:1000")).split(",")]
    fresh_compilation_cache()  # compile times of a first run; the user's cache untouched
    import jax

    import agnfit
    from agnfit.plugins.map import MAP
    from benchlib.sim import default_spectra

    comps = dict(QUICK["components"])
    if opts.host:  # after the AGN continuum, before the lines
        comps = {k: v for k, v in [*list(comps.items())[:2], ("host", QUICK_HOST), *list(comps.items())[2:]]}
    quick = {**QUICK, "components": comps}
    cfg = agnfit.load_config(quick if opts.quick else None)
    host = " + host" if opts.host else ""
    model_name = f"quick: power law + Fe II{host} + Hbeta/Hgamma lines" if opts.quick else "full default model"
    print_header("bench_nuts: NUTS from MAP, time to r-hat < 1.01 and ESS per second",
                 {"model": model_name,
                  "chains": f"{opts.chains} ({'dense' if opts.dense else 'diagonal'} mass matrix, "
                            f"precondition {opts.precondition}, {opts.chain_method})"})
    spec = default_spectra(1, cfg, seed=opts.seed, npix=opts.npix or (1500 if opts.quick else None))[0]
    cfg = fitted_config(cfg, opts)
    model, data = setup(spec, cfg)
    n_par = len(model.init_values())
    timer = CompileTimer.install()
    with Stopwatch() as sw1:
        MAP().run(model, data, jax.random.PRNGKey(opts.seed))
    c1 = timer.snapshot()["total"]
    with Stopwatch() as sw2:
        mp = MAP().run(model, data, jax.random.PRNGKey(opts.seed))
    opts.map_seconds = sw2.seconds
    print(f"{spec.name}: z = {spec.z:.3f}, {spec.wave.size} pixels, {len(model.components)} components, "
          f"{n_par} parameters")
    print(f"MAP: first run {sw1.seconds:.1f} s (compilation {c1:.1f} s), warm run {sw2.seconds:.2f} s; {mp.message}\n",
          flush=True)

    rows, reached, reached_derived = [], None, None
    for warmup, samples in ladder:
        r = run_rung(model, data, cfg, spec.z, warmup, samples, opts)
        rows.append(r)
        print(f"rung {warmup}:{samples} done: {r['wall']:.1f} s, max r-hat {r['rhat']:.4f}", flush=True)
        converged = derived_converged(r)
        if reached_derived is None and converged:
            reached_derived = r
        if reached is None and converged and r["rhat"] < RHAT_TARGET:
            reached = r
            if not opts.all:
                break
    heads = ["warmup", "samples", "compile [s]", "MAP [s]", "NUTS [s]", "max r-hat", "worst parameter", "min ESS (all)",
             "ESS host_fraction.5100", "ESS Hb.fwhm", "r-hat host / Hb.fwhm", "ESS/s host", "ESS/s Hb.fwhm",
             "divergences", "mean tree", "step sizes", "draws to r-hat<1.01"]
    body = [[r["warmup"], r["samples"], r["compile"], opts.map_seconds, r["nuts"], f"{r['rhat']:.4f}", r["rhat_param"],
             r["ess_min"], r[f"ess:{DERIVED[0]}"], r[f"ess:{DERIVED[1]}"],
             f"{r[f'rhat:{DERIVED[0]}']:.4f} / {r[f'rhat:{DERIVED[1]}']:.4f}", r[f"ess_per_s:{DERIVED[0]}"],
             r[f"ess_per_s:{DERIVED[1]}"], r["divergences"], r["tree"],
             f"{np.min(r['steps']):.3f}-{np.max(r['steps']):.3f}",
             r["draws_needed"] if r["draws_needed"] is not None else f"> {r['samples']}"] for r in rows]
    print()
    print(table(heads, body))
    last = rows[-1]
    print(f"\nposterior medians (last rung): host_fraction.5100 = {last['median:' + DERIVED[0]]:.4g}, "
          f"broad_lines.Hb.fwhm = {last['median:' + DERIVED[1]]:.5g} km/s")
    if reached_derived is not None:
        names = " and ".join(k for k in DERIVED if np.isfinite(reached_derived[f"rhat:{k}"]))
        print(f"time to r-hat < {RHAT_TARGET} and ESS >= {ESS_TARGET} for {names}: "
              f"{opts.map_seconds + reached_derived['nuts']:.1f} s ({reached_derived['warmup']} warmup + "
              f"{reached_derived['samples']} draws)")
    if reached is not None:
        print(f"time to r-hat < {RHAT_TARGET} for all {n_par} parameters and ESS >= {ESS_TARGET} as above: "
              f"{opts.map_seconds + reached['nuts']:.1f} s "
              f"(MAP {opts.map_seconds:.1f} s + NUTS {reached['nuts']:.1f} s, {reached['warmup']} warmup + "
              f"{reached['samples']} draws x {opts.chains} chains; "
              f"compilation {reached['compile']:.1f} s not included)")
    else:
        print(f"no rung reached r-hat < {RHAT_TARGET} for all parameters with ESS >= {ESS_TARGET}: extend --ladder")
    return 0


if __name__ == "__main__":
    run_script(main)

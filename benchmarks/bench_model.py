"""Evaluation time of the full default model on a 4000-pixel spectrum (after compilation).

    python benchmarks/bench_model.py

Prints a table: model, pixels, compile time, evaluation time per call
(median of repeated calls) and the value+gradient time.
"""

from __future__ import annotations

import os
import time

import jax
import jax.numpy as jnp
import numpy as np


def timeit(fn, *args, repeat=200):
    jax.block_until_ready(fn(*args))
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        jax.block_until_ready(fn(*args))
        ts.append(time.perf_counter() - t)
    return float(np.median(ts))


def main():
    import agnfit
    from agnfit.build import build_model
    from agnfit.core.component import EvalContext

    cfg = agnfit.default_config()
    rows = []
    for npix in (1000, 2000, 4000, 8000):
        wave = jnp.asarray(np.geomspace(3800 / 1.1, 9200 / 1.1, npix))
        model = build_model(cfg, (float(wave[0]), float(wave[-1])))
        ctx = EvalContext(wave, jnp.full(npix, 60.0), wave[0], wave[-1], jnp.asarray(60.0))
        params = model.init_values()
        f = jax.jit(lambda p: model.fiber_flux(wave, p, ctx))
        t0 = time.perf_counter()
        jax.block_until_ready(f(params))
        tc = time.perf_counter() - t0
        te = timeit(f, params)
        g = jax.jit(jax.grad(lambda p: jnp.sum(model.fiber_flux(wave, p, ctx) ** 2)))
        tg = timeit(g, params, repeat=50)
        rows.append((npix, len(model.components), len(params), tc, te * 1e3, tg * 1e3))
    print(f"# full default model, {os.cpu_count()} CPU cores, jax {jax.__version__}, {jax.devices()[0].platform}")
    print(f"{'pixels':>7} {'components':>10} {'params':>6} {'compile[s]':>10} {'eval[ms]':>9} {'grad[ms]':>9}")
    for r in rows:
        print(f"{r[0]:7d} {r[1]:10d} {r[2]:6d} {r[3]:10.2f} {r[4]:9.3f} {r[5]:9.3f}")


if __name__ == "__main__":
    main()

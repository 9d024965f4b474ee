"""Evaluation time of the full default model on a 4000-pixel spectrum (after compilation).

    python benchmarks/bench_model.py

A fit evaluates the model hundreds of times on one spectrum: it prepares the
spectrum once (``Model.prepare_context``: the host's window of its
broadening grid transformed, the instrumental resolution at each line
centre) and then evaluates. Prints a table: pixels, compile time, the
evaluation per call (prepared, as in a fit, and unprepared), the one-off
preparation and the value+gradient time. Each figure is the smallest of ten
medians of 300 calls from Python, so it includes the ~10 us dispatch of a
jitted function that a compiled fit loop does not pay.
"""

from __future__ import annotations

import os
import time

import jax
import jax.numpy as jnp
import numpy as np


def timeit(fn, *args, blocks=10, repeat=300):
    """Smallest of ``blocks`` medians of ``repeat`` calls (s): robust to other work on the machine."""
    jax.block_until_ready(fn(*args))
    meds = []
    for _ in range(blocks):
        ts = []
        for _ in range(repeat):
            t = time.perf_counter()
            jax.block_until_ready(fn(*args))
            ts.append(time.perf_counter() - t)
        meds.append(np.median(ts))
    return float(min(meds))


def main():
    from jax.flatten_util import ravel_pytree

    import agnfit
    from agnfit.build import build_model
    from agnfit.core.component import EvalContext, Sampling
    from agnfit.core.data import C_KMS

    cfg = agnfit.default_config()
    rows = []
    for npix in (1000, 2000, 4000, 8000):
        wave = jnp.asarray(np.geomspace(3800 / 1.1, 9200 / 1.1, npix))
        # built for the grid's sampling, as a fit builds it (line profiles on windows of pixels)
        sampling = Sampling(float(C_KMS * np.log(wave[1] / wave[0])), 60.0)
        model = build_model(cfg, (float(wave[0]), float(wave[-1])), sampling=sampling)
        ctx = EvalContext(wave, jnp.full(npix, 60.0), wave[0], wave[-1], jnp.asarray(60.0))
        x, unravel = ravel_pytree(model.init_values())  # one flat vector, as the optimisers pass it
        prep = jax.jit(lambda c: model.prepare_context(c))
        ready = prep(ctx)
        f = jax.jit(lambda v, c: model.fiber_flux(wave, unravel(v), c))
        t0 = time.perf_counter()
        jax.block_until_ready(f(x, ready))
        tc = time.perf_counter() - t0
        te, tu, tp = timeit(f, x, ready), timeit(f, x, ctx), timeit(prep, ctx, blocks=3)
        g = jax.jit(jax.grad(lambda v, c: jnp.sum(model.fiber_flux(wave, unravel(v), c) ** 2)))
        tg = timeit(g, x, ready, blocks=3)
        rows.append((npix, len(model.components), x.size, tc, te * 1e3, tu * 1e3, tp * 1e3, tg * 1e3))
    print(f"# full default model, {os.cpu_count()} CPU cores, jax {jax.__version__}, {jax.devices()[0].platform}")
    print(f"{'pixels':>7} {'components':>10} {'params':>6} {'compile[s]':>10} {'eval[ms]':>9} "
          f"{'unprepared[ms]':>14} {'prepare[ms]':>11} {'grad[ms]':>9}")
    for r in rows:
        print(f"{r[0]:7d} {r[1]:10d} {r[2]:6d} {r[3]:10.2f} {r[4]:9.3f} {r[5]:14.3f} {r[6]:11.3f} {r[7]:9.3f}")


if __name__ == "__main__":
    main()

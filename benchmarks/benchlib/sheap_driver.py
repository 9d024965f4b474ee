"""Fit simulated spectra with sheap, in a separate environment where sheap is installed.

Run by ``benchmarks/bench_sheap.py`` with that environment's interpreter; it
imports only numpy and sheap, never agnfit:

    /tmp/sheap-venv/bin/python benchmarks/benchlib/sheap_driver.py SPECTRA.npz --repeat 1

``SPECTRA.npz`` holds ``wave``, ``flux``, ``err``, ``mask``, ``z`` arrays of shape
(n, pixels) (observed frame). The model asked of sheap mirrors agnfit's default
model as far as its options go: power-law continuum, Fe II template, Balmer
continuum and high-order Balmer lines, MILES host, one broad and one narrow
component per line, over the rest-frame range that every spectrum covers. All
spectra are fitted in one call (sheap fits a batch at once); the call is
repeated; JAX's monitoring events give the compilation time of each call.
The last stdout line is ``RESULT {json}``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import resource
import sys
import time
import traceback

import numpy as np


def union_length(intervals) -> float:
    """Total length covered by (start, end) intervals, overlaps counted once."""
    total, end = 0.0, float("-inf")
    for a, b in sorted(intervals):
        if b > end:
            total += b - max(a, end)
            end = b
    return total


def main(argv=None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("spectra")
    p.add_argument("--repeat", type=int, default=1, help="steady-state calls after the first")
    p.add_argument("--steps", type=int, default=1000, help="optimiser steps of sheap's first fitting stage")
    p.add_argument("--no-host", action="store_true")
    args = p.parse_args(argv)
    out = {"stage": "import"}
    try:
        t0 = time.perf_counter()
        import jax
        import sheap
        from sheap import Sheapectral

        out.update(sheap=getattr(sheap, "__version__", "?"), jax=jax.__version__, import_s=time.perf_counter() - t0)
        spans = []  # (start, end) of tracing / lowering / compiling; nested traces overlap

        def on_duration(event, seconds, **_):
            if event.startswith("/jax/core/compile/") and event.endswith("_duration"):
                end = time.perf_counter()
                spans.append((end - float(seconds), end))

        jax.monitoring.register_event_duration_secs_listener(on_duration)
        out["stage"] = "data"
        with np.load(args.spectra) as f:
            wave, flux, err, mask, z = (np.asarray(f[k], float) for k in ("wave", "flux", "err", "mask", "z"))
        bad = mask < 0.5
        flux, err = np.where(bad, np.nan, flux), np.where(bad, np.nan, err)  # sheap masks NaN pixels
        cube = np.stack([wave, flux, err], axis=1)  # (n, 3, pixels), observed frame
        rest_lo = float(np.max(wave[:, 0] / (1 + z)))
        rest_hi = float(np.min(wave[:, -1] / (1 + z)))
        limits = (np.ceil(rest_lo) + 5.0, np.floor(rest_hi) - 5.0)
        out.update(n=int(len(z)), pixels=int(wave.shape[1]), rest_limits=list(limits))
        calls = []
        for i in range(1 + args.repeat):
            out["stage"] = f"fit call {i}"
            log = io.StringIO()
            t, k0 = time.perf_counter(), len(spans)
            with contextlib.redirect_stdout(log):
                s = Sheapectral(cube, z=z)
                s.makemodel(limits=limits, n_narrow=1, n_broad=1, fe_mode="template", add_balmer_continuum=True,
                            add_balmerhighorder_continuum=True, add_host_miles=not args.no_host)
                s.fitmodel(list_num_steps=[args.steps], list_learning_rate=[1e-2])
                jax.block_until_ready(s.result.params)
            wall = time.perf_counter() - t
            chi2 = np.asarray(getattr(s.result, "chi2_red", np.full(len(z), np.nan)), float)
            calls.append({"wall": wall, "compile": union_length(spans[k0:]),
                          "chi2_red_median": float(np.nanmedian(chi2)),
                          "n_params": int(np.shape(s.result.params)[-1])})
        out.update(calls=calls, rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, stage="done")
        rc = 0
    except Exception as exc:  # report why, whatever it is: this is the point of the driver
        out.update(error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc()[-3000:])
        rc = 1
    print("RESULT " + json.dumps(out), flush=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())

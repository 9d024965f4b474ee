"""Wall-clock and compilation timers, and plain-text tables.

:class:`CompileTimer` listens to JAX's monitoring events, so the time spent
tracing, lowering and compiling (or reading compiled code from the persistent
cache) is measured directly rather than guessed as "first call minus second".
"""

from __future__ import annotations

import time

import numpy as np

#: JAX monitoring events (seconds) that together make up the compilation of a function
TRACE, LOWER, COMPILE = (
    "/jax/core/compile/jaxpr_trace_duration",
    "/jax/core/compile/jaxpr_to_mlir_module_duration",
    "/jax/core/compile/backend_compile_duration",
)
CACHE_HITS, CACHE_MISSES = "/jax/compilation_cache/cache_hits", "/jax/compilation_cache/cache_misses"


class CompileTimer:
    """Wall time JAX spends tracing, lowering and compiling (or reading the persistent cache).

    Register once per process (``CompileTimer.install()``); ``snapshot()`` returns
    the totals so far, and differences of snapshots attribute them to a step.
    Tracing a function that calls another jitted function reports the inner
    trace inside the outer one, so ``total`` is the length of the union of the
    reported intervals, not their sum; ``trace``, ``lower`` and ``compile`` are
    per-kind unions. The backend compile event includes a persistent-cache read.
    """

    _instance: CompileTimer | None = None

    def __init__(self):
        self.intervals = {TRACE: [], LOWER: [], COMPILE: []}
        self.counts = {CACHE_HITS: 0, CACHE_MISSES: 0, COMPILE: 0}

    @classmethod
    def install(cls) -> CompileTimer:
        if cls._instance is None:
            import jax.monitoring as mon

            inst = cls()
            mon.register_event_duration_secs_listener(inst._on_duration)
            mon.register_event_listener(inst._on_event)
            cls._instance = inst
        return cls._instance

    def _on_duration(self, event: str, seconds: float, **_):
        if event in self.intervals:
            end = time.perf_counter()
            self.intervals[event].append((end - float(seconds), end))
        if event == COMPILE:
            self.counts[COMPILE] += 1

    def _on_event(self, event: str, **_):
        if event in self.counts:
            self.counts[event] += 1

    def snapshot(self) -> dict:
        """``trace``, ``lower``, ``compile`` (backend, incl. cache reads) and ``total`` seconds, and counts."""
        iv = self.intervals
        return {
            "trace": union_length(iv[TRACE]), "lower": union_length(iv[LOWER]), "compile": union_length(iv[COMPILE]),
            "total": union_length(iv[TRACE] + iv[LOWER] + iv[COMPILE]),
            "n_compiled": self.counts[COMPILE], "cache_hits": self.counts[CACHE_HITS],
            "cache_misses": self.counts[CACHE_MISSES],
        }

    @staticmethod
    def diff(after: dict, before: dict) -> dict:
        return {k: after[k] - before[k] for k in after}


def union_length(intervals: list[tuple[float, float]]) -> float:
    """Total length covered by (start, end) intervals, overlaps counted once."""
    total, end = 0.0, float("-inf")
    for a, b in sorted(intervals):
        if b <= end:
            continue
        total += b - max(a, end)
        end = b
    return total


class Stopwatch:
    """``with Stopwatch() as sw: ...`` then ``sw.seconds`` (wall clock, perf_counter)."""

    def __enter__(self):
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self._t0
        return False


def median(xs) -> float:
    xs = [x for x in xs if x is not None]
    return float(np.median(xs)) if xs else float("nan")


def block_time(fn, *args, repeat: int = 20, min_seconds: float = 0.0) -> float:
    """Median seconds per call of ``fn(*args)`` after one warm-up call (blocks on JAX results)."""
    import jax

    jax.block_until_ready(fn(*args))
    ts, t_start = [], time.perf_counter()
    while len(ts) < repeat or (time.perf_counter() - t_start) < min_seconds:
        t = time.perf_counter()
        jax.block_until_ready(fn(*args))
        ts.append(time.perf_counter() - t)
        if len(ts) >= 100 * repeat:
            break
    return float(np.median(ts))


def _fmt(v) -> str:
    if isinstance(v, float):
        if v != v:
            return "n/a"
        a = abs(v)
        return f"{v:.3g}" if a < 10 else f"{v:.1f}" if a < 1e4 else f"{v:.3e}"
    return str(v)


def table(headers: list[str], rows: list[list]) -> str:
    """A Markdown table (pastes into RESULTS.md as is), numbers to about three significant digits."""
    cells = [[_fmt(v) for v in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    line = lambda vals: "| " + " | ".join(v.rjust(w) for v, w in zip(vals, widths)) + " |"  # noqa: E731
    out = [line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(r) for r in cells]
    return "\n".join(out)


def run_script(main) -> None:
    """Run a benchmark's ``main()``, print the total wall time and exit with its return code."""
    import sys
    import time

    t0 = time.perf_counter()
    rc = main()
    print(f"\n(total benchmark time {time.perf_counter() - t0:.0f} s)")
    sys.exit(rc)

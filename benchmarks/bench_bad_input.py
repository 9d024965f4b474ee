"""Bad input at every public boundary: a fixed, seeded set of cases, each handled or not.

    AGNFIT_OFFLINE=1 python benchmarks/bench_bad_input.py

Each case feeds one entry point (``Spectrum``, ``Photometry``, ``read_spectrum``,
``load_config``, ``fit``, ``simulate``, ``write_catalogue``) input from one of the
categories of README's "Errors and fallbacks" and records what came back:

==========  ====================================================================
error       a documented agnfit exception (``agnfit.errors``) with a message
fallback    a result with finite values and a stated fallback: an
            ``AgnfitWarning`` or a WARNING line from an ``agnfit`` logger
silent      a result without any warning: the bad input went unnoticed
escaped     any other exception (a bare NumPy/JAX/astropy/OS error)
==========  ====================================================================

A case is *handled* when it ends in ``error`` or ``fallback``; a *silent NaN*
is a result marked good (a converged fit, a validated spectrum) holding NaN.
Prints one table per category, a summary, and the line
``N cases, N handled, 0 silent NaN``; the exit status is 1 when a case is not
handled. Only a few cases run ``fit()``; they share one small configuration
(a power law, MAP), so the model compiles once (plus once with photometry).
"""

from __future__ import annotations

import dataclasses
import io
import logging
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from bad_input_cases import SEED, all_cases



@dataclasses.dataclass
class Case:
    category: str
    name: str
    entry: str
    call: object  # () -> result
    outcome: str = ""
    detail: str = ""
    silent_nan: bool = False


class _Records(logging.Handler):
    """Collects WARNING (and worse) records of the agnfit loggers."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def _has_nan(result) -> bool:
    """NaN in a result that is marked good (see the module docstring)."""
    import agnfit

    if isinstance(result, agnfit.Spectrum):
        return not (np.all(np.isfinite(result.flux)) and np.all(np.isfinite(result.err[result.mask])))
    if isinstance(result, agnfit.Photometry):
        return not np.all(np.isfinite(result.mags[result.valid]))
    if isinstance(result, agnfit.FitResult):
        if not result.converged:
            return False
        vals = [s["median"] for s in result.params.values()] + list(result.point.values())
        return not np.all(np.isfinite(vals)) or not np.all(np.isfinite(result.spectrum["model"]))
    if isinstance(result, tuple):
        return any(_has_nan(r) for r in result if r is not None)
    return False


def run_case(case: Case) -> None:
    """Call ``case.call`` and classify the outcome (mutates ``case``)."""
    from agnfit.errors import AgnfitError, AgnfitWarning

    handler = _Records()
    logger = logging.getLogger("agnfit")
    logger.addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                result = case.call()
            except AgnfitError as exc:
                case.outcome, case.detail = "error", f"{type(exc).__name__}: {exc}"
                return
            except Exception as exc:  # noqa: BLE001 - the point is to catch what escapes
                case.outcome, case.detail = "escaped", f"{type(exc).__name__}: {exc}"
                return
        notes = [str(w.message) for w in caught if issubclass(w.category, AgnfitWarning)] + handler.messages
        case.silent_nan = _has_nan(result)
        case.outcome = "fallback" if notes else "silent"
        case.detail = notes[0] if notes else "no warning"
    finally:
        logger.removeHandler(handler)


# ---------------------------------------------------------------- report


def report(all_cases: list[Case], seconds: float) -> int:
    width = max(len(c.name) for c in all_cases)
    by_cat: dict = {}
    for case in all_cases:
        by_cat.setdefault(case.category, []).append(case)
    for cat, cs in by_cat.items():
        print(f"\n== {cat} ({len(cs)} cases)")
        for case in cs:
            flag = "  SILENT NaN" if case.silent_nan else ""
            detail = " ".join(case.detail.split())
            print(f"  {case.name:<{width}}  {case.entry:<15} {case.outcome:<8}{flag}  {detail[:90]}")
    print(f"\n{'category':<38} cases  error  fallback  silent  escaped  silent NaN")
    for cat, cs in by_cat.items():
        counts = [sum(c.outcome == k for c in cs) for k in ("error", "fallback", "silent", "escaped")]
        print(f"{cat:<38} {len(cs):>5}  {counts[0]:>5}  {counts[1]:>8}  {counts[2]:>6}  {counts[3]:>7}  "
              f"{sum(c.silent_nan for c in cs):>10}")
    n = len(all_cases)
    handled = sum(c.outcome in ("error", "fallback") for c in all_cases)
    silent_nan = sum(c.silent_nan for c in all_cases)
    print(f"\n({seconds:.1f} s, seed {SEED})")
    print(f"{n} cases, {handled} handled, {silent_nan} silent NaN")
    return 0 if handled == n and silent_nan == 0 else 1


def main() -> int:
    os.environ.setdefault("AGNFIT_OFFLINE", "1")
    root = Path(__file__).resolve().parents[1]
    if "AGNFIT_DATA_DIR" not in os.environ and (root.parent / "shared" / "data").is_dir():
        os.environ["AGNFIT_DATA_DIR"] = str(root.parent / "shared" / "data")
    import agnfit  # noqa: F401  (float64 on, before any array is built)

    logging.basicConfig(level=logging.ERROR, stream=io.StringIO())  # records are counted, not printed
    logging.getLogger("agnfit").setLevel(logging.WARNING)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        cases = [Case(*c) for c in all_cases(Path(tmp))]
        for case in cases:
            run_case(case)
    return report(cases, time.perf_counter() - t0)


if __name__ == "__main__":
    sys.exit(main())

"""Compile the programs a fit will need next while it compiles and runs its own.

On a first fit (nothing compiled, empty persistent cache) the fit compiles
its optimisation loop and then, one after the other, the programs that turn
the posterior into a result (derived quantities, model spectra). XLA
compiles one program on one core. :func:`compile_ahead` runs such a program
once in a background thread, on placeholder arguments of the right shapes,
so that it compiles on the other core while the calling thread compiles and
runs the fit; the real call then finds it compiled. It does so only the
first time a (function, argument signature) is seen in the process; later
fits find the program compiled and skip it.

Tracing and lowering a program hold Python's GIL, XLA's compilation does
not. A background call started while the calling thread traces its own
large program would slow that tracing by about as much as it gains, so it
waits until the calling thread has handed a large program to XLA (a
lowering of at least ``LARGE_LOWERING_S``, seen through
:mod:`jax.monitoring`), or until :func:`finish` asks for its result.

Two compilations at once need the memory of both. With XLA's default
options (``AGNFIT_XLA_DEFAULTS=1``) a fit's programs take much more of it
(:mod:`agnfit.core.jit`), so compiling ahead is off then. ``fit_batch``'s
programs do not compile ahead: a batch's first call is amortised over its
members, and its memory is the larger concern.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable
from concurrent.futures import Future, ThreadPoolExecutor

import jax
import numpy as np

from .jit import COMPILER_OPTIONS

log = logging.getLogger(__name__)

#: a lowering at least this long (s) marks a large program handed to XLA
LARGE_LOWERING_S = 0.05
LOWERING_EVENT = "/jax/core/compile/jaxpr_to_mlir_module_duration"

_SEEN: set = set()
_LOCK = threading.Lock()
_POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="agnfit-compile-ahead")
_GATES: dict = {}  # thread id -> Event set when that thread next finishes lowering a large program
_LISTENING = False


def signature(fn: Callable, args: tuple) -> Hashable | None:
    """What a jitted ``fn`` is compiled for: tree structure, array shapes and dtypes, other leaves; None if unhashable."""
    leaves, treedef = jax.tree_util.tree_flatten(args)
    parts = tuple((np.shape(x), str(x.dtype), getattr(x, "weak_type", False)) if hasattr(x, "dtype") else x
                  for x in leaves)
    key = (fn, treedef, parts)
    try:
        hash(key)
    except TypeError:
        return None
    return key


def _on_duration(event: str, seconds: float, **_):
    if event == LOWERING_EVENT and seconds >= LARGE_LOWERING_S:
        gate = _GATES.pop(threading.get_ident(), None)
        if gate is not None:
            gate.set()


def _gate_for_caller() -> threading.Event:
    """The event set when the calling thread next hands a large program to XLA (shared by its pending calls)."""
    global _LISTENING
    with _LOCK:
        if not _LISTENING:
            jax.monitoring.register_event_duration_secs_listener(_on_duration)
            _LISTENING = True
        return _GATES.setdefault(threading.get_ident(), threading.Event())


def _gated(gate: threading.Event, fn: Callable, args: tuple):
    gate.wait()
    return fn(*args)


def compile_ahead(fn: Callable, *args) -> Future | None:
    """``fn(*args)`` in a background thread, the first time this signature is seen; else None.

    ``args`` should make ``fn`` cheap to run (placeholder values, a zero
    iteration cap): the point is the compilation, which fills ``fn``'s cache
    for the real call. The call starts once the calling thread has handed a
    large program to XLA, or when :func:`finish` is called. Hand every
    returned future to :func:`finish`.
    """
    key = signature(fn, args) if COMPILER_OPTIONS else None
    if key is None:
        return None
    with _LOCK:
        if key in _SEEN:
            return None
        _SEEN.add(key)
    gate = _gate_for_caller()
    fut = _POOL.submit(_gated, gate, fn, args)
    fut.gate = gate
    return fut


def finish(ahead: Future | None) -> None:
    """Start :func:`compile_ahead`'s call if it waits still, and wait for it.

    Its failure is logged, not raised (the real call on the same program
    raises it with its context).
    """
    if ahead is None:
        return
    ahead.gate.set()
    try:
        jax.block_until_ready(ahead.result())
    except Exception as err:
        log.debug("compiling ahead failed: %s", err)

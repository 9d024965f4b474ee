"""Compile a fit's next program while the current one compiles and runs.

A staged MAP fit runs two loops of different structure: the continuum
sub-model, then the full model. On a first fit (nothing compiled, empty
persistent cache) each compiles in turn, and XLA compiles one program on one
core. :func:`compile_ahead` starts the full-model loop's compilation in a
background thread (a call with a zero step cap, which compiles exactly the
program the real call uses and then returns at once) while the calling thread
compiles and runs the continuum stage, so the two compilations overlap on two
cores. It does so only the first time a (function, argument signature) is
seen in the process; later fits find the program compiled and skip it.

Two compilations at once need the memory of both: with the lean compiler
options of :mod:`agnfit.core.jit` a cold first fit of the full default model
peaks at about 1.0 GB, with XLA's defaults (``AGNFIT_XLA_DEFAULTS=1``) at
2.7 GB, so compiling ahead is off with XLA's defaults. ``fit_batch``'s
batched programs do not compile ahead: a batch's first call is amortised
over its members, and its memory is the larger concern.
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

_SEEN: set = set()
_LOCK = threading.Lock()
_POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="agnfit-compile-ahead")


def signature(fn: Callable, args: tuple) -> Hashable | None:
    """What a jitted ``fn`` is compiled for: tree structure, array shapes and dtypes, other leaves; None if unhashable."""
    leaves, treedef = jax.tree_util.tree_flatten(args)
    parts = tuple((np.shape(x), str(x.dtype)) if hasattr(x, "dtype") else x for x in leaves)
    key = (fn, treedef, parts)
    try:
        hash(key)
    except TypeError:
        return None
    return key


def compile_ahead(fn: Callable, *args) -> Future | None:
    """``fn(*args)`` in a background thread, the first time this signature is seen; else None.

    ``args`` should make ``fn`` return at once (e.g. a zero iteration cap): the
    point is the compilation, which fills ``fn``'s cache for the real call.
    """
    key = signature(fn, args) if COMPILER_OPTIONS else None
    if key is None:
        return None
    with _LOCK:
        if key in _SEEN:
            return None
        _SEEN.add(key)
    return _POOL.submit(fn, *args)


def finish(ahead: Future | None) -> None:
    """Wait for :func:`compile_ahead`'s call; its failure is logged, not raised (the real call reports it)."""
    if ahead is None:
        return
    try:
        jax.block_until_ready(ahead.result())
    except Exception as err:  # the real call on the same program raises it with its context
        log.debug("compiling ahead failed: %s", err)

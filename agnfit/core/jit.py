"""``fit_jit``: ``eqx.filter_jit`` with the XLA options agnfit's fit programs are compiled with.

A fit program (an optimisation loop, a Hessian, the derived quantities) is
one large XLA module of a thousand or so small operations: slices of the
parameter vector, per-component terms, their transposes. XLA's CPU backend
by default emits each fusion through its newer "fusion emitters" as a
separate LLVM kernel module; for such programs the per-kernel overhead
dominates compilation. With them off (``xla_cpu_use_fusion_emitters=False``)
the full default model's MAP loop compiles in 8 s instead of 14 s and the
compiler's peak memory falls by about 0.9 GB; the compiled loop runs about 7%
slower (``benchmarks/bench_fit.py``). That suits the programs of a single
fit, where compilation is most of a first fit's time and its peak memory.
Programs that run long enough for run time to outweigh compilation (the
batched MAP loop and Hessians of ``fit_batch``, the NUTS sampler) use plain
``eqx.filter_jit`` with XLA's defaults. The option applies to the programs
made with :func:`fit_jit` only, not to the user's other JAX code. On other
backends the CPU option has no effect.

``AGNFIT_XLA_DEFAULTS=1`` compiles with XLA's defaults instead.

Compiler options belong to a top-level program: called inside another
transformation (under ``jit``, ``vmap`` or ``lax.map``, e.g. one member of a
batch) a :func:`fit_jit` function is an ordinary nested ``filter_jit`` and
takes the options of the program it is part of.
"""

from __future__ import annotations

import functools
import os

import equinox as eqx
import jax

#: the options :func:`fit_jit` passes to XLA (``jax.jit(compiler_options=...)``)
COMPILER_OPTIONS = {} if os.environ.get("AGNFIT_XLA_DEFAULTS") == "1" else {"xla_cpu_use_fusion_emitters": False}


def fit_jit(fun=None, **kwargs):
    """``eqx.filter_jit(fun, **kwargs)`` compiled with :data:`COMPILER_OPTIONS`; usable as a bare decorator."""
    if fun is None:
        return lambda f: fit_jit(f, **kwargs)
    nested = eqx.filter_jit(fun, **kwargs)
    if not COMPILER_OPTIONS:
        return nested
    top = eqx.filter_jit(fun, compiler_options=dict(COMPILER_OPTIONS), **kwargs)

    @functools.wraps(fun)
    def call(*args, **kw):
        traced = any(isinstance(x, jax.core.Tracer) for x in jax.tree_util.tree_leaves((args, kw)))
        return (nested if traced else top)(*args, **kw)

    return call

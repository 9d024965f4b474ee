"""Batched fitting: many spectra through one compiled optimisation program.

``fit_batch(spectra, config)`` prepares every spectrum, groups those that
share a model structure (same components and lines in range) and a length
bucket, stacks each group into one batched ``FitData`` and runs the MAP loop
over it in one program (members one after the other on a CPU, vmapped on an
accelerator; see :func:`agnfit.plugins.map._optimize_batch`) and the Laplace
Hessians vmapped, in chunks of ``batch_size`` members (the last chunk is
padded with copies of its last member, which are
discarded, so every chunk has the same shape and the compiled program is
reused). Each object's result is what ``agnfit.fit(spectrum, config,
key=key)`` returns, to round-off.

Backends that are not MAP or MAP + Laplace (NUTS, third-party samplers) are
run object by object, with a log message; NUTS already runs its chains
side by side within one object (``NUTS.chain_method``).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence

import jax
import jax.numpy as jnp

from .config import load_config
from .core.data import Photometry, Spectrum
from .core.result import FitResult
from .errors import AgnfitError, InputError
from .fit import FitSetup, assemble_result, resolve_backend, setup_fit
from .plugins.laplace import Laplace
from .plugins.map import MAP
from .plugins.staged import Staged

log = logging.getLogger(__name__)

#: default number of spectra per chunk (one compiled program per chunk shape)
BATCH_SIZE = 32


def _batched_backend(backend):
    """(kind, backend) with kind "map" or "laplace" when the backend can run batched, else (None, backend)."""
    if isinstance(backend, MAP):
        return "map", backend
    if isinstance(backend, Laplace) and isinstance(backend.start, MAP):
        return "laplace", backend
    if isinstance(backend, Staged) and isinstance(backend.first, MAP) and isinstance(backend.then, Laplace):
        return "staged_laplace", dataclasses.replace(backend.then, start=backend.first)
    return None, backend


def _stack(trees: list):
    return jax.tree_util.tree_map(lambda *xs: jnp.stack(xs), *trees)


def _shape_key(setup: FitSetup) -> tuple:
    leaves = jax.tree_util.tree_leaves(setup.prep.data)
    return (id(setup.model),) + tuple(jnp.shape(x) for x in leaves)


def _run_chunk(kind: str, backend, setups: list[FitSetup], key, batch_size: int) -> list:
    """Posteriors of one chunk (<= batch_size members, padded to batch_size)."""
    n = len(setups)
    padded = setups + [setups[-1]] * (batch_size - n)
    data = _stack([s.prep.data for s in padded])
    model = setups[0].model
    if kind == "map":
        posts = backend.run_batch(model, data, batch_size)
    else:
        k = jax.random.split(key)[1] if kind == "staged_laplace" else key
        posts = backend.run_batch(model, data, batch_size, [k] * batch_size)
        if kind == "staged_laplace":
            posts = [_with_stage(p) for p in posts]
    return posts[:n]


def _with_stage(post):
    """Record the MAP stage the way ``Staged`` does for a one-by-one fit."""
    m = post.diagnostics["map"]
    own = {k: v for k, v in m.items() if k not in ("converged", "message")}
    stage = {"kind": "map", "converged": m["converged"], "message": m["message"], "diagnostics": own}
    return dataclasses.replace(post, diagnostics={**post.diagnostics, "stages": [stage]})


def fit_batch(
    spectra: Sequence[Spectrum],
    config=None,
    photometry: Sequence[Photometry | None] | None = None,
    key=None,
    backend=None,
    batch_size: int = BATCH_SIZE,
) -> list:
    """Fit many spectra; MAP (and Laplace) run batched over groups of spectra sharing a model structure.

    Args:
        spectra: validated :class:`Spectrum` objects.
        config: a Config, dict, TOML path/string, or None (the default model), shared by all.
        photometry: one Photometry (or None) per spectrum; default each spectrum's own when the config lists bands.
        key: PRNG key used for every object, as ``agnfit.fit(..., key=key)`` would (default PRNGKey(0)).
        backend: as in :func:`agnfit.fit`; default the config's stages.
        batch_size: spectra per chunk (the stacked data and results grow linearly with it).

    Returns:
        A list aligned with ``spectra``: a :class:`FitResult` per object, or, for an
        object that could not be prepared (bad input, nothing to fit), the agnfit
        exception, which is also logged. Nothing is dropped silently.
    """
    cfg = load_config(config)
    key = jax.random.PRNGKey(0) if key is None else key
    if batch_size < 1:
        raise InputError(f"batch_size must be >= 1, got {batch_size}")
    if photometry is not None and len(photometry) != len(spectra):
        raise InputError(f"fit_batch: {len(spectra)} spectra but {len(photometry)} photometry entries")
    out: list = [None] * len(spectra)
    groups: dict[tuple, list[int]] = {}
    setups: dict[int, FitSetup] = {}
    for i, spec in enumerate(spectra):
        try:
            if not isinstance(spec, Spectrum):
                raise InputError(f"fit_batch: item {i} is a {type(spec).__name__}, not an agnfit.Spectrum")
            setups[i] = setup_fit(spec, cfg, None if photometry is None else photometry[i])
        except AgnfitError as exc:
            log.error("fit_batch: object %d (%s) skipped: %s", i, getattr(spec, "name", "?"), exc)
            out[i] = exc
            continue
        groups.setdefault(_shape_key(setups[i]), []).append(i)
    kind, be = _batched_backend(resolve_backend(cfg, backend))
    if kind is None:
        log.info("fit_batch: backend %s does not run batched; fitting one object at a time", type(be).__name__)
    for members in groups.values():
        for start in range(0, len(members), batch_size):
            idx = members[start : start + batch_size]
            if kind is None:
                posts = [be.run(setups[i].model, setups[i].prep.data, key, None) for i in idx]
            else:
                posts = _run_chunk(kind, be, [setups[i] for i in idx], key, min(batch_size, len(members)))
            for i, post in zip(idx, posts):
                out[i] = assemble_result(spectra[i], setups[i], post)
    return out


__all__ = ["fit_batch"]

"""The fit pipeline: Spectrum (+ Photometry) + Config -> FitResult.

``fit`` is the one function the CLI, the batch runner and the ``QSOFit``
facade call. Each step is a function call with typed inputs:
prepare -> build_model -> inference backend -> derived -> FitResult.
"""

from __future__ import annotations

import hashlib
import logging
from importlib import metadata
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .build import build_model, build_photometry
from .config import Config, load_config
from .core.checks import checked
from .core.data import Photometry, Spectrum
from .core.ahead import compile_ahead, finish
from .core.derived import (add_black_hole_masses, compile_derived_ahead, compute_derived_samples, derived_settings,
                           summarize)
from .core.jit import fit_jit
from .core.result import SCHEMA_VERSION, FitResult
from .errors import InputError
from .prepare import prepare

log = logging.getLogger(__name__)

MAX_DERIVED_SAMPLES = 2000


def versions() -> dict:
    """Versions of agnfit and of the libraries a result depends on, by package name."""
    out = {}
    for pkg in ("agnfit", "jax", "numpyro", "equinox", "optax", "dsps", "numpy"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "unknown"
    return out


def data_hash(spectrum: Spectrum, photometry: Photometry | None) -> str:
    """sha256 of the input arrays (for resuming and detecting changed inputs)."""
    h = hashlib.sha256()
    for a in (spectrum.wave, spectrum.flux, spectrum.err, spectrum.mask, np.asarray(spectrum.z)):
        h.update(np.ascontiguousarray(a, dtype=float).tobytes())
    if photometry is not None:
        h.update(repr(photometry.bands).encode())
        h.update(np.ascontiguousarray(photometry.mags, float).tobytes())
        h.update(np.ascontiguousarray(photometry.errs, float).tobytes())
    return h.hexdigest()


def resolve_backend(config: Config, backend=None):
    """The backend object: given, a familiar string ("optax+nuts"), or the config's stages."""
    from .plugins.staged import backend_from_config, backend_from_string

    if backend is None:
        return backend_from_config(config.inference)
    if isinstance(backend, str):
        return backend_from_string(backend)
    return backend


def _thin(samples: dict, n_max: int) -> dict:
    flat = {k: np.reshape(np.asarray(v), (-1,)) for k, v in samples.items()}
    n = next(iter(flat.values())).size
    if n <= n_max:
        return flat
    idx = np.linspace(0, n - 1, n_max).astype(int)
    return {k: v[idx] for k, v in flat.items()}


@fit_jit
def _component_fluxes(model, params: dict, data):
    return model.component_fluxes(data.wave, params, data.ctx)


@fit_jit
def _synthetic_mags(model, params: dict, data):
    return model.synthetic_mags(params, data)


def model_spectra(model, params: dict, prep) -> dict:
    """Data and model arrays (flux units of the input, dereddened) on the fitted pixels."""
    d, n = prep.data, prep.n_pix
    scale = float(d.flux_scale) / prep.flux_unit
    comps = _component_fluxes(model, {k: jnp.asarray(v) for k, v in params.items()}, d)
    out = {
        "wave_rest": np.asarray(d.wave)[:n],
        "wave": np.asarray(d.wave)[:n] * (1.0 + float(d.z)),
        "flux": np.asarray(d.flux)[:n] * scale,
        "err": np.asarray(d.err)[:n] * scale,
        "mask": np.asarray(d.mask)[:n] > 0,
        "model": np.asarray(model.combine({k: np.asarray(v) for k, v in comps.items()}))[:n] * scale,
    }
    for c in model.components:
        f = np.asarray(comps[c.name])[:n]
        out[f"component:{c.name}"] = f if c.operation == "multiply" else f * scale
    return out


def photometry_arrays(model, params: dict, prep, phot: Photometry | None) -> dict:
    """Observed and model PSF magnitudes (AB mag), errors, kept-band mask and effective wavelengths (A); {} without photometry."""
    if model.photsys is None:
        return {}
    d = prep.data
    p = {k: jnp.asarray(v) for k, v in params.items()}
    mags = np.asarray(_synthetic_mags(model, p, d))
    kept = np.asarray(d.phot_mask) > 0
    obs, err = _reported_mags(prep.bands, kept, d, phot)
    return {
        "bands": list(prep.bands),
        "kept": kept,
        "mag_obs": obs,
        "mag_err": err,
        "mag_model": mags,
        "wave_eff": np.asarray(getattr(model.photsys, "effective_wave", np.full(len(prep.bands), np.nan))),
    }


def _reported_mags(bands, kept, data, phot: Photometry | None):
    """Observed magnitudes and errors (AB mag) to report per band.

    Kept bands: what was fitted. Dropped bands (reason in ``info["dropped_bands"]``):
    the catalogue value when it is a plausible magnitude (5-40 mag, positive
    error), else NaN; never the placeholder the fit carries for them.
    """
    obs = np.where(kept, np.asarray(data.phot_mag, float), np.nan)
    err = np.where(kept, np.asarray(data.phot_err, float), np.nan)
    if phot is not None:
        given = {b: (float(m), float(e)) for b, m, e in zip(phot.bands, np.asarray(phot.mags), np.asarray(phot.errs))}
        for i, b in enumerate(bands):
            m, e = given.get(b, (np.nan, np.nan))
            if not kept[i] and 5.0 < m < 40.0 and 0.0 < e < np.inf:
                obs[i], err[i] = m, e
    return obs, err


@checked(hint="Pass an agnfit.Spectrum (agnfit.read_spectrum reads files and arrays) and an agnfit.Photometry or None")
def fit(spectrum: Spectrum, config=None, photometry: Photometry | None = None, key=None, backend=None) -> FitResult:
    """Fit one spectrum (and its photometry, if the config lists bands).

    Args:
        spectrum: a validated :class:`Spectrum`.
        config: a :class:`Config`, dict, TOML path/string, or None for the default.
        photometry: PSF photometry; defaults to ``spectrum.photometry`` when the
            config lists bands.
        key: a ``jax.random.PRNGKey`` (samplers); default PRNGKey(0).
        backend: an inference backend object or a familiar string
            ("optax", "optax+nuts"); default: the config's [[inference]] stages.
    """
    if not isinstance(spectrum, Spectrum):
        raise InputError(f"fit() needs an agnfit.Spectrum, got {type(spectrum).__name__}; use agnfit.read_spectrum")
    cfg = load_config(config)
    key = jax.random.PRNGKey(0) if key is None else key
    setup = setup_fit(spectrum, cfg, photometry)
    backend = resolve_backend(cfg, backend)
    ahead = compile_results_ahead(setup, backend, spectrum.z)
    try:
        post = backend.run(setup.model, setup.prep.data, key, None)
    finally:
        for fut in ahead:
            finish(fut)
    return assemble_result(spectrum, setup, post)


def compile_results_ahead(setup: "FitSetup", backend, z: float) -> list:
    """Start compiling the programs :func:`assemble_result` runs, in the background, while ``backend`` fits.

    Only when the backend knows its number of draws in advance
    (:meth:`~agnfit.core.inference.AbstractInference.draws`); the futures
    go to :func:`~agnfit.core.ahead.finish` before the result is assembled.
    """
    n = backend.draws()
    if n is None:
        return []
    model, data = setup.model, setup.prep.data
    names = list(model.latent_priors())
    point = {k: jnp.asarray(np.float64(1.0)) for k in names}  # placeholders with the point's types
    settings = derived_settings(setup.cfg, z)
    futures = [compile_derived_ahead(model, names, min(n, MAX_DERIVED_SAMPLES), data, settings),
               compile_ahead(_component_fluxes, model, point, data)]
    if model.photsys is not None:
        futures.append(compile_ahead(_synthetic_mags, model, point, data))
    return futures


class FitSetup(NamedTuple):
    """What a fit needs besides the inference: config, photometry, prepared data and model."""

    cfg: Config
    phot: Photometry | None
    prep: object
    model: object


def setup_fit(spectrum: Spectrum, cfg: Config, photometry: Photometry | None = None) -> FitSetup:
    """Prepare ``spectrum`` (and its photometry, if the config lists bands) and build its model."""
    bands = tuple(cfg.photometry["bands"])
    phot = photometry if photometry is not None else (spectrum.photometry if bands else None)
    photsys = build_photometry(cfg)[1] if bands else None
    prep = prepare(spectrum, cfg, phot, photsys)
    with_phot = bool(bands) and bool(np.asarray(prep.data.phot_mask).sum() > 0)
    model = build_model(cfg, prep.rest_range, with_photometry=with_phot, name=spectrum.name, sampling=prep.sampling)
    return FitSetup(cfg, phot, prep, model)


def assemble_result(spectrum: Spectrum, setup: FitSetup, post) -> FitResult:
    """Derived quantities, model spectra and bookkeeping of one fit, as a :class:`FitResult`."""
    cfg, phot, prep, model = setup
    problems = post.check()
    settings = derived_settings(cfg, spectrum.z)
    thinned = _thin(post.samples, MAX_DERIVED_SAMPLES)
    values = compute_derived_samples(model, thinned, prep.data, settings)
    values = add_black_hole_masses(values, model, settings, cfg)
    spec = model_spectra(model, post.point, prep)
    good = spec["mask"]
    resid = (spec["flux"] - spec["model"])[good] / spec["err"][good]
    info = {
        "z": spectrum.z, "ra": spectrum.ra if spectrum.ra is not None else np.nan,
        "dec": spectrum.dec if spectrum.dec is not None else np.nan,
        "ebv": prep.ebv, "ebv_source": prep.ebv_source,
        "flux_scale": float(prep.data.flux_scale), "flux_unit": spectrum.flux_unit,
        "backend": post.kind, "converged": bool(post.converged and not problems), "message": post.message,
        "problems": "; ".join(problems), "n_pix": int(good.sum()),
        "chi2_reduced": float(np.sum(resid**2) / max(good.sum() - len(post.point), 1)),
        "data_hash": data_hash(spectrum, phot), "schema_version": SCHEMA_VERSION,
        "components": [c.name for c in model.components],
        "dropped_components": [n for n in cfg.components if n not in {c.name for c in model.components}],
        "dropped_bands": dict(prep.dropped_bands), "kept_bands": list(prep.kept_bands),
        "versions": versions(),
    }
    return FitResult(
        name=spectrum.name, config=cfg.to_dict(), info=info,
        params=summarize({k: np.reshape(np.asarray(v), (-1,)) for k, v in post.samples.items()}),
        point={k: float(np.asarray(v)) for k, v in post.point.items()},
        samples={k: np.asarray(v) for k, v in post.samples.items()},
        derived=summarize(values), derived_samples=values, diagnostics=post.diagnostics,
        spectrum=spec, photometry=photometry_arrays(model, post.point, prep, phot),
    )

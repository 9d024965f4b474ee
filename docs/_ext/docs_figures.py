"""Figures of the documentation, drawn at build time from simulated spectra (no fitting).

A spectrum and its ugriz PSF photometry are simulated with :func:`agnfit.simulate`
machinery from known parameters of the default model, and the *true* component
decomposition is drawn with :mod:`agnfit.plotting`, the same code that draws a
fit's figures. Nothing is compiled or optimised, so this takes a few seconds.
"""

from __future__ import annotations

from pathlib import Path

import equinox as eqx
import numpy as np

#: redshift and ugriz bands of the simulated object
Z = 0.1
BANDS = tuple(f"sdss2010-{b}" for b in "ugriz")

#: true parameters (flux parameters in 1e-17 erg/s/cm^2/A, or that times A for integrated fluxes)
TRUTH = {
    "power_law.norm": 16.0,
    "power_law.alpha": -1.6,
    "feii_optical.norm": 5000.0,
    "feii_optical.fwhm": 2500.0,
    "balmer_continuum.norm": 3.0,
    "host.w_3": 4.0,
    "host.w_9": 5.0,
    "host.w_13": 3.0,
    "host.sigma": 160.0,
    "broad_lines.Hb_flux": 900.0,
    "broad_lines.Hb_fwhm": 3800.0,
    "broad_lines.Ha_flux": 3200.0,
    "broad_lines.Ha_fwhm": 3500.0,
    "broad_lines.Hg_flux": 350.0,
    "broad_lines.Hg_fwhm": 3800.0,
    "narrow_lines.OIII_5007_flux": 400.0,
    "narrow_lines.Hb_flux": 60.0,
    "narrow_lines.Ha_flux": 200.0,
    "narrow_lines.NII_6583_flux": 150.0,
    "narrow_lines.Hb_fwhm": 350.0,
    "narrow_lines.Ha_fwhm": 350.0,
    "poly.c_1": 0.03,
    "psf.eta": 0.35,
    "psf.delta_m": 0.05,
}


@eqx.filter_jit
def _component_fluxes(model, wave, params, ctx):
    return model.component_fluxes(wave, params, ctx)


@eqx.filter_jit
def _synthetic_mags(model, params, data):
    return model.synthetic_mags(params, data)


@eqx.filter_jit
def _psf_components(model, rest, params, ctx):
    """Each point/extended component as seen in the PSF aperture (aperture model applied alone)."""
    from agnfit.core.names import local_params

    ap = local_params(model.aperture.name, params)
    out = {}
    for c in model.components:
        if c.operation == "add" and c.morphology != "fiber":
            f = c(rest, local_params(c.name, params), ctx)
            out[c.name] = model.aperture({c.name: f[None]}, {c.name: c.morphology}, ap)[0]
    return out


def _simulated_result():
    """A FitResult-shaped record holding the simulated data and the true decomposition."""
    import jax.numpy as jnp

    from agnfit import FitResult, Photometry
    from agnfit.config import default_config_dict
    from agnfit.core.component import EvalContext
    from agnfit.core.data import FitData
    from agnfit.simulate import Observation, true_model

    raw = default_config_dict()
    raw["photometry"]["bands"] = list(BANDS)
    del raw["components"]["feii_uv"]  # nothing of it in this rest range worth drawing
    raw["components"]["host"]["weights"] = "independent"  # the truth below names three SSPs' weights
    obs = Observation(z=Z, snr=25.0, seed=3, name="simulated quasar + host")
    cfg, model = true_model(raw, obs, with_photometry=True)
    # start from the model's starting point with every line flux and host weight off, then set the truth
    params = {**model.fixed_values(), **model.init_values()}
    params.update({k: jnp.asarray(0.0) for k in params if k.endswith("_flux") or k.startswith("host.w_")})
    params.update({k: jnp.asarray(v) for k, v in TRUTH.items()})
    wave = obs.grid()
    rest = wave / (1.0 + Z)
    ctx = EvalContext(jnp.asarray(rest), jnp.full(rest.size, obs.lsf_sigma_kms), jnp.asarray(rest[0]), jnp.asarray(rest[-1]))
    comps = {k: np.asarray(v) for k, v in _component_fluxes(model, jnp.asarray(rest), params, ctx).items()}
    total = np.asarray(model.combine(comps))
    rng = np.random.default_rng(obs.seed)
    err = np.median(total) / obs.snr * np.sqrt(np.clip(total / np.median(total), 0.3, None))
    flux = total + rng.normal(0.0, 1.0, total.size) * err
    spectrum = {"wave": wave, "wave_rest": rest, "flux": flux, "err": err, "mask": np.ones(wave.size, bool), "model": total}
    spectrum.update({f"component:{k}": v for k, v in comps.items()})

    nb = len(BANDS)
    data = FitData(jnp.asarray(rest), jnp.asarray(total), jnp.asarray(err), jnp.ones(rest.size), jnp.asarray(Z),
                   jnp.asarray(obs.flux_unit), jnp.asarray(0.0), ctx, jnp.zeros(nb), jnp.ones(nb), jnp.ones(nb))
    mags = np.asarray(_synthetic_mags(model, params, data))
    phot = Photometry(BANDS, mags + rng.normal(0.0, obs.mag_err, nb), np.full(nb, obs.mag_err))
    psf_wave = np.linspace(3000.0, 11000.0, 1200)
    psf_rest = jnp.asarray(psf_wave / (1.0 + Z))
    photometry = {"bands": list(BANDS), "kept": np.ones(nb, bool), "mag_obs": phot.mags, "mag_err": phot.errs,
                  "mag_model": mags, "wave_eff": np.asarray(model.photsys.effective_wave), "psf_wave": psf_wave}
    parts = {k: np.asarray(v) for k, v in _psf_components(model, psf_rest, params, ctx).items()}
    photometry.update({f"psf_component:{k}": v for k, v in parts.items()})
    photometry["psf_model"] = sum(parts.values())
    info = {"z": Z, "flux_unit": obs.flux_unit, "converged": True, "message": "simulated (truth)"}
    return FitResult(
        name=obs.name, config=cfg.to_dict(), info=info, params={}, point={}, samples={},
        derived={}, derived_samples={}, diagnostics={}, spectrum=spectrum, photometry=photometry,
    )


def make_figures(out_dir: Path) -> list[Path]:
    """Write ``decomposition_spectrum.png`` and ``decomposition_psf.png`` into ``out_dir``."""
    from agnfit.plotting import PlotOptions, plot_result

    out_dir.mkdir(parents=True, exist_ok=True)
    opts = PlotOptions(formats=("png",), dpi=90)
    return plot_result(_simulated_result(), out_dir / "decomposition", kinds=("spectrum", "psf"), options=opts)

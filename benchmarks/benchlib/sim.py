"""Simulated SDSS-like quasar spectra of the full default model, with realistic truth values.

The truth is a z ~ 0.15 type-1 quasar: a power law with alpha = -1.5, optical
Fe II with R_FeII ~ 0.6, a weak Balmer continuum, a 10 Gyr solar host giving
``host_fraction`` of the continuum at 5100 A, broad Balmer and He lines with
Hbeta FWHM 4500 km/s, the usual narrow lines and no calibration distortion.
Amplitudes are in 1e-17 erg/s/cm^2/A (x A for line and Fe II fluxes), close
to a g ~ 18.5 SDSS quasar. Each object gets its own redshift, noise, and a
few per cent scatter of the amplitudes and widths, so no two spectra are equal.
"""

from __future__ import annotations

import numpy as np

#: truth of the full default model (full parameter names); others take their prior medians
BASE_TRUTH = {
    "power_law.norm": 30.0, "power_law.alpha": -1.5,
    "feii_uv.norm": 400.0, "feii_uv.fwhm": 3500.0, "feii_uv.dv": 0.0,
    "feii_optical.norm": 1500.0, "feii_optical.fwhm": 3500.0, "feii_optical.dv": 0.0,
    "balmer_continuum.norm": 4.0, "balmer_continuum.fwhm": 4500.0, "balmer_continuum.dv": 0.0,
    "balmer_continuum.tau": 1.0,
    "host.sigma": 180.0, "host.dv": 0.0,
    "broad_lines.Hd_flux": 250.0, "broad_lines.Hd_fwhm": 4500.0, "broad_lines.Hd_dv": 0.0,
    "broad_lines.Hg_flux": 550.0, "broad_lines.Hg_fwhm": 4500.0, "broad_lines.Hg_dv": 0.0,
    "broad_lines.HeII_4686_flux": 80.0, "broad_lines.HeII_4686_fwhm": 6000.0, "broad_lines.HeII_4686_dv": 0.0,
    "broad_lines.Hb_flux": 1400.0, "broad_lines.Hb_fwhm": 4500.0, "broad_lines.Hb_dv": 150.0,
    "broad_lines.HeI_5876_flux": 120.0, "broad_lines.HeI_5876_fwhm": 4500.0, "broad_lines.HeI_5876_dv": 0.0,
    "broad_lines.Ha_flux": 4500.0, "broad_lines.Ha_fwhm": 4000.0, "broad_lines.Ha_dv": 100.0,
    "narrow_lines.OII_3727_flux": 80.0, "narrow_lines.OII_fwhm": 450.0, "narrow_lines.OII_dv": 0.0,
    "narrow_lines.NeIII_3869_flux": 35.0, "narrow_lines.NeIII_fwhm": 450.0, "narrow_lines.NeIII_dv": 0.0,
    "narrow_lines.Hd_flux": 12.0, "narrow_lines.Hd_fwhm": 400.0, "narrow_lines.Hd_dv": 0.0,
    "narrow_lines.Hg_flux": 25.0, "narrow_lines.Hg_fwhm": 400.0, "narrow_lines.Hg_dv": 0.0,
    "narrow_lines.OIII_4363_flux": 8.0,
    "narrow_lines.Hb_flux": 60.0, "narrow_lines.Hb_fwhm": 400.0, "narrow_lines.Hb_dv": -20.0,
    "narrow_lines.OIII_5007_flux": 500.0,
    "narrow_lines.OI_6300_flux": 30.0, "narrow_lines.OI_fwhm": 400.0, "narrow_lines.OI_dv": 0.0,
    "narrow_lines.Ha_flux": 200.0, "narrow_lines.Ha_fwhm": 400.0, "narrow_lines.Ha_dv": 0.0,
    "narrow_lines.shared_fwhm": 400.0, "narrow_lines.shared_dv": 0.0,  # with shared_kinematics (the default config)
    "narrow_lines.NII_6583_flux": 150.0, "narrow_lines.SII_6716_flux": 60.0, "narrow_lines.SII_6731_flux": 50.0,
    "poly.c_1": 0.0, "poly.c_2": 0.0, "poly.c_3": 0.0,
}

#: amplitude-like parameters that get a per-object scatter
_SCATTERED = ("norm", "_flux", "fwhm", "sigma")


def truth_for(model, rng: np.random.Generator | None = None, host_fraction: float = 0.4,
              scatter: float = 0.05) -> dict:
    """Truth values for ``model`` (only its parameters), with the host at ``host_fraction`` of 5100 A.

    The old solar-metallicity SSP carries the host; the other weights stay at 0
    (``model``'s host has independent weights, :func:`independent_host`).
    ``scatter`` is the fractional log-normal spread of amplitudes and widths.
    """
    import jax.numpy as jnp

    from agnfit.core.component import EvalContext
    from agnfit.core.names import local_params

    names = set(model.init_values())
    truth = {k: v for k, v in BASE_TRUTH.items() if k in names}
    if rng is not None and scatter > 0:
        for k in truth:
            if k.endswith(_SCATTERED):
                truth[k] *= float(np.exp(rng.normal(0.0, scatter)))
    comps = {c.name: c for c in model.components}
    if "host" not in comps:
        return truth
    grid = comps["host"].template_grid()
    old = min(range(len(grid)), key=lambda i: (abs(grid[i][0] - 10.0), abs(grid[i][1])))
    for i in range(len(grid)):
        truth[f"host.w_{i}"] = 0.0
    ctx = EvalContext.constant(60.0, 3000.0, 9000.0)
    w = jnp.array([5100.0])
    full = {**model.init_values(), **truth}
    agn = sum(float(comps[n](w, local_params(n, full), ctx)[0])
              for n in ("power_law", "feii_uv", "feii_optical", "balmer_continuum") if n in comps)
    truth[f"host.w_{old}"] = host_fraction / (1.0 - host_fraction) * agn
    return truth


def independent_host(cfg):
    """``cfg`` with its ``host_dsps`` hosts' weights as independent parameters (the truth's parametrisation).

    The truth puts all host light in one SSP, which the default logistic-normal
    fractions cannot represent exactly; the spectra are simulated with
    independent weights and fitted with whatever ``cfg`` says.
    """
    import agnfit

    raw = cfg.to_dict()
    hosts = [c for c in raw.get("components", {}).values() if c.get("type") == "host_dsps"]
    for c in hosts:
        c["weights"] = "independent"
    return agnfit.load_config(raw) if hosts else cfg


def default_spectra(n: int, config=None, seed: int = 0, npix: int | None = None, snr: float = 20.0) -> list:
    """``n`` simulated spectra (agnfit.Spectrum) of ``config`` (default: the full default model).

    Redshifts are drawn in 0.12-0.18 (Hbeta and Halpha inside 3800-9200 A); ``npix``
    resamples the observed 3800-9200 A grid log-uniformly (default: SDSS 69 km/s pixels,
    3841 pixels).
    """
    import agnfit
    from agnfit.simulate import true_model

    cfg = independent_host(agnfit.load_config(config))
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        z = float(rng.uniform(0.12, 0.18))
        wave = np.geomspace(3800.0, 9200.0, npix) if npix else None
        obs = agnfit.Observation(z=z, wave=wave, snr=snr, seed=seed * 100003 + i, name=f"sim{i:05d}")
        _, model = true_model(cfg, obs)
        spec, _ = agnfit.simulate(cfg, truth_for(model, rng), obs)
        out.append(spec)
    return out


def to_arrays(spectra) -> dict:
    """Spectra as plain arrays for another process (``from_arrays`` rebuilds them)."""
    return {
        "wave": np.stack([s.wave for s in spectra]), "flux": np.stack([s.flux for s in spectra]),
        "err": np.stack([s.err for s in spectra]), "mask": np.stack([np.asarray(s.mask) for s in spectra]),
        "z": np.array([s.z for s in spectra]), "name": np.array([s.name for s in spectra]),
    }


def from_arrays(arrays: dict) -> list:
    """agnfit.Spectrum objects from :func:`to_arrays` output (E(B-V) = 0, 60 km/s LSF, 1e-17 units)."""
    import agnfit

    return [
        agnfit.Spectrum(arrays["wave"][i], arrays["flux"][i], arrays["err"][i], float(arrays["z"][i]),
                        mask=arrays["mask"][i].astype(bool), lsf_sigma_kms=60.0, ebv=0.0, flux_unit=1e-17,
                        name=str(arrays["name"][i]))
        for i in range(len(arrays["z"]))
    ]

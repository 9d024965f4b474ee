"""The ``QSOFit.fit`` keyword table: names and defaults from ``agnfit.qsofit.FitOptions``.

The config equivalent of each keyword is written here by hand (it is the logic
of ``agnfit.qsofit.config_from_kwargs``); a keyword without an entry, or an
entry for a keyword that no longer exists, is reported as a Sphinx warning, so
a build with ``-W`` fails until this table is brought up to date.
"""

from __future__ import annotations

import dataclasses

from registry_doc import cell_value, table

#: keyword -> config equivalent (Markdown)
EQUIVALENT = {
    "deredden": "`data.deredden`",
    "fit_method": '`[[inference]]` stages: `"optax"` → `map`; `"optax+nuts"` → `map`, then `nuts`; '
                  '`"optax+laplace"` → `map`, then `laplace`',
    "fit_lines": "`[components.broad_lines]` (`broad_lines`) and `[components.narrow_lines]` (`narrow_lines`) present",
    "decompose_host": "`[components.host]` (`host_dsps`) present",
    "fit_fe": "`[components.feii_uv]` (`feii`, `vw01_uv`) and `[components.feii_optical]` (`feii`, `bg92_optical`) present",
    "fit_bc": "`[components.balmer_continuum]` present",
    "fit_poly": "`[components.poly]` (`legendre_poly`, degree 3) present",
    "fsps_age_grid": "`components.host.ages` (Gyr)",
    "fsps_logzsol_grid": "`components.host.logzsol`",
    "prior_config": "`[priors]` and line options, see the table below",
    "dsps_ssp_fn": "`components.host.ssp_file`",
    "optax_steps": "`max_steps` of the `map` stage",
    "optax_lr": '`optimizer = "adam"` and `learning_rate` of the `map` stage (the familiar first-order optimiser)',
    "nuts_warmup": "`num_warmup` of the `nuts` stage",
    "nuts_samples": "`num_samples` of the `nuts` stage",
    "nuts_chains": "`num_chains` of the `nuts` stage",
    "plot_fig": "draw the figures (they are written to `output_path` only with `save_fig`)",
    "save_fig": "write the figures as PNG and PDF to `output_path` (`agnfit.plotting.plot_result`)",
    "save_result": "write `<output_path>/<filename>.h5` (`FitResult.save`)",
    "use_psf_phot": "fit the PSF photometry: `photometry.bands` = `psf_bands`, aperture `eta_delta_m`",
    "psf_mags": "the magnitudes of `agnfit.Photometry` (AB)",
    "psf_mag_errs": "their 1σ errors (mag)",
    "psf_bands": "`photometry.bands`; default the first `len(psf_mags)` of SDSS ugriz (`sdss2010-u` ...)",
    "kwargs_plot": "keyword arguments of `QSOFit.plot_fig` (`plot_residual`, `plot_psf_space`)",
}

#: prior_config key -> config equivalent (Markdown)
PRIOR_EQUIVALENT = {
    "flux_median": "recorded only: amplitudes are in units of the median absolute flux",
    "PL_slope": '`"power_law.alpha" = {dist = "Normal", loc, scale}`',
    "log_Fe_uv_norm": '`"feii_uv.norm" = {dist = "LogNormal", loc, scale}`',
    "log_Fe_op_over_uv": '`"feii_optical.norm"`: LogNormal with loc = uv.loc + loc and scale = hypot(uv.scale, scale)',
    "line_dmu_scale_mult": "multiplies `dv_max` of both line components (3000 and 1000 km/s)",
    "line_sig_scale_mult": "multiplies the upper `fwhm_range` bound of both line components (20000 and 1000 km/s)",
    "line_amp_scale_mult": "multiplies `flux_scale` of both line components (200 and 50)",
    "frac_jitter_scale": '`"noise.frac_jitter" = {dist = "HalfNormal", scale}`',
    "add_jitter_scale": '`"noise.add_jitter" = {dist = "HalfNormal", scale}`',
}


def _warn(message: str) -> None:
    from sphinx.util import logging

    logging.getLogger(__name__).warning(message)


def _check(documented: dict, actual: list, what: str) -> None:
    for k in actual:
        if k not in documented:
            _warn(f"docs/_ext/qsofit_doc.py: {what} {k!r} has no config equivalent documented")
    for k in documented:
        if k not in actual:
            _warn(f"docs/_ext/qsofit_doc.py: documents {what} {k!r}, which no longer exists")


def keywords_markdown() -> str:
    """Table of ``QSOFit.fit`` keywords: default and config equivalent."""
    from agnfit.qsofit import FitOptions

    fields = dataclasses.fields(FitOptions)
    _check(EQUIVALENT, [f.name for f in fields], "QSOFit.fit keyword")
    rows = [[f"`{f.name}`", cell_value(f.default), EQUIVALENT.get(f.name, "")] for f in fields]
    return "\n".join(table(["keyword", "default", "config equivalent"], rows))


def _rounded(v):
    if isinstance(v, float):
        return round(v, 4)
    if isinstance(v, dict):
        return {k: _rounded(x) for k, x in v.items()}
    return v


def prior_config_markdown() -> str:
    """Table of ``prior_config`` keys: default and config equivalent."""
    from agnfit.qsofit import build_default_prior_config

    defaults = build_default_prior_config([1.0])
    _check(PRIOR_EQUIVALENT, list(defaults), "prior_config key")
    rows = []
    for k, v in defaults.items():
        shown = "median \\|flux\\|" if k == "flux_median" else cell_value(_rounded(v))
        rows.append([f"`{k}`", shown, PRIOR_EQUIVALENT.get(k, "")])
    return "\n".join(table(["key", "default", "config equivalent"], rows))

"""The familiar notebook call sequence on the SDSS example spectrum.

Both fits of the tutorial: fiber only, then with the SDSS ugriz PSF
photometry; every keyword argument of the familiar API is used.
"""

import numpy as np
import pytest

import agnfit
from agnfit.errors import ConfigError


@pytest.fixture(scope="module")
def sdss(data_dir):
    return agnfit.read_spectrum("sdss/spec-0332-52367-0639.fits")


@pytest.fixture(scope="module")
def fits(sdss, tmp_path_factory):
    out = tmp_path_factory.mktemp("qsofit")
    err = np.where(sdss.mask, sdss.err, np.inf)
    q = agnfit.QSOFit(sdss.wave, sdss.flux, err, sdss.z, ra=sdss.ra, dec=sdss.dec, filename="fiber", output_path=out)
    prior = agnfit.build_default_prior_config(sdss.flux)
    prior["PL_slope"] = {"loc": -1.0, "scale": 1.0}
    q.fit(deredden=True, fit_method="optax", fit_lines=True, decompose_host=True, fit_fe=True, fit_bc=True,
          fit_poly=True, fsps_age_grid=[0.1, 1.0, 10.0], fsps_logzsol_grid=[0.0], prior_config=prior,
          dsps_ssp_fn="ssp/bc03_miles_chabrier.h5", optax_steps=300, plot_fig=False, save_fig=False,
          save_result=True, use_psf_phot=False)
    phot = sdss.photometry
    p = agnfit.QSOFit(sdss.wave, sdss.flux, err, sdss.z, ra=sdss.ra, dec=sdss.dec, filename="psf", output_path=out)
    p.fit(deredden=True, fit_method="optax+laplace", fsps_age_grid=[0.1, 1.0, 10.0], fsps_logzsol_grid=[0.0],
          nuts_warmup=100, nuts_samples=100, nuts_chains=2, use_psf_phot=True, psf_mags=phot.mags,
          psf_mag_errs=phot.errs, psf_bands=phot.bands, save_fig=True,
          kwargs_plot={"plot_residual": True, "plot_psf_space": True})
    return q, p, out


ATTRS = ["wave", "flux", "err", "model_total", "frac_host_2500", "frac_host_4200", "delta_m_psf", "delta_m_psf_err",
         "eta_psf", "eta_psf_err", "scale_psf"]


def test_fiber_fit_attributes_are_sensible(fits):
    q, _, out = fits
    for a in ("wave", "flux", "err", "model_total", "frac_host_2500", "frac_host_4200"):
        assert np.all(np.isfinite(getattr(q, a))), a
    assert 0 < q.frac_host_4200 < 1 and 0 < q.frac_host_2500 < 1
    assert 1000 < q.broad_lines__Hb__fwhm < 20000
    assert q.result.info["chi2_reduced"] < 2
    assert "frac_jitter" in q.numpyro_samples and "add_jitter" in q.numpyro_samples
    assert {"host", "power_law", "broad_lines"} <= set(q.components)
    assert (out / "fiber.h5").is_file()
    assert q.result.config["components"]["power_law"]  # the prior override reached the config
    assert q.result.config["priors"]["power_law.alpha"]["loc"] == -1.0


def test_psf_fit_reports_eta_delta_m(fits):
    _, p, out = fits
    for a in ATTRS:
        assert np.all(np.isfinite(getattr(p, a))), a
    assert 0 <= p.eta_psf <= 1 and p.eta_psf_err > 0 and p.delta_m_psf_err > 0
    assert p.scale_psf == pytest.approx(10 ** (-0.4 * p.delta_m_psf), rel=0.05)
    assert p.psf_bands == ["sdss2010-g", "sdss2010-r", "sdss2010-i"]
    assert 0 < p.frac_host_4200 < 1
    assert p.result.info["chi2_reduced"] < 2
    pngs = sorted(out.glob("psf_*.png"))
    assert {f.name for f in pngs} >= {"psf_spectrum.png", "psf_psf.png"}
    assert all(f.stat().st_size > 10000 for f in pngs)


def test_unknown_keyword_is_an_error(sdss):
    q = agnfit.QSOFit(sdss.wave, sdss.flux, np.where(sdss.mask, sdss.err, np.inf), sdss.z)
    with pytest.raises(ConfigError, match="unknown keyword.*fit_metod"):
        q.fit(fit_metod="optax")
    with pytest.raises(ConfigError, match="fit_method"):
        q.fit(fit_method="emcee")
    with pytest.raises(ConfigError, match="prior_config has unknown"):
        q.fit(prior_config={"PL_slop": {"loc": 0, "scale": 1}})


def test_keywords_translate_to_config(sdss):
    from agnfit.qsofit import FitOptions, config_from_kwargs

    cfg = config_from_kwargs(FitOptions(fit_fe=False, fit_bc=False, decompose_host=False, fit_poly=False,
                                        optax_lr=0.01, fit_method="optax+nuts", nuts_chains=3), sdss.flux)
    assert set(cfg.components) == {"power_law", "broad_lines", "narrow_lines"}
    assert cfg.inference[0]["optimizer"] == "adam" and cfg.inference[0]["learning_rate"] == 0.01
    assert cfg.inference[1] == {"type": "nuts", "num_warmup": 500, "num_samples": 500, "num_chains": 3}
    pc = agnfit.build_default_prior_config(sdss.flux)
    pc["line_sig_scale_mult"] = 0.5
    cfg = config_from_kwargs(FitOptions(prior_config=pc), sdss.flux)
    assert cfg.components["broad_lines"]["fwhm_range"][1] == pytest.approx(10000.0)


def test_plot_fig_without_saving_returns_the_figures(fits):
    import matplotlib.figure

    q, _, out = fits
    before = sorted(out.iterdir())
    figs = q.plot_fig(save=False)
    assert isinstance(figs["spectrum"], matplotlib.figure.Figure) and figs["spectrum"].axes
    assert "corner" not in figs  # a MAP-only result has no samples to show
    assert sorted(out.iterdir()) == before  # nothing written

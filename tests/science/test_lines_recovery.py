"""A simulated continuum + lines spectrum is fitted and its truth recovered.

Tolerances (MAP, S/N 25 per 69 km/s pixel, instrumental sigma 60 km/s):
power-law slope within 0.05, broad Hbeta FWHM within 5 %, [OIII] flux within 5 %.
"""

import numpy as np
import pytest

from agnfit import Observation, fit, simulate
from agnfit.plugins.map import MAP

from .conftest import hbeta_config, hbeta_truth


@pytest.fixture(scope="module")
def hbeta_fit():
    cfg = hbeta_config()
    truth = hbeta_truth()
    spec, _ = simulate(cfg, truth, Observation(z=0.15, snr=25.0, seed=3, mask_fraction=0.02))
    return truth, spec, fit(spec, cfg, backend=MAP())


def test_slope_and_broad_hbeta_recovered(hbeta_fit):
    truth, spec, res = hbeta_fit
    assert res.converged, res.info["message"]
    assert res.point["pl.alpha"] == pytest.approx(truth["pl.alpha"], abs=0.05)
    fwhm = res.derived["broad.Hb.fwhm"]["median"]
    assert fwhm == pytest.approx(truth["broad.Hb_fwhm"], rel=0.05)
    assert res.info["chi2_reduced"] < 1.3


def test_line_fluxes_in_cgs(hbeta_fit):
    truth, spec, res = hbeta_fit
    # simulate() works in units of flux_unit; (1+z) converts rest-frame to observed-frame integrals
    expected = truth["narrow.OIII_5007_flux"] * spec.flux_unit * (1 + spec.z)
    assert res.derived["narrow.OIII_5007.flux"]["median"] == pytest.approx(expected, rel=0.05)
    # doublet ratio fixed at 2.98
    r = res.derived["narrow.OIII_5007.flux"]["median"] / res.derived["narrow.OIII_4959.flux"]["median"]
    assert r == pytest.approx(2.98, rel=1e-3)


def test_velocity_offset_of_broad_line(hbeta_fit):
    truth, _, res = hbeta_fit
    assert res.derived["broad.Hb.voff_peak"]["median"] == pytest.approx(truth["broad.Hb_dv"], abs=60.0)


def test_component_spectra_sum_to_model(hbeta_fit):
    _, _, res = hbeta_fit
    s = res.spectrum
    total = sum(v for k, v in s.items() if k.startswith("component:"))
    assert np.allclose(total, s["model"], rtol=1e-10, atol=1e-12)

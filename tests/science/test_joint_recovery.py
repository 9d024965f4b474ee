"""Joint spectrum + PSF photometry: the seed's central measurement, recovered from simulations.

Truth: fiber host fraction 0.5 at 5100 A, eta = 0.4, delta_m = 0.15, broad Hbeta
FWHM 4500 km/s, slope -1.5 (S/N 20 per pixel, 0.02 mag photometry in g, r, i;
u and z are dropped for coverage). Tolerances from the acceptance criteria:
host fraction 0.05, eta 0.1, delta_m 0.05 mag, FWHM 5 %, slope 0.1.
"""

import numpy as np
import pytest

from agnfit import Observation, fit, simulate
from agnfit.plugins.laplace import Laplace
from agnfit.plugins.map import MAP

from .joint import BANDS, host_fraction_psf, joint_config, joint_truth


@pytest.fixture(scope="module")
def sim():
    truth = joint_truth()
    spec, phot = simulate(joint_config(), truth, Observation(z=0.1, snr=20.0, seed=11))
    return truth, spec, phot


@pytest.fixture(scope="module")
def joint_fit(sim):
    truth, spec, phot = sim
    return fit(spec, joint_config(), phot, backend=Laplace(num_samples=400))


@pytest.fixture(scope="module")
def fiber_fit(sim):
    truth, spec, phot = sim
    return fit(spec, joint_config(with_photometry=False), backend=Laplace(num_samples=400))


def test_fiber_only_map_recovers_host_fraction_width_slope(sim):
    truth, spec, _ = sim
    res = fit(spec, joint_config(with_photometry=False), backend=MAP())
    assert res.converged, res.info["message"]
    assert res.derived["host_fraction.5100"]["median"] == pytest.approx(0.5, abs=0.05)
    assert res.derived["broad.Hb.fwhm"]["median"] == pytest.approx(truth["broad.Hb_fwhm"], rel=0.05)
    assert res.point["pl.alpha"] == pytest.approx(truth["pl.alpha"], abs=0.1)


def test_joint_fit_recovers_eta_delta_m_and_psf_host_fraction(sim, joint_fit):
    truth, _, _ = sim
    res = joint_fit
    assert res.info["kept_bands"] == ["sdss2010-g", "sdss2010-r", "sdss2010-i"]
    assert set(res.info["dropped_bands"]) == {"sdss2010-u", "sdss2010-z"}
    assert res.derived["psf.eta"]["median"] == pytest.approx(truth["psf.eta"], abs=0.1)
    assert res.derived["psf.delta_m"]["median"] == pytest.approx(truth["psf.delta_m"], abs=0.05)
    assert res.derived["host_fraction_psf.5100"]["median"] == pytest.approx(host_fraction_psf(truth), abs=0.05)
    assert res.derived["host_fraction.5100"]["median"] == pytest.approx(0.5, abs=0.05)
    # synthetic magnitudes of the kept bands reproduce the observed ones
    kept = res.photometry["kept"]
    resid = (res.photometry["mag_model"] - res.photometry["mag_obs"])[kept] / res.photometry["mag_err"][kept]
    assert np.all(np.abs(resid) < 4)
    assert res.photometry["bands"] == BANDS


def test_photometry_tightens_host_fraction(joint_fit, fiber_fit):
    """The reason the joint fit exists: the PSF magnitudes constrain the host/AGN split."""
    for res in (joint_fit, fiber_fit):
        assert res.info["backend"] == "laplace"
    width_joint = joint_fit.derived["host_fraction.5100"]["p84"] - joint_fit.derived["host_fraction.5100"]["p16"]
    width_fiber = fiber_fit.derived["host_fraction.5100"]["p84"] - fiber_fit.derived["host_fraction.5100"]["p16"]
    assert width_joint < width_fiber
    # the PSF-space fraction is only constrained with photometry
    assert "host_fraction_psf.5100" not in fiber_fit.derived

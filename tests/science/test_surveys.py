"""One config, two surveys: SDSS ugriz and Legacy Survey (DECam) grz photometry, no code change."""

import numpy as np
import pytest

from agnfit import Observation, Photometry, fit, load_config, simulate

CONFIG = {
    "data": {"deredden": False},
    "components": {
        "pl": {"type": "power_law", "wave0": 5100.0},
        "host": {"type": "host_dsps", "ages": [1.0, 10.0], "logzsol": [0.0], "weights": "independent"},
        "broad": {"type": "broad_lines", "lines": ["Hb", "Ha"]},
    },
    "photometry": {"bands": ["sdss2010-u", "sdss2010-g", "sdss2010-r", "sdss2010-i", "sdss2010-z",
                             "decam2014-g", "decam2014-r", "decam2014-z"]},
    "likelihood": {"frac_jitter": False, "add_jitter": False},
    "inference": [{"type": "map"}],
}
TRUTH = {"pl.norm": 10.0, "pl.alpha": -1.5, "host.w_0": 0.0, "host.w_1": 12.0, "host.sigma": 150.0, "host.dv": 0.0,
         "broad.Hb_flux": 900.0, "broad.Hb_fwhm": 4500.0, "broad.Hb_dv": 0.0,
         "broad.Ha_flux": 2800.0, "broad.Ha_fwhm": 4200.0, "broad.Ha_dv": 0.0,
         "psf.eta": 0.4, "psf.delta_m": 0.15}


@pytest.mark.parametrize("survey, bands", [("sdss", ["sdss2010-u", "sdss2010-g", "sdss2010-r", "sdss2010-i", "sdss2010-z"]),
                                           ("decam", ["decam2014-g", "decam2014-r", "decam2014-z"])])
def test_same_config_fits_sdss_and_decam_photometry(survey, bands):
    cfg = load_config(CONFIG)
    spec, all_phot = simulate(cfg, TRUTH, Observation(z=0.08, snr=25, seed=5, mag_err=0.01))
    keep = [all_phot.bands.index(b) for b in bands]
    phot = Photometry(bands, all_phot.mags[keep], all_phot.errs[keep])
    res = fit(spec, cfg, phot)
    kept = res.info["kept_bands"]
    assert set(kept) <= set(bands) and len(kept) >= 2
    assert all(b.startswith(survey[:4]) for b in kept)
    assert res.derived["psf.eta"]["median"] == pytest.approx(0.4, abs=0.15)
    assert res.derived["psf.delta_m"]["median"] == pytest.approx(0.15, abs=0.05)
    resid = (res.photometry["mag_model"] - res.photometry["mag_obs"])[res.photometry["kept"]]
    assert np.all(np.abs(resid) < 0.05)

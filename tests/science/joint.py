"""A joint spectrum + PSF-photometry simulation: host fraction 0.5 at 5100 A, eta = 0.4, delta_m = 0.15."""

import jax.numpy as jnp
import numpy as np

from agnfit.config import load_config
from agnfit.core.component import EvalContext
from agnfit.core.names import local_params
from agnfit.simulate import Observation, true_model

BANDS = ["sdss2010-u", "sdss2010-g", "sdss2010-r", "sdss2010-i", "sdss2010-z"]

JOINT_CONFIG = {
    "data": {"deredden": False},
    "components": {
        "pl": {"type": "power_law", "wave0": 5100.0},
        "feii": {"type": "feii", "template": "bg92_optical"},
        "host": {"type": "host_dsps", "ages": [0.5, 3.0, 10.0], "logzsol": [0.0], "weights": "independent"},
        "broad": {"type": "broad_lines", "lines": ["Hg", "Hb", "Ha"]},
        "narrow": {"type": "narrow_lines", "lines": ["Hb", "OIII_4959", "OIII_5007", "Ha", "NII_6548", "NII_6583"]},
    },
    "photometry": {"bands": BANDS},
    "likelihood": {"frac_jitter": False, "add_jitter": False},
}


def joint_config(with_photometry=True):
    raw = dict(JOINT_CONFIG)
    if not with_photometry:
        raw = {k: v for k, v in raw.items() if k != "photometry"}
    return load_config(raw)


def joint_truth(host_fraction=0.5, eta=0.4, delta_m=0.15, z=0.1):
    """Truth parameters with the requested fiber host fraction at 5100 A (all continuum, Fe II included)."""
    truth = {
        "pl.norm": 10.0, "pl.alpha": -1.5,
        "feii.norm": 120.0, "feii.fwhm": 3000.0, "feii.dv": 0.0,
        "host.w_0": 0.0, "host.w_1": 0.0, "host.w_2": 1.0, "host.sigma": 150.0, "host.dv": 0.0,
        "broad.Hb_flux": 900.0, "broad.Hb_fwhm": 4500.0, "broad.Hb_dv": 0.0,
        "broad.Ha_flux": 2800.0, "broad.Ha_fwhm": 4200.0, "broad.Ha_dv": 0.0,
        "broad.Hg_flux": 350.0, "broad.Hg_fwhm": 4500.0, "broad.Hg_dv": 0.0,
        "narrow.Hb_flux": 40.0, "narrow.OIII_5007_flux": 300.0, "narrow.Hb_fwhm": 400.0, "narrow.Hb_dv": 0.0,
        "narrow.Ha_flux": 130.0, "narrow.NII_6583_flux": 100.0, "narrow.Ha_fwhm": 400.0, "narrow.Ha_dv": 0.0,
        "psf.eta": eta, "psf.delta_m": delta_m,
    }
    cfg, model = true_model(joint_config(), Observation(z=z), with_photometry=True)
    ctx = EvalContext.constant(60.0)
    w = jnp.array([5100.0])
    agn = sum(float(model.component(n)(w, local_params(n, truth), ctx)[0]) for n in ("pl", "feii"))
    host1 = float(model.component("host")(w, local_params("host", truth), ctx)[0])
    truth["host.w_2"] = host_fraction / (1 - host_fraction) * agn / host1
    return truth


def host_fraction_psf(truth, wave=5100.0):
    cfg, model = true_model(joint_config(), Observation(), with_photometry=True)
    ctx = EvalContext.constant(60.0)
    w = jnp.array([wave])
    agn = sum(float(model.component(n)(w, local_params(n, truth), ctx)[0]) for n in ("pl", "feii"))
    host = float(model.component("host")(w, local_params("host", truth), ctx)[0])
    return truth["psf.eta"] * host / (agn + truth["psf.eta"] * host)

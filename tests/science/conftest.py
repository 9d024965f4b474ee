"""Shared simulation set-ups for the science recovery tests."""

import numpy as np

from agnfit.config import load_config

HBETA_CONFIG = {
    "data": {"deredden": False, "wave_range": [4200.0, 5600.0]},
    "components": {
        "pl": {"type": "power_law", "wave0": 5100.0},
        "broad": {"type": "broad_lines", "lines": ["Hg", "HeII_4686", "Hb"]},
        "narrow": {"type": "narrow_lines", "lines": ["Hg", "Hb", "OIII_4959", "OIII_5007"]},
    },
}


def hbeta_truth():
    return {
        "pl.norm": 10.0, "pl.alpha": -1.6,
        "broad.Hb_flux": 600.0, "broad.Hb_fwhm": 4200.0, "broad.Hb_dv": 150.0,
        "broad.Hg_flux": 250.0, "broad.Hg_fwhm": 4000.0, "broad.Hg_dv": 0.0,
        "broad.HeII_4686_flux": 40.0, "broad.HeII_4686_fwhm": 5000.0,
        "narrow.Hb_flux": 30.0, "narrow.OIII_5007_flux": 250.0, "narrow.Hb_fwhm": 450.0, "narrow.Hb_dv": -30.0,
        "narrow.Hg_flux": 12.0,
    }


def hbeta_config():
    return load_config(HBETA_CONFIG)


def host_weight_name(model, comp="host", age=10.0, logz=0.0):
    c = model.component(comp)
    grid = c.template_grid()
    for i, (a, z) in enumerate(grid):
        if np.isclose(a, age) and np.isclose(z, logz):
            return f"{comp}.w_{i}"
    raise KeyError((age, logz, grid))

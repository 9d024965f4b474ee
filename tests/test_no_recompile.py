"""Compile once per model structure: a second spectrum of another length and redshift compiles nothing."""

import jax
import jax.numpy as jnp
import numpy as np

from agnfit import Observation, fit, load_config, simulate

CONFIG = {
    "data": {"deredden": False},
    "components": {
        "pl": {"type": "power_law", "wave0": 5100.0},
        "host": {"type": "host_dsps", "ages": [1.0, 10.0], "logzsol": [0.0]},
        "broad": {"type": "broad_lines", "lines": ["Hb"]},
        "narrow": {"type": "narrow_lines", "lines": ["Hb", "OIII_4959", "OIII_5007"]},
    },
}


def test_detector_sees_a_new_compilation(compilations):
    with compilations() as msgs:
        jax.jit(lambda x: x * 3.0 + 1.0)(jnp.ones(13))
    assert msgs


def test_second_spectrum_of_other_length_and_redshift_compiles_nothing(compilations):
    cfg = load_config(CONFIG)
    truth = {"pl.norm": 10.0, "pl.alpha": -1.5, "broad.Hb_flux": 500.0, "broad.Hb_fwhm": 3500.0}
    s1, _ = simulate(cfg, truth, Observation(z=0.10, snr=20, seed=1))
    s2, _ = simulate(cfg, truth, Observation(z=0.13, snr=20, seed=2, wave=np.geomspace(3900.0, 9000.0, 3700)))
    assert s1.wave.size != s2.wave.size
    r1 = fit(s1, cfg)
    with compilations() as msgs:
        r2 = fit(s2, cfg)
    assert r1.info["converged"] and r2.info["converged"]
    assert r2.info["n_pix"] != r1.info["n_pix"]
    assert msgs == []

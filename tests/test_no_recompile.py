"""Compile once per model structure: a second spectrum of another length and redshift compiles nothing."""

import contextlib
import logging

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


@contextlib.contextmanager
def compilations():
    """Collect JAX's compilation log messages inside the block."""
    msgs: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record):
            if "Compiling" in record.getMessage():
                msgs.append(record.getMessage())

    handler = Collect(level=logging.DEBUG)
    logger = logging.getLogger("jax")
    logger.addHandler(handler)
    old = jax.config.jax_log_compiles
    jax.config.update("jax_log_compiles", True)
    try:
        yield msgs
    finally:
        jax.config.update("jax_log_compiles", old)
        logger.removeHandler(handler)


def test_detector_sees_a_new_compilation():
    with compilations() as msgs:
        jax.jit(lambda x: x * 3.0 + 1.0)(jnp.ones(13))
    assert msgs


def test_second_spectrum_of_other_length_and_redshift_compiles_nothing():
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

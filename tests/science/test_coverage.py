"""Calibration of the uncertainties: 68 % intervals contain the truth 55-80 % of the time.

Each simulation redraws the noise (and the truth of host fraction and Hbeta
width); the interval is the posterior 16-84 % range. The CI version uses the
Laplace approximation over 20 simulations; the slow version uses NUTS over 30.
Seeds are fixed, so the outcome is reproducible.
"""

import jax.numpy as jnp
import numpy as np
import pytest

from agnfit.core.component import EvalContext
from agnfit.core.names import local_params
from agnfit.simulate import true_model

from agnfit import Observation, fit, load_config, simulate
from agnfit.plugins.laplace import Laplace
from agnfit.plugins.nuts import NUTS
from agnfit.plugins.staged import Staged
from agnfit.plugins.map import MAP

CONFIG = {
    "data": {"deredden": False, "wave_range": [4300.0, 5600.0]},
    "components": {
        "pl": {"type": "power_law", "wave0": 5100.0},
        "host": {"type": "host_dsps", "ages": [10.0], "logzsol": [0.0]},
        "broad": {"type": "broad_lines", "lines": ["Hb"]},
    },
    "likelihood": {"frac_jitter": False, "add_jitter": False},
}


def one(seed: int, backend):
    rng = np.random.default_rng(seed)
    cfg = load_config(CONFIG)
    truth = {"pl.norm": 10.0, "pl.alpha": -1.5, "host.w_0": float(rng.uniform(5, 15)), "host.sigma": 150.0,
             "host.dv": 0.0, "broad.Hb_flux": 900.0, "broad.Hb_fwhm": float(rng.uniform(3000, 6000)), "broad.Hb_dv": 0.0}
    spec, _ = simulate(cfg, truth, Observation(z=0.1, snr=15, seed=seed))
    res = fit(spec, cfg, backend=backend)
    _, model = true_model(cfg, Observation(z=0.1), with_photometry=False)
    w = jnp.array([5100.0])
    ctx = EvalContext.constant(60.0)
    host = float(model.component("host")(w, local_params("host", truth), ctx)[0])
    f_true = host / (host + truth["pl.norm"])  # the power law is normalised at 5100 A
    out = []
    for name, t in (("host_fraction.5100", f_true), ("broad.Hb.fwhm", truth["broad.Hb_fwhm"])):
        s = res.derived[name]
        out.append(s["p16"] <= t <= s["p84"])
    return out


def coverage(n, backend):
    hits = np.array([one(1000 + i, backend) for i in range(n)])
    return hits.mean(axis=0)


@pytest.mark.slow
def test_laplace_coverage_20_simulations():
    cov = coverage(20, Laplace(num_samples=500))
    print("68% interval coverage (host fraction, Hb FWHM):", cov)
    assert np.all((cov >= 0.55) & (cov <= 0.80)), cov


@pytest.mark.slow
def test_nuts_coverage_30_simulations():
    cov = coverage(30, Staged(MAP(), NUTS(num_warmup=300, num_samples=300, num_chains=2)))
    print("68% interval coverage (host fraction, Hb FWHM), NUTS:", cov)
    assert np.all((cov >= 0.55) & (cov <= 0.80)), cov

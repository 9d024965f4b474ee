"""Small simulated problems shared by the inference-backend tests (no tests here).

A power law plus one Gaussian emission line (a test-only component), observed
with Gaussian noise of known sigma, no jitter: the posterior is close to
Gaussian, so MAP, Laplace and NUTS can be compared against the truth and
against each other.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist

from agnfit.core.component import AbstractComponent, EvalContext
from agnfit.core.data import FitData
from agnfit.core.model import Model, NoiseConfig
from agnfit.plugins.continuum import PowerLaw

TRUTH = {"pl.norm": 2.0, "pl.alpha": -1.3, "ln.flux": 30.0, "ln.center": 5010.0, "ln.sigma": 15.0}
WAVE = np.linspace(4000.0, 6500.0, 400)
NOISE = 0.08


class GaussLine(AbstractComponent):
    """A Gaussian emission line: integrated ``flux`` (model units x A), ``center`` and ``sigma`` (A)."""

    name: str
    center0: float = 5000.0
    morphology: str = "point"
    operation: str = "add"
    group: str = "line"

    def priors(self):
        return {
            "flux": dist.HalfNormal(100.0),
            "center": dist.Normal(self.center0, 20.0),
            "sigma": dist.Uniform(2.0, 60.0),
        }

    def init_values(self):
        return {"flux": 10.0, "center": self.center0, "sigma": 10.0}

    def line_windows(self):
        return np.array([[self.center0 - 100.0, self.center0 + 100.0]])

    def __call__(self, wave, params, ctx):
        x = (wave - params["center"]) / params["sigma"]
        return params["flux"] / (jnp.sqrt(2.0 * jnp.pi) * params["sigma"]) * jnp.exp(-0.5 * x**2)


def make_model() -> Model:
    """Power law normalised inside the spectrum (so norm and slope are weakly correlated) + one line."""
    return Model((PowerLaw("pl", wave0=5000.0), GaussLine("ln")), noise=NoiseConfig(False, False, False))


def true_flux(wave: np.ndarray) -> np.ndarray:
    t = TRUTH
    line = t["ln.flux"] / (np.sqrt(2 * np.pi) * t["ln.sigma"]) * np.exp(-0.5 * ((wave - t["ln.center"]) / t["ln.sigma"]) ** 2)
    # PowerLaw is normalised at wave0 = 5000 A in make_model
    return t["pl.norm"] * (wave / 5000.0) ** t["pl.alpha"] + line


def make_data(seed: int = 0, wave: np.ndarray = WAVE, noise: float = NOISE) -> FitData:
    """A simulated spectrum as FitData (rest frame, unit flux scale, every pixel good)."""
    rng = np.random.default_rng(seed)
    n = wave.size
    flux = true_flux(wave) + rng.normal(0.0, noise, n)
    return FitData(
        wave=jnp.asarray(wave),
        flux=jnp.asarray(flux),
        err=jnp.full(n, noise),
        mask=jnp.ones(n),
        z=jnp.asarray(0.1),
        flux_scale=jnp.asarray(1e-17),
        ebv=jnp.asarray(0.0),
        ctx=EvalContext.constant(0.0, float(wave[0]), float(wave[-1])),
        phot_mag=jnp.zeros(0),
        phot_err=jnp.zeros(0),
        phot_mask=jnp.zeros(0),
    )

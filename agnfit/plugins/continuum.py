"""Built-in plugin: AGN power-law continua.

``power_law``: f(lambda) = norm * (lambda / wave0)**alpha, the accretion-disc
continuum in f_lambda (alpha ~ -1.5 for a typical quasar, Vanden Berk et al. 2001).
``broken_power_law``: slope alpha1 below ``break`` and alpha2 above, continuous
at the break, as used for quasar composites (Vanden Berk et al. 2001).
Both are point sources.
"""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpyro.distributions as dist

from ..core.component import AbstractComponent
from ..registry.hookspecs import hookimpl


class PowerLaw(AbstractComponent):
    """f_lambda = norm * (lambda / wave0)**alpha (norm in model flux units at wave0)."""

    name: str
    wave0: float = 3000.0
    alpha_prior: tuple = (-1.5, 1.0)
    morphology: str = "point"
    operation: str = "add"
    group: str = "continuum"

    def priors(self):
        return {
            "norm": dist.HalfNormal(5.0),
            "alpha": dist.Normal(*self.alpha_prior),
        }

    def init_values(self):
        return {"norm": 0.5, "alpha": self.alpha_prior[0]}

    def __call__(self, wave, params, ctx):
        # exp(alpha ln x) rather than x ** alpha: a general float64 power costs several times an exp per pixel
        return params["norm"] * jnp.exp(params["alpha"] * (jnp.log(wave) - math.log(self.wave0)))


class BrokenPowerLaw(AbstractComponent):
    """Power law with slopes alpha1 (blue) and alpha2 (red), continuous at ``break`` (A)."""

    name: str
    wave_break: float = 4661.0
    break_free: bool = False
    morphology: str = "point"
    operation: str = "add"
    group: str = "continuum"

    def priors(self):
        pri = {
            "norm": dist.HalfNormal(5.0),
            "alpha1": dist.Normal(-1.5, 1.0),
            "alpha2": dist.Normal(-0.5, 1.0),
        }
        if self.break_free:
            pri["wave_break"] = dist.Uniform(0.7 * self.wave_break, 1.3 * self.wave_break)
        return pri

    def init_values(self):
        return {"norm": 0.5, "alpha1": -1.5, "alpha2": -0.5}

    def __call__(self, wave, params, ctx):
        wb = params.get("wave_break", self.wave_break)
        ln_x = jnp.log(wave) - jnp.log(wb)
        alpha = jnp.where(ln_x < 0.0, params["alpha1"], params["alpha2"])
        return params["norm"] * jnp.exp(alpha * ln_x)


def power_law(name: str, wave0: float = 3000.0, alpha_loc: float = -1.5, alpha_scale: float = 1.0):
    """Power-law continuum normalised at ``wave0`` (A), Normal(alpha_loc, alpha_scale) prior on the slope.

    Args:
        name: instance name.
        wave0: rest wavelength (A) where ``norm`` is the flux density (model flux units).
        alpha_loc: mean of the Normal prior on the slope alpha of f_lambda.
        alpha_scale: sigma of the Normal prior on alpha.
    """
    return PowerLaw(name=name, wave0=float(wave0), alpha_prior=(float(alpha_loc), float(alpha_scale)))


def broken_power_law(name: str, wave_break: float = 4661.0, break_free: bool = False):
    """Broken power law with its break at ``wave_break`` (A), optionally a free parameter.

    Args:
        name: instance name.
        wave_break: rest wavelength (A) of the break, where ``norm`` is the flux density (model flux units).
        break_free: fit the break wavelength with a Uniform(0.7, 1.3) x ``wave_break`` prior.
    """
    return BrokenPowerLaw(name=name, wave_break=float(wave_break), break_free=bool(break_free))


@hookimpl
def register_components():
    return {"power_law": power_law, "broken_power_law": broken_power_law}

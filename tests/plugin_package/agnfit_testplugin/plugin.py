"""Registers a top-hat filter and a constant-continuum component through agnfit's hooks."""

import numpy as np
import numpyro.distributions as dist
import pluggy

from agnfit.core.component import AbstractComponent

hookimpl = pluggy.HookimplMarker("agnfit")


def _tophat():
    wave = np.linspace(5000.0, 6000.0, 101)
    resp = np.where((wave > 5100) & (wave < 5900), 1.0, 0.0)
    return wave, resp


class ConstantContinuum(AbstractComponent):
    """A flat f_lambda = level (model flux units), point-like."""

    name: str
    morphology: str = "point"
    operation: str = "add"
    group: str = "continuum"

    def priors(self):
        return {"level": dist.HalfNormal(5.0)}

    def __call__(self, wave, params, ctx):
        return params["level"] * (wave * 0.0 + 1.0)


def constant_continuum(name):
    return ConstantContinuum(name=name)


@hookimpl
def register_filters():
    return {"testsurvey-x": _tophat}


@hookimpl
def register_components():
    return {"constant_continuum": constant_continuum}

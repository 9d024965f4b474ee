"""Built-in plugin: flux-calibration terms of the fiber spectrum.

Both terms are Legendre series in x, the rest wavelength mapped linearly from
the fitted spectrum's range [wave_min, wave_max] to [-1, 1] and clipped
outside it, so they stay bounded (constant) at wavelengths beyond the
spectrum, e.g. on photometric filter grids.

``legendre_poly`` multiplies the model by P(x) = exp(sum_{k=1..degree} c_k L_k(x))
(``form = "exp"``, the default) or P(x) = 1 + sum_{k=1..degree} c_k L_k(x)
(``form = "linear"``): a smooth correction of the spectrophotometric
calibration (fiber losses that depend on wavelength through seeing and
differential refraction). The two agree to first order in the coefficients
(|c_k| ~ 0.1: a few per cent apart). The exponential form is positive for any
coefficients, and it keeps the slope-calibration degeneracy linear: changing
a power law's index by d_alpha multiplies it by exp(d_alpha ln(lambda/lambda_0)),
which the exponent's Legendre series absorbs with coefficients linear in
d_alpha, so the posterior of (alpha, c_k) is a straight valley, which the
Laplace frame of the NUTS sampler whitens as a whole. With 1 + sum c_k L_k
the compensating coefficients are non-linear in d_alpha, a curved valley
whose walls set a small step size.
``additive_poly`` adds sum_{k=0..degree} c_k L_k(x) in model flux units, for
residual sky or scattered light. Both exist only in the fiber spectrum
(morphology ``"fiber"``).
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import numpyro.distributions as dist

from ..core.component import AbstractComponent
from ..errors import ConfigError
from ..registry.hookspecs import hookimpl


def scaled_wave(wave, wave_min, wave_max):
    """x in [-1, 1]: ``wave`` (A) mapped linearly from [wave_min, wave_max], clipped outside."""
    span = jnp.maximum(wave_max - wave_min, 1e-6)
    return jnp.clip(2.0 * (wave - wave_min) / span - 1.0, -1.0, 1.0)


def legendre_basis(x, degree: int):
    """Legendre polynomials L_0..L_degree at ``x``, shape ``(degree + 1, *x.shape)``.

    Bonnet's recurrence (k + 1) L_{k+1} = (2k + 1) x L_k - k L_{k-1},
    unrolled over the (static) degree.
    """
    x = jnp.asarray(x)
    out = [jnp.ones_like(x), x]
    for k in range(1, degree):
        out.append(((2 * k + 1) * x * out[k] - k * out[k - 1]) / (k + 1))
    return jnp.stack(out[: degree + 1])


def _coeff_name(k: int) -> str:
    return f"c_{k}"


class AbstractLegendreTerm(AbstractComponent):
    """Shared evaluation of a Legendre series in the scaled rest wavelength."""

    degree: eqx.AbstractVar[int]
    scale: eqx.AbstractVar[float]

    def series(self, wave, params, ctx, first: int):
        """sum_{k=first..degree} c_k L_k(x) at rest ``wave`` (A)."""
        x = scaled_wave(wave, ctx.wave_min, ctx.wave_max)
        basis = legendre_basis(x, self.degree)[first:]
        coeffs = jnp.stack([jnp.asarray(params[_coeff_name(k)]) for k in range(first, self.degree + 1)])
        return jnp.tensordot(coeffs, basis, axes=1)


#: the forms of the multiplicative calibration: P = exp(series) or 1 + series
CALIBRATION_FORMS = ("exp", "linear")


class LegendreCalibration(AbstractLegendreTerm):
    """Multiplicative calibration P(x) = exp(s(x)) (``form="exp"``) or 1 + s(x) (``"linear"``),
    s(x) = sum_{k=1..degree} c_k L_k(x); params ``c_1..c_degree``."""

    name: str
    degree: int = eqx.field(static=True, default=3)
    scale: float = eqx.field(static=True, default=0.1)
    form: str = eqx.field(static=True, default="exp")
    morphology: str = "fiber"
    operation: str = "multiply"
    group: str = "calibration"

    def priors(self):
        return {_coeff_name(k): dist.Normal(0.0, self.scale) for k in range(1, self.degree + 1)}

    def init_values(self):
        return {_coeff_name(k): 0.0 for k in range(1, self.degree + 1)}

    def __call__(self, wave, params, ctx):
        s = self.series(wave, params, ctx, first=1)
        return jnp.exp(s) if self.form == "exp" else 1.0 + s


class AdditivePolynomial(AbstractLegendreTerm):
    """Additive term sum_{k=0..degree} c_k L_k(x) (model flux units); params ``c_0..c_degree``."""

    name: str
    degree: int = eqx.field(static=True, default=1)
    scale: float = eqx.field(static=True, default=0.1)
    morphology: str = "fiber"
    operation: str = "add"
    group: str = "calibration"

    def priors(self):
        return {_coeff_name(k): dist.Normal(0.0, self.scale) for k in range(self.degree + 1)}

    def init_values(self):
        return {_coeff_name(k): 0.0 for k in range(self.degree + 1)}

    def __call__(self, wave, params, ctx):
        return self.series(wave, params, ctx, first=0)


def _checked(name: str, degree, scale, min_degree: int) -> tuple[int, float]:
    if isinstance(degree, bool) or int(degree) != degree or degree < min_degree:
        raise ConfigError(f"{name}: degree must be an integer >= {min_degree}, got {degree!r}")
    if not float(scale) > 0:
        raise ConfigError(f"{name}: scale must be positive, got {scale!r}")
    return int(degree), float(scale)


def legendre_poly(name: str, degree: int = 3, scale: float = 0.1, form: str = "exp"):
    """Multiplicative Legendre calibration of ``degree`` >= 1, Normal(0, ``scale``) priors on c_1..c_degree.

    Args:
        name: instance name.
        degree: highest Legendre order (>= 1); the constant term is fixed (P = 1 where all c_k = 0).
        scale: sigma of the Normal(0, scale) prior on each coefficient (dimensionless).
        form: ``"exp"``: P = exp(sum c_k L_k), positive, and linear in a power law's index change
            (see the module docstring); ``"linear"``: P = 1 + sum c_k L_k.
    """
    degree, scale = _checked(name, degree, scale, 1)
    if form not in CALIBRATION_FORMS:
        raise ConfigError(f"{name}: form must be one of {CALIBRATION_FORMS}, got {form!r}")
    return LegendreCalibration(name=name, degree=degree, scale=scale, form=form)


def additive_poly(name: str, degree: int = 1, scale: float = 0.1):
    """Additive Legendre series of ``degree`` >= 0 (model flux units), Normal(0, ``scale``) priors on c_0..c_degree.

    Args:
        name: instance name.
        degree: highest Legendre order (>= 0).
        scale: sigma of the Normal(0, scale) prior on each coefficient (model flux units).
    """
    degree, scale = _checked(name, degree, scale, 0)
    return AdditivePolynomial(name=name, degree=degree, scale=scale)


@hookimpl
def register_components():
    return {"legendre_poly": legendre_poly, "additive_poly": additive_poly}

"""Emission-line profiles in velocity space, convolved with a Gaussian LSF.

Every profile here is a probability density in the velocity ``x`` (km/s)
relative to the line centre, normalised to unit integral whatever its shape
parameters, so the flux parameter of a line is its integrated flux. All
functions broadcast: with ``x`` of shape (k, n) and the parameters of shape
(k, 1), one call evaluates k profile components on n pixels.

The instrumental line-spread function is a Gaussian of dispersion
``sigma_inst`` (km/s). Velocities are measured in ln(lambda), where a
Gaussian LSF is a convolution kernel of fixed width, so for Gaussian and
Gauss-Hermite profiles the convolution below is exact:
sigma_obs^2 = sigma^2 + sigma_inst^2.
"""

from __future__ import annotations

import math

import jax.numpy as jnp
from jax.scipy.special import erfc

#: FWHM = FWHM_PER_SIGMA * sigma for a Gaussian
FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))

#: profiles a line can have, and the extra shape parameters each one adds
SHAPE_PARAMS = {"gaussian": (), "gauss_hermite": ("h3", "h4"), "lorentzian": ()}
PROFILES = tuple(SHAPE_PARAMS)

#: |x / sigma| beyond which the Gauss-Hermite series is evaluated at the
#: clip value (where exp(-z^2/2) underflows), to keep the polynomial finite
Z_CLIP = 40.0

_SQRT2PI = math.sqrt(2.0 * math.pi)
_SQRT3 = math.sqrt(3.0)
_SQRT24 = math.sqrt(24.0)
_SQRT_HALF = math.sqrt(0.5)
#: integral of alpha(y) H4(y) dy for the van der Marel & Franx H4
GH_H4_NORM = math.sqrt(6.0) / 4.0


def gauss_hermite(x, sigma, sigma_inst, h3, h4):
    """Gauss-Hermite density (per km/s), convolved with a Gaussian LSF.

    The intrinsic profile is the series of van der Marel & Franx (1993,
    ApJ 407, 525), with y = x / sigma and alpha(y) the unit Gaussian,

        L(x) = alpha(y) / sigma * [1 + h3 H3(y) + h4 H4(y)] / (1 + h4 sqrt(6)/4),

    H3 = (2 y^3 - 3 y)/sqrt(3) and H4 = (4 y^4 - 12 y^2 + 3)/sqrt(24). The
    divisor is the integral of the bracketed series, which makes the integral
    exactly 1 (the flux parameter is the true line flux). h3 = h4 = 0 is the
    Gaussian.

    Convolution: written with the probabilists' Hermite polynomials He_n,
    H3 = (2 He_3 + 3 He_1)/sqrt(3) and H4 = (4 He_4 + 12 He_2 + 3)/sqrt(24),
    and alpha(x/s)/s He_n(x/s) convolved with a Gaussian of dispersion
    sigma_inst is r^n alpha(x/so)/so He_n(x/so), with so^2 = s^2 + sigma_inst^2
    and r = s/so (the n-th derivative of a Gaussian commutes with the
    convolution). The observed profile is therefore exact.

    Args:
        x: velocity relative to the line centre (km/s).
        sigma: intrinsic Gaussian dispersion (km/s), > 0.
        sigma_inst: instrumental dispersion (km/s), >= 0.
        h3, h4: Gauss-Hermite skewness and kurtosis coefficients.
    """
    so = jnp.sqrt(sigma**2 + sigma_inst**2)
    inv = 1.0 / so  # one division per profile, multiplications per pixel
    r = sigma * inv
    z = jnp.clip(x * inv, -Z_CLIP, Z_CLIP)
    z2 = z * z
    he1, he2 = z, z2 - 1.0
    he3, he4 = z * (z2 - 3.0), z2 * z2 - 6.0 * z2 + 3.0
    r2 = r * r
    series = (
        1.0
        + h3 * (2.0 * r2 * r * he3 + 3.0 * r * he1) / _SQRT3
        + h4 * (4.0 * r2 * r2 * he4 + 12.0 * r2 * he2 + 3.0) / _SQRT24
    )
    return jnp.exp(-0.5 * z2) * (inv / (_SQRT2PI * (1.0 + GH_H4_NORM * h4))) * series


def gaussian(x, sigma, sigma_inst):
    """Gaussian density (per km/s) of dispersion sqrt(sigma^2 + sigma_inst^2).

    Equal to ``gauss_hermite`` with h3 = h4 = 0, without the Hermite series.
    """
    inv = 1.0 / jnp.sqrt(sigma**2 + sigma_inst**2)  # one division per profile, multiplications per pixel
    z = x * inv
    return jnp.exp(-0.5 * z * z) * (inv / _SQRT2PI)


def pseudo_voigt(x, fwhm, sigma_inst):
    """Lorentzian of FWHM ``fwhm`` (km/s) convolved with a Gaussian LSF: density per km/s.

    The convolution (a Voigt profile) is approximated by the pseudo-Voigt of
    Thompson, Cox & Hastings (1987, J. Appl. Cryst. 20, 79): eta L(x; f) +
    (1 - eta) G(x; f), a Lorentzian and a Gaussian of common FWHM f, with

        f = (fG^5 + 2.69269 fG^4 fL + 2.42843 fG^3 fL^2 + 4.47163 fG^2 fL^3
             + 0.07842 fG fL^4 + fL^5)^(1/5),
        eta = 1.36603 q - 0.47719 q^2 + 0.11116 q^3,   q = fL / f,

    fL = ``fwhm`` and fG = 2 sqrt(2 ln 2) sigma_inst. It is normalised exactly
    and its FWHM is within about 1% of the Voigt's. With sigma_inst = 0 it is
    the Lorentzian (eta = 1) exactly.
    """
    fl = fwhm
    fg = FWHM_PER_SIGMA * sigma_inst
    f = (
        fg**5
        + 2.69269 * fg**4 * fl
        + 2.42843 * fg**3 * fl**2
        + 4.47163 * fg**2 * fl**3
        + 0.07842 * fg * fl**4
        + fl**5
    ) ** 0.2
    q = fl / f
    eta = 1.36603 * q - 0.47719 * q**2 + 0.11116 * q**3
    hw = 0.5 * f
    lor = hw / (jnp.pi * (x * x + hw * hw))
    sg = f / FWHM_PER_SIGMA
    gau = jnp.exp(-0.5 * (x / sg) ** 2) / (_SQRT2PI * sg)
    return eta * lor + (1.0 - eta) * gau


def ndtr(z):
    """Standard normal CDF, 0.5 erfc(-z / sqrt 2): accurate to round-off, in relative terms in the lower tail.

    With its gradient, in a compiled fit, this costs a tenth of a cubic
    interpolation in a 4097-entry table (the gathers are what is slow on a
    CPU) and a half of ``jax.scipy.special.ndtr``, which branches between
    erf and erfc; the Balmer pseudo-continuum (:mod:`agnfit.plugins.balmer`)
    evaluates it three times per pixel.
    """
    return 0.5 * erfc(z * -_SQRT_HALF)

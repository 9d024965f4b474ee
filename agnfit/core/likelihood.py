"""Likelihoods of the spectrum (with jitter) and of the photometry.

Spectrum, per good pixel i (Gaussian with fractional and additive jitter):

    F_i ~ N(f(lambda_i), sigma_i^2 + (f_frac |f(lambda_i)|)^2 + sigma_add^2)

Photometry, per kept band b:

    m_b ~ N(m_syn,b, sigma_b^2 + sigma_extra^2)

Sums are taken in float64: with ~10^4 pixels a float32 log-likelihood loses
the differences of order 0.1 that drive the optimiser and the sampler.
"""

from __future__ import annotations

import jax.numpy as jnp

LOG_2PI = jnp.log(2.0 * jnp.pi)


def gaussian_loglike(resid, var, mask):
    """Sum over ``mask`` of log N(resid | 0, var)."""
    ll = -0.5 * (resid**2 / var + jnp.log(var) + LOG_2PI)
    return jnp.sum(jnp.where(mask > 0, ll, 0.0))


def spectrum_variance(err, model_flux, frac_jitter=0.0, add_jitter=0.0):
    """Total per-pixel variance with the jitter terms."""
    return err**2 + (frac_jitter * model_flux) ** 2 + add_jitter**2


def spectrum_loglike(data, model_flux, frac_jitter=0.0, add_jitter=0.0):
    """Log-likelihood of the spectrum ``data`` (``FitData``) given ``model_flux`` on its pixels.

    ``model_flux`` is in model flux units, like ``data.flux``; ``frac_jitter`` is
    dimensionless and ``add_jitter`` in model flux units. Masked pixels do not count.
    """
    var = spectrum_variance(data.err, model_flux, frac_jitter, add_jitter)
    return gaussian_loglike(data.flux - model_flux, var, data.mask)


def photometry_loglike(data, mags, extra=0.0):
    """Log-likelihood of the kept PSF magnitudes of ``data`` given synthetic AB magnitudes ``mags``.

    ``extra`` is the extra scatter (mag) added in quadrature to each band's error.
    """
    var = data.phot_err**2 + extra**2
    resid = jnp.where(data.phot_mask > 0, data.phot_mag - mags, 0.0)
    return gaussian_loglike(resid, var, data.phot_mask)

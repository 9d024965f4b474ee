"""Line profiles evaluated on a window of pixels around each centre, not on the whole spectrum.

A narrow line of the default width range spans about a hundred of the ~4000
pixels of an SDSS spectrum; the rest of its (profiles, pixels) array is zeros
to round-off, yet costs as much in the model and in its gradient as the
pixels under the line. A line component specialised to a spectrum's sampling
(``for_sampling``) evaluates each Gaussian (or Gauss-Hermite) slot on
``window`` consecutive pixels from where its profile reaches
``WINDOW_SIGMAS`` dispersions blueward of the centre, and adds the windows
into the spectrum. At 9 dispersions a Gaussian is 2.6e-18 of its peak (a
Gauss-Hermite series with |h4| <= 0.3, ~1e-15), below float64 round-off of
the sum.

The window is static (it sets array shapes) and sized from the spectrum's
narrowest pixel and broadest instrumental sigma for the widest FWHM the
prior allows, so every profile the fit can reach fits in it: the spectrum
does not depend on the window. It applies only on the spectrum's own
wavelengths (``ctx.prepared_for``); photometric bands, derived quantities
and plots use every pixel.
"""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np

from .profiles import FWHM_PER_SIGMA

#: profiles are evaluated out to this many dispersions (instrument included) from their centre
WINDOW_SIGMAS = 9.0


def window_pixels(fwhm_max: float, sampling) -> int:
    """Window (pixels, a power of two) holding 2 x ``WINDOW_SIGMAS`` dispersions of any profile up to ``fwhm_max``.

    ``sampling``: the spectrum's :class:`~agnfit.core.component.Sampling`;
    0 when its pixels are not increasing in wavelength (no window then).
    """
    if not sampling.pixel_kms > 0:
        return 0
    sigma = math.hypot(fwhm_max / FWHM_PER_SIGMA, sampling.sigma_kms)
    pixels = 2.0 * WINDOW_SIGMAS * sigma / sampling.pixel_kms + 2.0
    return int(2 ** math.ceil(math.log2(pixels)))


def slot_windows(lnw, blue, width: int):
    """Pixel indices (k, width) of each slot's window, starting at the first pixel at or redward of ``blue``.

    Args:
        lnw: ln wavelength of the pixels (n,), increasing.
        blue: ln wavelength of each slot's blue end, its centre minus ``WINDOW_SIGMAS`` sigma / c (k,).
        width: pixels per window, at most n; a window that would pass the red end is moved back inside.
    """
    n = lnw.shape[0]
    start = jnp.minimum(jnp.searchsorted(lnw, blue, side="left"), n - width)
    return start[:, None] + np.arange(width)

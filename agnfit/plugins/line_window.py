"""Line profiles evaluated on a window of pixels around each centre, not on the whole spectrum.

A narrow line of the default width range spans about a hundred of the ~4000
pixels of an SDSS spectrum, a typical broad line a few hundred; the rest of
its (profiles, pixels) array is zeros to round-off, yet costs as much in the
model and in its gradient as the pixels under the line. Here each Gaussian
(or Gauss-Hermite) slot is evaluated on ``width`` consecutive pixels starting
where its profile reaches ``WINDOW_SIGMAS`` dispersions blueward of the
centre, and the windows are added into the spectrum. At 9 dispersions a
Gaussian is 2.6e-18 of its peak (a Gauss-Hermite series with |h4| <= 0.3,
~1e-15), below float64 round-off of the sum.

``width`` is static (it sets array shapes), while where a profile ends
depends on the data's pixel spacing and on the current widths and shifts.
:func:`slot_windows` therefore also says whether every profile fits in its
window on this grid; the caller evaluates the whole grid instead when one
does not (``jax.lax.cond``), so the result never depends on the window: the
two paths differ by that truncated tail.
"""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np

#: profiles are evaluated out to this many dispersions (instrument included) from their centre
WINDOW_SIGMAS = 9.0
#: pixel width (km/s) the default windows are sized for: SDSS/BOSS, d log10(lambda) = 1e-4
REFERENCE_PIXEL_KMS = 69.05
#: broad windows are sized for intrinsic FWHMs up to this (km/s); wider ones use the whole grid
BROAD_FWHM_SIZED = 9000.0
#: instrumental sigma (km/s) the windows allow for: SDSS, R ~ 1800
REFERENCE_SIGMA_INST = 75.0
FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))


def window_pixels(kind: str, fwhm_max: float) -> int:
    """Static window (pixels, a power of two) holding a profile of intrinsic FWHM up to ``fwhm_max`` (km/s).

    Broad windows are sized for FWHMs up to ``BROAD_FWHM_SIZED``; on a grid
    with pixels of ``REFERENCE_PIXEL_KMS`` or wider every allowed narrow width
    and those broad widths fit, elsewhere the whole grid is used.
    """
    fwhm = min(fwhm_max, BROAD_FWHM_SIZED) if kind == "broad" else fwhm_max
    sigma = math.hypot(fwhm / FWHM_PER_SIGMA, REFERENCE_SIGMA_INST)
    pixels = 2.0 * WINDOW_SIGMAS * sigma / REFERENCE_PIXEL_KMS + 2.0
    return int(2 ** math.ceil(math.log2(pixels)))


def slot_windows(lnw, centre, half, width: int):
    """(rows, fits): pixel indices (k, width) of each slot's window, and whether every profile fits.

    Args:
        lnw: ln wavelength of the pixels (n,).
        centre: ln wavelength of each slot's centre (k,).
        half: half-extent of each profile in ln wavelength (k,).
        width: pixels per window, at most n.

    ``fits`` is False when ``lnw`` is not non-decreasing (a window is then
    not a wavelength interval) or when some profile's extent
    [centre - half, centre + half] holds pixels outside its window.
    """
    n = lnw.shape[0]
    lo = jnp.searchsorted(lnw, centre - half, side="left")
    hi = jnp.searchsorted(lnw, centre + half, side="right")
    start = jnp.minimum(lo, n - width)
    fits = jnp.all(hi - start <= width) & jnp.all(lnw[1:] >= lnw[:-1])
    return start[:, None] + np.arange(width), fits

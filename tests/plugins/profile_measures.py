"""Independent (numpy) measurements of line profiles, shared by the component tests."""

import numpy as np


def fwhm_kms(v, f):
    """FWHM (km/s) of a single-peaked profile ``f`` tabulated at velocities ``v`` (km/s)."""
    f = np.asarray(f)
    half = 0.5 * f.max()
    above = np.flatnonzero(f >= half)
    i, j = above[0], above[-1]
    left = np.interp(half, [f[i - 1], f[i]], [v[i - 1], v[i]])
    right = np.interp(half, [f[j + 1], f[j]], [v[j + 1], v[j]])
    return right - left

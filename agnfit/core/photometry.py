"""Photometric systems: f_lambda on observed-frame filter grids -> AB magnitudes.

AB magnitudes follow Oke & Gunn (1983):

    m_AB = -2.5 log10 f_nu - 48.60,
    f_nu = integral(f_lambda T lambda dlambda) / integral(T c / lambda dlambda),

with f_lambda in erg/s/cm^2/A, lambda in A and c in A/s, for a photon-counting
response T. Everything is a fixed array per band set, so the synthetic
magnitudes are differentiable JAX functions of the model.
"""

from __future__ import annotations

import abc

import equinox as eqx
import numpy as np
from jaxtyping import Array, Float


class AbstractPhotometricSystem(eqx.Module):
    """A set of named bands with their observed-frame wavelength grids.

    ``wave`` (n_band, n_grid) holds each band's observed-frame wavelength grid
    in A; a model is evaluated there (at ``wave / (1 + z)`` in the rest frame)
    and :meth:`magnitudes` integrates it.
    """

    bands: eqx.AbstractVar[tuple[str, ...]]
    wave: eqx.AbstractVar[Float[Array, "b g"]]

    @abc.abstractmethod
    def magnitudes(self, flux_lambda: Float[Array, "b g"]) -> Float[Array, " b"]:
        """AB magnitudes of f_lambda (erg/s/cm^2/A) given on :attr:`wave`."""

    @abc.abstractmethod
    def coverage(self, wave_min: float, wave_max: float) -> np.ndarray:
        """Fraction (0-1) of each band's response inside the observed range [wave_min, wave_max] (A)."""

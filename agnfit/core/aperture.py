"""Aperture models: map fiber-space components to another aperture (PSF photometry).

The seed model (``EtaDeltaM``) is

    f_PSF(lambda) = s * [ sum(point components) + eta * sum(extended components) ],
    s = 10**(-0.4 * delta_m),  0 <= eta <= 1,

where the morphology of each component (not a hard-coded list) decides
whether eta applies. ``s`` absorbs gray differences between the fiber and PSF
flux scales (fiber losses, variability, calibration); ``eta`` is the fraction
of the extended light the PSF magnitude captures. Components of morphology
``"fiber"`` (calibration terms) do not exist outside the fiber.
"""

from __future__ import annotations

import abc

import equinox as eqx
import jax.numpy as jnp
import numpyro.distributions as dist
from jaxtyping import Array, Float


class AbstractApertureModel(eqx.Module):
    """Maps per-component fiber-space fluxes to the flux seen in another aperture.

    ``__call__`` receives the additive point/extended components evaluated on the
    photometric system's grids, each of shape (n_band, n_grid), and returns the
    total flux in the aperture with the same shape. Per-band behaviour is
    possible because the band axis is explicit.
    """

    name: eqx.AbstractVar[str]

    @abc.abstractmethod
    def priors(self) -> dict:
        """Prior distributions keyed by local parameter name."""

    @abc.abstractmethod
    def __call__(
        self,
        fluxes: dict[str, Float[Array, "b g"]],
        morphologies: dict[str, str],
        params: dict,
    ) -> Float[Array, "b g"]:
        """Total flux in this aperture."""

    def derived(self, params: dict) -> dict:
        """Named scalar quantities derived from the parameters (e.g. ``scale``)."""
        return {}


def _sum_by_morphology(fluxes, morphologies, kind):
    parts = [f for n, f in fluxes.items() if morphologies[n] == kind]
    if not parts:
        return 0.0
    return sum(parts[1:], parts[0])


class EtaDeltaM(AbstractApertureModel):
    """PSF aperture: gray scale ``s = 10**(-0.4 delta_m)`` and extended fraction ``eta``.

    Args:
        name: instance name (parameter prefix), default ``"psf"``.
        delta_m_scale: sigma of the Normal(0, sigma) prior on delta_m (mag).
    """

    name: str = "psf"
    delta_m_scale: float = 0.5

    def priors(self) -> dict:
        return {
            "eta": dist.Uniform(0.0, 1.0),
            "delta_m": dist.Normal(0.0, self.delta_m_scale),
        }

    def __call__(self, fluxes, morphologies, params):
        s = 10.0 ** (-0.4 * params["delta_m"])
        point = _sum_by_morphology(fluxes, morphologies, "point")
        ext = _sum_by_morphology(fluxes, morphologies, "extended")
        return s * (point + params["eta"] * ext)

    def derived(self, params: dict) -> dict:
        return {"scale": 10.0 ** (-0.4 * params["delta_m"])}


class EtaPerBand(AbstractApertureModel):
    """PSF aperture with one extended-light fraction per band: ``eta_<band index>``.

    Useful when the PSF width, and so the captured host fraction, changes
    strongly from band to band (e.g. ground-based u vs z).

    Args:
        name: instance name.
        n_bands: number of photometric bands (fixed by the photometric system).
        delta_m_scale: sigma of the Normal prior on the gray offset (mag).
    """

    name: str = "psf"
    n_bands: int = 5
    delta_m_scale: float = 0.5

    def priors(self) -> dict:
        pri = {f"eta_{i}": dist.Uniform(0.0, 1.0) for i in range(self.n_bands)}
        pri["delta_m"] = dist.Normal(0.0, self.delta_m_scale)
        return pri

    def __call__(self, fluxes, morphologies, params):
        s = 10.0 ** (-0.4 * params["delta_m"])
        eta = jnp.stack([params[f"eta_{i}"] for i in range(self.n_bands)])[:, None]
        point = _sum_by_morphology(fluxes, morphologies, "point")
        ext = _sum_by_morphology(fluxes, morphologies, "extended")
        return s * (point + eta * ext)

    def derived(self, params: dict) -> dict:
        return {"scale": 10.0 ** (-0.4 * params["delta_m"])}

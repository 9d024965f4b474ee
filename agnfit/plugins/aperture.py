"""Built-in plugin: aperture models (see ``agnfit.core.aperture``)."""

from __future__ import annotations

from ..core.aperture import EtaDeltaM, EtaPerBand
from ..registry.hookspecs import hookimpl


def eta_delta_m(name: str = "psf", bands=(), delta_m_scale: float = 0.5):
    """One extended-light fraction eta and one gray offset delta_m (mag) for all bands."""
    return EtaDeltaM(name=name, delta_m_scale=float(delta_m_scale))


def eta_per_band(name: str = "psf", bands=(), delta_m_scale: float = 0.5):
    """One eta per band, one gray offset delta_m (mag)."""
    return EtaPerBand(name=name, n_bands=len(tuple(bands)), delta_m_scale=float(delta_m_scale))


@hookimpl
def register_aperture_models():
    return {"eta_delta_m": eta_delta_m, "eta_per_band": eta_per_band}

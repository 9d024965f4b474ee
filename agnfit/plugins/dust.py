"""Galactic extinction: E(B-V) from the SFD map and extinction laws.

* E(B-V) from Schlegel, Finkbeiner & Davis (1998) via ``dustmaps`` (maps fetched
  through the data registry); users may override it.
* A_lambda / E(B-V) = R_V * (A_lambda / A_V) from ``dust_extinction``:
  ``F99`` (Fitzpatrick 1999, default), ``CCM89`` (Cardelli, Clayton & Mathis
  1989), ``O94`` (O'Donnell 1994), ``F19`` (Fitzpatrick et al. 2019), ``G23``
  (Gordon et al. 2023). Outside a law's validity range the curve is held at its
  value at the nearest valid wavelength (logged).
"""

from __future__ import annotations

import functools
import logging

import numpy as np

from ..errors import ConfigError, InputError

log = logging.getLogger(__name__)

LAWS = ("F99", "CCM89", "O94", "F19", "G23")


@functools.lru_cache(maxsize=16)
def _law(name: str, rv: float):
    if name not in LAWS:
        raise ConfigError(f"unknown extinction law {name!r}; available: {list(LAWS)}")
    from dust_extinction import parameter_averages as pa

    return getattr(pa, name)(Rv=rv)


def extinction_curve(wave_angstrom, law: str = "F99", rv: float = 3.1) -> np.ndarray:
    """A_lambda / E(B-V) at observed wavelengths (A)."""
    import astropy.units as u

    ext = _law(law, float(rv))
    w = np.asarray(wave_angstrom, float)
    x = 1e4 / w  # inverse micron
    lo, hi = (float(v.value if hasattr(v, "value") else v) for v in ext.x_range)
    xc = np.clip(x, lo * (1 + 1e-9), hi * (1 - 1e-9))
    if np.any(xc != x):
        log.info("extinction law %s held constant outside %.3g-%.3g 1/micron", law, lo, hi)
    return np.asarray(ext(xc / u.micron)) * float(rv)


def deredden(wave_angstrom, flux, err, ebv: float, law: str = "F99", rv: float = 3.1):
    """Flux and error corrected for Galactic extinction E(B-V) at observed wavelengths."""
    factor = 10.0 ** (0.4 * ebv * extinction_curve(wave_angstrom, law, rv))
    return flux * factor, err * factor


def redden(wave_angstrom, flux, ebv: float, law: str = "F99", rv: float = 3.1):
    """Inverse of :func:`deredden` for the flux."""
    return flux * 10.0 ** (-0.4 * ebv * extinction_curve(wave_angstrom, law, rv))


def sfd_ebv(ra: float, dec: float) -> float:
    """SFD (1998) E(B-V) at (ra, dec) in degrees (ICRS)."""
    if ra is None or dec is None or not (np.isfinite(ra) and np.isfinite(dec)) or not (-90 <= dec <= 90):
        raise InputError(f"need finite ra and dec (deg) for the SFD map, got ra={ra}, dec={dec}")
    from ..data import configure_dustmaps

    configure_dustmaps()
    return float(_sfd_query()(_coord(ra, dec)))


@functools.lru_cache(maxsize=1)
def _sfd_query():
    from dustmaps.sfd import SFDQuery

    return SFDQuery()


def _coord(ra, dec):
    import astropy.units as u
    from astropy.coordinates import SkyCoord

    return SkyCoord(ra * u.deg, dec * u.deg, frame="icrs")

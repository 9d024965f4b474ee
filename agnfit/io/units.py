"""Unit conversion at the reader boundary.

Readers that see astropy units (table columns with units, Quantity arrays,
specutils spectra) convert them here, once: the spectral axis to Angstrom
(wavelength, frequency, energy or wavenumber, via ``astropy.units.spectral``),
flux and its uncertainty to erg/s/cm^2/A (f_nu, Jy, photon fluxes via
``astropy.units.spectral_density``). Inside agnfit only plain arrays remain.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError

#: flux unit used when neither the data nor the caller give one (erg/s/cm^2/A per unit).
DEFAULT_FLUX_UNIT = 1e-17


def flam_unit():
    """erg / (s cm^2 A) as an astropy unit."""
    import astropy.units as u

    return u.erg / u.s / u.cm**2 / u.AA


def as_unit(unit, source="", what="unit"):
    """An astropy unit from a unit, a string or None (None stays None; unparsable strings are an error)."""
    import astropy.units as u

    if unit is None or unit == "":
        return None
    if isinstance(unit, u.UnitBase):
        if isinstance(unit, u.UnrecognizedUnit):
            raise InputError(f"{source}: {what} {unit.to_string()!r} is not a unit astropy understands; "
                             "fix the unit in the file or pass plain arrays")
        return unit
    try:
        return u.Unit(unit)
    except ValueError:
        raise InputError(f"{source}: {what} {unit!r} is not a unit astropy understands") from None


def wave_to_angstrom(values, unit, source="") -> np.ndarray:
    """Spectral-axis values in ``unit`` (None = already A) in Angstrom."""
    import astropy.units as u

    unit = as_unit(unit, source, "spectral-axis unit")
    values = np.asarray(values, float)
    if unit is None:
        return values
    try:
        return (values * unit).to_value(u.AA, equivalencies=u.spectral())
    except u.UnitConversionError:
        raise InputError(f"{source}: spectral-axis unit {unit} is not a wavelength, frequency, "
                         "wavenumber or energy") from None


def flam_factor(unit, wave_aa, source="") -> np.ndarray:
    """Per-pixel factor that turns values in ``unit`` into erg/s/cm^2/A at ``wave_aa`` (A)."""
    import astropy.units as u

    try:
        return np.broadcast_to(u.Quantity(np.ones_like(wave_aa), unit).to_value(
            flam_unit(), equivalencies=u.spectral_density(np.asarray(wave_aa) * u.AA)), np.shape(wave_aa))
    except (u.UnitConversionError, u.UnitsError, TypeError):
        raise InputError(f"{source}: flux unit {unit} is not a flux density (f_lambda, f_nu or photon flux); "
                         "convert it to erg/s/cm^2/A") from None


def _power_of_ten(x) -> float:
    """The power of ten just below the median |x| of finite non-zero values (1 if none)."""
    a = np.abs(np.asarray(x, float))
    a = a[np.isfinite(a) & (a > 0)]
    if a.size == 0:
        return 1.0
    return float(10.0 ** np.floor(np.log10(np.median(a))))


def flux_to_flam(flux, err, unit, wave_aa, source="") -> tuple[np.ndarray, np.ndarray, float]:
    """Flux and 1-sigma error (both in ``unit``) in units of ``flux_unit`` erg/s/cm^2/A.

    A scaled f_lambda unit (``1e-17 erg/s/cm2/A``, ``W/m2/um``) keeps the
    numbers and sets ``flux_unit`` to the scale; any other flux density is
    converted per pixel and ``flux_unit`` is the power of ten just below the
    median |flux|, so that numbers are of order one.

    Returns:
        ``(flux, err, flux_unit)``.
    """
    import astropy.units as u

    unit = as_unit(unit, source, "flux unit")
    try:
        scale = float(unit.to(flam_unit()))
        return np.asarray(flux, float), np.asarray(err, float), scale
    except u.UnitConversionError:
        pass
    factor = flam_factor(unit, wave_aa, source)
    f = np.asarray(flux, float) * factor
    scale = _power_of_ten(f)
    return f / scale, np.asarray(err, float) * factor / scale, scale


def std_from(kind: str, values, unit, flux_unit_given):
    """1-sigma errors and their unit from std / var / ivar values (non-positive ivar or var -> inf).

    Args:
        kind: ``"std"``, ``"var"`` or ``"ivar"``.
        values: the uncertainty values.
        unit: their unit (None: derived from ``flux_unit_given``).
        flux_unit_given: the flux unit (or None).
    """
    v = np.asarray(values, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind == "std":
            std, power = v, 1.0
        elif kind == "var":
            std, power = np.where(v > 0, np.sqrt(v), np.inf), 0.5
        elif kind == "ivar":
            std, power = np.where(v > 0, 1.0 / np.sqrt(v), np.inf), -0.5
        else:
            raise InputError(f"unknown uncertainty kind {kind!r}; expected std, var or ivar")
    if unit is None:
        return std, flux_unit_given
    return std, unit**power

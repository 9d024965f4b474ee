"""Value checks of the fixed configuration sections ([data], [photometry], [likelihood], [derived]).

:meth:`agnfit.config.Config.from_dict` rejects unknown keys; this module
rejects known keys with values a fit cannot use (a string where a number
belongs, a window with one edge, a negative E(B-V), an unknown black-hole
mass calibration), so that a bad value is a :class:`~agnfit.errors.ConfigError`
naming the key when the config is loaded, not a bare ``TypeError`` or
``KeyError`` deep inside a fit.
"""

from __future__ import annotations

import math

from .errors import ConfigError


def _number(value, where: str, lo: float = -math.inf, hi: float = math.inf, open_lo: bool = False) -> float:
    """``value`` as a finite float in [lo, hi] (or (lo, hi] with ``open_lo``), else ConfigError naming ``where``."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok and (value > lo if open_lo else value >= lo) and value <= hi:
        return float(value)
    bound = f"{'(' if open_lo else '['}{lo:g}, {hi:g}]"
    raise ConfigError(f"{where} = {value!r} must be a number in {bound}")


def _flag(value, where: str) -> None:
    if not isinstance(value, bool):
        raise ConfigError(f"{where} = {value!r} must be true or false")


def _wavelengths(values, where: str) -> None:
    if not isinstance(values, (list, tuple)):
        raise ConfigError(f"{where} = {values!r} must be a list of rest-frame wavelengths (A)")
    for v in values:
        _number(v, f"{where} entry", 0.0, open_lo=True)


def check_data(d: dict) -> None:
    """[data]: flags, E(B-V) >= 0 (mag), R_V > 0, a [lo, hi] window (A), positive bucket lengths, R > 0."""
    for key in ("deredden", "sort_wavelengths"):
        _flag(d[key], f"data.{key}")
    if d["ebv"] is not None:
        _number(d["ebv"], "data.ebv (mag)", 0.0, 10.0)
    _number(d["rv"], "data.rv", 0.0, open_lo=True)
    if not isinstance(d["extinction_law"], str):
        raise ConfigError(f"data.extinction_law = {d['extinction_law']!r} must be a law name such as 'F99'")
    window = d["wave_range"]
    if window is not None:
        if not isinstance(window, (list, tuple)) or len(window) != 2:
            raise ConfigError(f"data.wave_range = {window!r} must be [lo, hi] in rest-frame A")
        lo = _number(window[0], "data.wave_range lo (A)", 0.0, open_lo=True)
        if _number(window[1], "data.wave_range hi (A)", 0.0, open_lo=True) <= lo:
            raise ConfigError(f"data.wave_range = {window!r} must have lo < hi")
    buckets = d["buckets"]
    if buckets is not None and not (isinstance(buckets, (list, tuple)) and all(
            isinstance(b, int) and not isinstance(b, bool) and b > 0 for b in buckets)):
        raise ConfigError(f"data.buckets = {buckets!r} must be a list of positive pixel counts, e.g. [1024, 2048]")
    if d["resolution_r"] is not None:
        _number(d["resolution_r"], "data.resolution_r", 0.0, open_lo=True)


def check_photometry(p: dict, likelihood: dict) -> None:
    """[photometry] bands (names), coverage in (0, 1], flags; [likelihood] flags."""
    if not isinstance(p["bands"], (list, tuple)) or not all(isinstance(b, str) for b in p["bands"]):
        raise ConfigError(f"photometry.bands = {p['bands']!r} must be a list of band names, e.g. ['sdss2010-r']")
    _number(p["coverage"], "photometry.coverage (fraction of the band response)", 0.0, 1.0, open_lo=True)
    _flag(p["extra_scatter"], "photometry.extra_scatter")
    for key, value in likelihood.items():
        _flag(value, f"likelihood.{key}")


def check_derived(d: dict) -> None:
    """[derived]: wavelengths (A), an astropy FlatLambdaCDM cosmology, known calibrations, positive corrections."""
    for key in ("host_fraction_wavelengths", "continuum_wavelengths"):
        _wavelengths(d[key], f"derived.{key}")
    cosmo = d["cosmology"]
    if not isinstance(cosmo, dict) or not {"H0", "Om0"} <= set(cosmo):
        raise ConfigError(f"derived.cosmology = {cosmo!r} must be a table with H0 (km/s/Mpc) and Om0")
    _number(cosmo["H0"], "derived.cosmology.H0 (km/s/Mpc)", 0.0, open_lo=True)
    _number(cosmo["Om0"], "derived.cosmology.Om0", 0.0, 1.0)
    from astropy.cosmology import FlatLambdaCDM

    try:
        FlatLambdaCDM(**cosmo)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"derived.cosmology = {cosmo!r} is not a FlatLambdaCDM cosmology ({exc})") from None
    from .plugins.blackhole import CALIBRATIONS

    cals = d["mbh_calibrations"]
    if not isinstance(cals, (list, tuple)) or any(c not in CALIBRATIONS for c in cals):
        raise ConfigError(f"derived.mbh_calibrations = {cals!r}: known calibrations are {sorted(CALIBRATIONS)}")
    bc = d["bolometric_corrections"]
    if not isinstance(bc, dict):
        raise ConfigError(f"derived.bolometric_corrections = {bc!r} must be a table like {{\"5100\" = 9.26}}")
    for wave, factor in bc.items():
        try:
            _number(float(wave), f"derived.bolometric_corrections key {wave!r} (A)", 0.0, open_lo=True)
        except ValueError:
            raise ConfigError(f"derived.bolometric_corrections key {wave!r} must be a wavelength in A") from None
        _number(factor, f"derived.bolometric_corrections[{wave!r}]", 0.0, open_lo=True)


def check_values(sections: dict) -> None:
    """Check the values of the fixed sections (``{"data": ..., "photometry": ..., ...}`` with defaults filled in)."""
    check_data(sections["data"])
    check_photometry(sections["photometry"], sections["likelihood"])
    check_derived(sections["derived"])

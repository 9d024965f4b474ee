"""Readers for in-memory spectra: specutils spectra and (wave, flux[, err]) arrays.

``specutils.Spectrum`` (``Spectrum1D`` before specutils 2)
    ``spectral_axis`` (any spectral unit) -> A; ``flux`` -> erg/s/cm^2/A;
    ``uncertainty`` as ``StdDevUncertainty``, ``VarianceUncertainty`` or
    ``InverseVariance``; ``mask`` (True = bad) is honoured; the redshift is
    ``z=`` or the spectrum's ``redshift``. A spectrum without uncertainty
    cannot be fitted and raises.
``(wave, flux)`` or ``(wave, flux, err)``
    astropy Quantities (converted as above) or plain arrays (wave in A, flux
    and err in units of ``flux_unit`` erg/s/cm^2/A, default 1e-17). Without
    ``err`` the caller must pass ``err=`` (an array or Quantity); ``z=`` is
    required.
"""

from __future__ import annotations

import logging

import numpy as np

from ..errors import InputError
from .common import build_spectrum, check_options, pop_overrides
from .tables import spectrum_fields
from .units import as_unit, wave_to_angstrom

log = logging.getLogger(__name__)

UNCERTAINTY_KINDS = {"std": "std", "var": "var", "ivar": "ivar"}


def is_specutils(obj) -> bool:
    """True for a specutils spectrum (duck-typed: spectral_axis, flux, uncertainty)."""
    return all(hasattr(obj, a) for a in ("spectral_axis", "flux", "uncertainty")) and not isinstance(obj, type)


def _split(q, source, what):
    """``(values, unit or None)`` of a Quantity or plain array, checked 1-D numeric."""
    unit = getattr(q, "unit", None)
    values = getattr(q, "value", q)
    try:
        values = np.asarray(values, float)
    except (TypeError, ValueError):
        raise InputError(f"{source}: {what} must be numeric") from None
    if values.ndim != 1:
        raise InputError(f"{source}: {what} must be 1-D, got shape {values.shape}; select one spectrum first")
    return values, as_unit(unit, source, f"{what} unit")


def read_specutils(spec, options: dict):
    """A Spectrum from a specutils spectrum (see the module docstring).

    Options: ``flux_unit`` (only for a dimensionless flux) and the Spectrum overrides.
    """
    opts = dict(options)
    overrides = pop_overrides(opts)
    check_options(opts, ("flux_unit",), "a specutils spectrum")
    source = f"{type(spec).__name__}"
    wave, wave_unit = _split(spec.spectral_axis, source, "spectral_axis")
    flux, flux_unit = _split(spec.flux, source, "flux")
    if flux_unit is not None and flux_unit.physical_type == "dimensionless":
        flux_unit = None
    unc = spec.uncertainty
    if unc is None:
        raise InputError(f"{source}: the spectrum has no uncertainty; attach one (StdDevUncertainty, "
                         "VarianceUncertainty or InverseVariance) so that it can be fitted")
    kind = UNCERTAINTY_KINDS.get(getattr(unc, "uncertainty_type", None))
    if kind is None:
        raise InputError(f"{source}: uncertainty type {type(unc).__name__} is not supported; use "
                         "StdDevUncertainty, VarianceUncertainty or InverseVariance")
    unc_values = np.asarray(unc.array, float)
    if unc_values.shape != flux.shape:
        raise InputError(f"{source}: uncertainty has shape {unc_values.shape} but flux {flux.shape}")
    unc_unit = as_unit(getattr(unc, "unit", None), source, "uncertainty unit") if flux_unit is not None else None
    wave_aa = wave_to_angstrom(wave, wave_unit, source)
    bad = None if spec.mask is None else np.broadcast_to(np.asarray(spec.mask, bool), flux.shape)
    fields = spectrum_fields(wave_aa, flux, (kind, unc_values, unc_unit), flux_unit, opts.get("flux_unit"),
                             source, bad)
    z = None
    redshift = getattr(spec, "redshift", None)
    if redshift is not None:
        z = float(np.ravel(getattr(redshift, "value", redshift))[0])
        if z == 0.0 and "z" not in overrides:
            log.warning("%s: taking z=0 from the spectrum's redshift attribute; pass z= if that is not meant",
                        source)
    meta = dict(getattr(spec, "meta", None) or {})
    fields.update(z=z, meta={"format": "specutils", "spec_meta": meta})
    return build_spectrum(fields, overrides, source)


def read_arrays(arrays, options: dict):
    """A Spectrum from ``(wave, flux[, err])`` Quantities or arrays (see the module docstring).

    Options: ``err`` (when the tuple has two items), ``ivar`` (instead of an
    error), ``flux_unit`` (for flux without units) and the Spectrum overrides.
    """
    opts = dict(options)
    overrides = pop_overrides(opts)
    check_options(opts, ("err", "ivar", "flux_unit"), "(wave, flux, err) arrays")
    source = "(wave, flux, err) arrays"
    items = list(arrays)
    if len(items) == 2 and "err" in opts:
        items.append(opts["err"])
    kind = "std"
    if len(items) == 2 and "ivar" in opts:
        items.append(opts["ivar"])
        kind = "ivar"
    if len(items) != 3:
        raise InputError(f"{source}: expected (wave, flux, err) or (wave, flux) with err= or ivar=, got "
                         f"{len(arrays)} item(s)")
    wave, wave_unit = _split(items[0], source, "wave")
    flux, flux_unit = _split(items[1], source, "flux")
    err, err_unit = _split(items[2], source, "err")
    if not wave.size == flux.size == err.size:
        raise InputError(f"{source}: wave, flux and err have {wave.size}, {flux.size} and {err.size} values")
    if flux_unit is not None and flux_unit.physical_type == "dimensionless":
        flux_unit = None
    wave_aa = wave_to_angstrom(wave, wave_unit, source)
    fields = spectrum_fields(wave_aa, flux, (kind, err, err_unit), flux_unit, opts.get("flux_unit"), source)
    fields["meta"] = {"format": "arrays"}
    return build_spectrum(fields, overrides, source)

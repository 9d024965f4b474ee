"""Helpers shared by the spectrum readers.

Everything a reader needs besides its own layout lives here: turning an
exception from a FITS or table library into an :class:`~agnfit.errors.InputError`
that names the file, checking reader options, converting inverse variances to
errors, converting a Gaussian LSF width on a log-lambda grid to km/s, and the
final step that builds the validated :class:`~agnfit.core.data.Spectrum`.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np

from ..core.data import C_KMS, Spectrum
from ..errors import InputError

#: Spectrum fields every reader lets the caller set, overriding the file's values.
OVERRIDES = ("z", "name", "ebv", "ra", "dec", "sort", "photometry", "meta")

#: Errors that FITS/table libraries raise on unreadable or unexpected content.
LIBRARY_ERRORS = (OSError, ValueError, KeyError, IndexError, TypeError, AttributeError, EOFError)

ERR_NO_REDSHIFT = (
    "{source}: the file carries no redshift; pass z=<redshift> to read_spectrum"
)


@contextlib.contextmanager
def reading(source, what: str):
    """Turn a library exception raised inside the block into an InputError.

    Args:
        source: the file (or object description) being read, named in the message.
        what: what was expected there, e.g. ``"an SDSS spec-*.fits file"``.
    """
    try:
        yield
    except InputError:
        raise
    except _library_errors() as exc:
        raise InputError(f"{source}: could not read {what} ({type(exc).__name__}: {exc})") from None


def _library_errors() -> tuple:
    """:data:`LIBRARY_ERRORS` plus astropy's own exception bases (evaluated only when something failed)."""
    from astropy.io.fits.verify import VerifyError
    from astropy.io.registry import IORegistryError
    from astropy.units import UnitsError

    return (*LIBRARY_ERRORS, VerifyError, IORegistryError, UnitsError, MemoryError)


def check_options(kwargs: dict, allowed, where: str) -> None:
    """Raise InputError naming any keyword in ``kwargs`` that ``where`` does not accept."""
    unknown = sorted(set(kwargs) - set(allowed) - set(OVERRIDES))
    if unknown:
        raise InputError(
            f"{where} does not take option(s) {unknown}; it accepts {sorted(set(allowed) | set(OVERRIDES))}"
        )


def pop_overrides(kwargs: dict) -> dict:
    """Remove and return the Spectrum overrides (``z``, ``name``, ...) from ``kwargs``."""
    return {k: kwargs.pop(k) for k in OVERRIDES if k in kwargs}


def ivar_to_err(ivar) -> tuple[np.ndarray, np.ndarray]:
    """1-sigma errors from inverse variances.

    Returns:
        ``(err, good)``: ``err = 1/sqrt(ivar)`` where ``ivar > 0`` and finite
        (1.0 elsewhere, as a placeholder), and the boolean ``good`` array.
    """
    ivar = np.asarray(ivar, float)
    good = np.isfinite(ivar) & (ivar > 0)
    err = np.ones_like(ivar)
    err[good] = 1.0 / np.sqrt(ivar[good])
    return err, good


def loglam_sigma_kms(sigma_pix, dloglam: float) -> np.ndarray:
    """Gaussian LSF sigma in km/s from a sigma in pixels of a log10-lambda grid.

    A pixel of width ``dloglam`` (dex) spans ``dloglam * ln(10)`` in ln(lambda),
    i.e. ``c * dloglam * ln(10)`` km/s (69.03 km/s for SDSS's 1e-4 dex).
    """
    return np.asarray(sigma_pix, float) * dloglam * math.log(10.0) * C_KMS


def fill_bad(values, good) -> np.ndarray:
    """Replace ``values`` where ``good`` is False by linear interpolation over the good ones."""
    values = np.asarray(values, float).copy()
    good = np.asarray(good, bool) & np.isfinite(values)
    if good.all():
        return values
    if not good.any():
        raise InputError("no valid value to interpolate from (every LSF width is zero or non-finite)")
    idx = np.arange(values.size)
    values[~good] = np.interp(idx[~good], idx[good], values[good])
    return values


def build_spectrum(fields: dict, overrides: dict, source) -> Spectrum:
    """Make the validated Spectrum from a reader's fields and the caller's overrides.

    ``overrides`` win over ``fields``; ``meta`` dictionaries are merged. A
    missing redshift raises InputError asking for ``z=``; any validation
    error is re-raised with ``source`` in front.
    """
    merged = dict(fields)
    meta = dict(fields.get("meta") or {})
    meta.update(overrides.get("meta") or {})
    merged.update({k: v for k, v in overrides.items() if k != "meta"})
    merged["meta"] = meta
    if merged.get("z") is None:
        raise InputError(ERR_NO_REDSHIFT.format(source=source))
    try:
        return Spectrum(**merged)
    except InputError as exc:
        raise InputError(f"{source}: {exc}") from None

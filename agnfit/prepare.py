"""From a validated Spectrum (+ Photometry) and a Config to the ``FitData`` arrays.

Steps, in order: Galactic dereddening of the spectrum (E(B-V) from the config,
the spectrum, or the SFD map at ra/dec), rest-frame wavelengths, optional
rest-frame wavelength window, normalisation by the median flux, instrumental
resolution, padding to a length bucket, and the photometry band mask
(sentinels, coverage).
"""

from __future__ import annotations

import dataclasses
import logging
import warnings

import numpy as np

from .core.component import EvalContext, Sampling
from .core.data import C_KMS, FitData, Photometry, Spectrum, as_jnp, pad_edge, pad_length
from .errors import AgnfitWarning, ConfigError, InputError

log = logging.getLogger(__name__)

FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))


@dataclasses.dataclass
class Prepared:
    """FitData plus what was decided on the way (for results and logs)."""

    data: FitData
    n_pix: int
    ebv: float
    ebv_source: str
    bands: tuple
    kept_bands: tuple
    dropped_bands: dict
    rest_range: tuple
    flux_unit: float = 1e-17
    sampling: Sampling | None = None


def galactic_ebv(spectrum: Spectrum, config) -> tuple[float, str]:
    d = config.data
    if not d["deredden"]:
        return 0.0, "off"
    if d["ebv"] is not None:
        return float(d["ebv"]), "config"
    if spectrum.ebv is not None:
        return float(spectrum.ebv), "spectrum"
    if spectrum.ra is None or spectrum.dec is None:
        msg = f"{spectrum.name}: no ra/dec and no ebv given: Galactic dereddening skipped (E(B-V)=0)"
        warnings.warn(msg, AgnfitWarning, stacklevel=3)
        log.warning(msg)
        return 0.0, "none (no ra/dec)"
    from .plugins.dust import sfd_ebv

    return sfd_ebv(spectrum.ra, spectrum.dec), "SFD"


def _lsf(spectrum: Spectrum, config) -> np.ndarray:
    if spectrum.lsf_sigma_kms is not None:
        return np.asarray(spectrum.lsf_sigma_kms, float)
    r = config.data["resolution_r"]
    if r is not None:
        if not r > 0:
            raise ConfigError(f"data.resolution_r must be positive, got {r}")
        return np.full(spectrum.wave.size, C_KMS / (float(r) * FWHM_PER_SIGMA))
    log.info("%s: no instrumental resolution given; line widths are not corrected for it", spectrum.name)
    return np.zeros(spectrum.wave.size)


def band_mask(spectrum: Spectrum, photometry: Photometry | None, bands: tuple, photsys, threshold: float):
    """Per configured band: observed (mag, err) and whether it is used, with reasons for drops."""
    n = len(bands)
    mag, err, use = np.zeros(n), np.ones(n), np.zeros(n)
    dropped = {}
    if photometry is None:
        return mag, err, use, {b: "no photometry given" for b in bands}
    given = dict(zip(photometry.bands, zip(photometry.mags, photometry.errs, photometry.valid)))
    extra = sorted(set(photometry.bands) - set(bands))
    if extra:
        raise InputError(f"photometry has band(s) {extra} that the config does not list ({list(bands)})")
    cov = photsys.coverage(float(spectrum.wave[spectrum.mask].min()), float(spectrum.wave[spectrum.mask].max()))
    for i, b in enumerate(bands):
        if b not in given:
            dropped[b] = "not in the photometry"
            continue
        m, e, ok = given[b]
        if not ok:
            dropped[b] = "sentinel/NaN magnitude or bad error"
        elif cov[i] < threshold:
            dropped[b] = f"spectrum covers {cov[i]:.1%} of the response (< {threshold:.0%})"
        else:
            mag[i], err[i], use[i] = m, e, 1.0
    if dropped:
        msg = f"{spectrum.name}: photometric band(s) dropped: " + "; ".join(f"{b}: {r}" for b, r in dropped.items())
        warnings.warn(msg, AgnfitWarning, stacklevel=3)
        log.warning(msg)
    return mag, err, use, dropped


def prepare(spectrum: Spectrum, config, photometry: Photometry | None = None, photsys=None) -> Prepared:
    """Everything numeric a fit of ``spectrum`` needs, as a ``Prepared`` bundle."""
    from .plugins.dust import deredden

    d = config.data
    ebv, src = galactic_ebv(spectrum, config)
    flux, err = spectrum.flux, spectrum.err
    if ebv > 0:
        flux, err = deredden(spectrum.wave, flux, err, ebv, d["extinction_law"], d["rv"])
    rest = spectrum.rest_wave
    mask = spectrum.mask.copy()
    if d["wave_range"] is not None:
        lo, hi = d["wave_range"]
        mask &= (rest >= lo) & (rest <= hi)
        if not mask.any():
            raise InputError(f"{spectrum.name}: no good pixel in the rest-frame window data.wave_range={[lo, hi]}")
    sel = np.nonzero(mask)[0]
    i0, i1 = sel[0], sel[-1] + 1
    rest, flux, err, mask, lsf = rest[i0:i1], flux[i0:i1], err[i0:i1], mask[i0:i1], _lsf(spectrum, config)[i0:i1]
    scale = spectrum.flux_scale()
    n = rest.size
    npad = pad_length(n, d["buckets"])
    bands = tuple(config.photometry["bands"])
    if bands and photsys is not None:
        pm, pe, pu, dropped = band_mask(spectrum, photometry, bands, photsys, config.photometry["coverage"])
    else:
        pm = pe = pu = np.zeros(0)
        dropped = {}
    data = FitData(
        wave=pad_edge(rest, npad, extrapolate=True),
        flux=pad_edge(flux / scale, npad) * (np.arange(npad) < n),
        err=pad_edge(err / scale, npad),
        mask=pad_edge(mask.astype(float), npad) * (np.arange(npad) < n),
        z=np.asarray(spectrum.z),
        flux_scale=np.asarray(scale * spectrum.flux_unit),
        ebv=np.asarray(ebv),
        ctx=EvalContext(pad_edge(rest, npad, extrapolate=True), pad_edge(lsf, npad), np.asarray(rest[0]), np.asarray(rest[-1]),
                        np.asarray(float(np.median(lsf)))),
        phot_mag=pm,
        phot_err=pe,
        phot_mask=pu,
    )
    kept = tuple(b for b, u in zip(bands, pu) if u)
    # over the padded grid: the extrapolated pixels are the narrowest in velocity
    sampling = Sampling(float(C_KMS * np.min(np.diff(np.log(data.wave)))), float(np.max(data.ctx.lsf_sigma_kms)))
    return Prepared(as_jnp(data), n, ebv, src, bands, kept, dropped, (float(rest[0]), float(rest[-1])),
                    spectrum.flux_unit, sampling)

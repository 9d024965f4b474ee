"""Simulate spectra (and PSF photometry) from known parameters with agnfit's own model.

Tests and benchmarks use this to check that fits recover the truth. The
simulated spectrum is built by the same components a fit uses, so any
configured model can be simulated:

    spec, phot = simulate(config, params, Observation(z=0.2, snr=20))

``params`` are full parameter names in units of ``flux_unit`` (the
spectrum's flux unit, erg/s/cm^2/A); missing parameters take their prior
medians (the model's starting point).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import jax.numpy as jnp
import numpy as np
from jaxtyping import Real

from .build import build_model, build_photometry
from .config import load_config
from .core.checks import checked
from .core.component import EvalContext
from .core.data import C_KMS, Z_MAX, FitData, Photometry, Spectrum, finite_number
from .errors import InputError, InputTypeError
from .plugins.dust import redden


@dataclasses.dataclass
class Observation:
    """How the simulated object is observed.

    Attributes:
        z: redshift.
        wave: observed wavelength grid (A); default SDSS-like 3800-9200 A,
            log-uniform with 69 km/s pixels.
        snr: median signal-to-noise per pixel; err = median(flux)/snr * sqrt(flux/median) floor 0.3.
        lsf_sigma_kms: instrumental Gaussian sigma (km/s).
        mask_fraction: fraction of pixels flagged bad (random).
        ebv: Galactic E(B-V) applied to the data (the fit dereddens it).
        mag_err: photometric error (mag) for each band.
        flux_unit: erg/s/cm^2/A per flux unit.
        seed: random seed.
        name: object name.
    """

    z: float = 0.1
    wave: np.ndarray | None = None
    snr: float = 20.0
    lsf_sigma_kms: float = 60.0
    mask_fraction: float = 0.0
    ebv: float = 0.0
    mag_err: float = 0.02
    flux_unit: float = 1e-17
    seed: int = 0
    name: str = "simulated"

    def __post_init__(self):
        if self.wave is not None:
            self.wave = np.asarray(self.wave)
            _check_grid(self.wave)
            self.wave = self.wave.astype(float)
            if self.wave.size < 10 or not np.all(np.isfinite(self.wave) & (self.wave > 0)) or np.any(np.diff(self.wave) <= 0):
                raise InputError("Observation.wave must hold >= 10 finite, positive, increasing wavelengths (A)")
        for key, lo, hi in (("z", 0.0, Z_MAX), ("snr", 0.0, np.inf), ("lsf_sigma_kms", 0.0, np.inf),
                            ("mask_fraction", 0.0, 1.0), ("ebv", 0.0, 10.0), ("mag_err", 0.0, np.inf),
                            ("flux_unit", 0.0, np.inf)):
            setattr(self, key, finite_number(f"Observation.{key}", getattr(self, key), lo, hi))
        if self.snr <= 0 or self.flux_unit <= 0 or self.mask_fraction >= 1:
            raise InputError("Observation: snr and flux_unit must be positive and mask_fraction below 1")

    def grid(self) -> np.ndarray:
        """The observed wavelength grid (A): ``wave``, or the default SDSS-like grid."""
        if self.wave is not None:
            return np.asarray(self.wave, float)
        dln = 69.0 / C_KMS
        return 3800.0 * np.exp(dln * np.arange(int(np.log(9200 / 3800) / dln)))


@checked(where="Observation", hint="wave must be a 1-D array of observed wavelengths (A)")
def _check_grid(wave: Real[np.ndarray, " n"]) -> None:
    """The dtype and shape contract of :attr:`Observation.wave`."""


def _param_values(params: Mapping) -> dict:
    """``params`` as 0-d float arrays; a value that is not one real number raises InputTypeError."""
    out = {}
    for k, v in params.items():
        a = np.asarray(v)
        if a.shape != () or a.dtype.kind not in "iuf":
            raise InputTypeError(f"simulate: params[{k!r}] is {a.dtype}{list(a.shape)}, expected one real number "
                                 "(in the parameter's units; amplitudes in flux_unit)")
        out[k] = a.astype(float)
    return out


def true_model(config, obs: Observation, with_photometry: bool = False):
    cfg = load_config(config)
    rest = obs.grid() / (1 + obs.z)
    return cfg, build_model(cfg, (float(rest[0]), float(rest[-1])), with_photometry=with_photometry, name=obs.name)


@checked(hint="params must map full parameter names to numbers, obs be an agnfit.Observation or None")
def simulate(config, params: Mapping, obs: Observation | None = None):
    """(Spectrum, Photometry or None) simulated from ``params`` (full names).

    Photometry is simulated when the config lists bands; the aperture model's
    parameters (e.g. ``psf.eta``, ``psf.delta_m``) must then be in ``params``.

    Raises:
        InputTypeError: ``params`` is not a mapping of names to single real
            numbers, or ``obs`` is not an Observation.
        InputError: a parameter name the model does not have.
    """
    obs = obs or Observation()
    params = _param_values(params)
    cfg = load_config(config)
    bands = tuple(cfg.photometry["bands"])
    cfg, model = true_model(cfg, obs, with_photometry=bool(bands))
    full = {k: np.asarray(v) for k, v in {**model.fixed_values(), **model.init_values()}.items()}
    unknown = sorted(set(params) - set(full))
    if unknown:
        raise InputError(f"simulate: unknown parameter(s) {unknown}; the model has {sorted(full)}")
    full.update(params)
    wave = obs.grid()
    rest = wave / (1 + obs.z)
    ctx = EvalContext(jnp.asarray(rest), jnp.full(rest.size, float(obs.lsf_sigma_kms)),
                      jnp.asarray(rest[0]), jnp.asarray(rest[-1]), jnp.asarray(float(obs.lsf_sigma_kms)))
    flux = np.asarray(model.fiber_flux(jnp.asarray(rest), full, ctx))
    rng = np.random.default_rng(obs.seed)
    med = np.median(np.abs(flux))
    err = med / obs.snr * np.sqrt(np.clip(np.abs(flux) / med, 0.3, None))
    if obs.ebv > 0:
        flux = redden(wave, flux, obs.ebv, cfg.data["extinction_law"], cfg.data["rv"])
        err = redden(wave, err, obs.ebv, cfg.data["extinction_law"], cfg.data["rv"])
    noisy = flux + rng.normal(0.0, 1.0, flux.size) * err
    mask = rng.random(flux.size) >= obs.mask_fraction
    spec = Spectrum(wave, noisy, err, obs.z, mask=mask, lsf_sigma_kms=obs.lsf_sigma_kms,
                    ebv=obs.ebv if cfg.data["deredden"] else None, flux_unit=obs.flux_unit, name=obs.name)
    phot = None
    if bands:
        _, photsys, curve = build_photometry(cfg)
        nb = len(bands)
        data = FitData(jnp.asarray(rest), jnp.asarray(flux), jnp.asarray(err), jnp.ones(rest.size), jnp.asarray(obs.z),
                       jnp.asarray(obs.flux_unit), jnp.asarray(obs.ebv), ctx, jnp.zeros(nb), jnp.ones(nb), jnp.ones(nb))
        mags = np.asarray(model.synthetic_mags(full, data))
        mags = mags + rng.normal(0.0, obs.mag_err, nb)
        phot = Photometry(bands, mags, np.full(nb, obs.mag_err))
        spec.photometry = phot
    return spec, phot

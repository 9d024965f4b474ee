"""The ``bc03_eigen`` host-template set: eigenspectra of agnfit's default SSP grid.

agnfit's ``host_pca`` component fits a host galaxy as a linear combination of
eigenspectra (by default the SDSS galaxy eigenspectra of Yip et al. 2004).
This set gives it a different basis, derived when first loaded from the
simple stellar populations that agnfit's own data registry provides (the
``bc03_miles_chabrier`` grid: Bruzual & Charlot 2003 with the MILES library,
Chabrier IMF), so nothing is copied into this package:

1. take the SSPs of ages 0.05-12.5 Gyr and metallicities Z = 0.004-0.05
   (log10 Z/Zsun = -0.7 to +0.4), 100 spectra;
2. convert L_nu to L_lambda, resample onto a log-uniform rest grid of
   30 km/s steps over 3000-9500 A (vacuum), and scale each SSP to unit mean
   flux over 5100 +- 50 A;
3. take the singular value decomposition X = U S V^T of the (SSP x
   wavelength) matrix and keep the first ``N_EIGEN`` rows of V^T, without
   subtracting the mean, as in a Karhunen-Loeve expansion of galaxy spectra
   (Connolly et al. 1995): the first eigenspectrum is close to the mean SSP
   and is made positive, the others carry age and metallicity differences.

Projected onto the first five eigenspectra, random mixtures of those SSPs
(the hosts a ``host_dsps`` fit would find) keep rms residuals below 0.5 % of
their mean flux, single SSPs below 2 %; onto all ten, below 0.2 % and 1 %.
The eigenspectra keep the SSPs' resolution (MILES' 2.51 A FWHM, sigma = 62 km/s
at 5100 A; BC03's coarser libraries outside 3540-7350 A).
"""

from __future__ import annotations

import functools

import numpy as np

from agnfit.plugins.host_pca import EigenBasis
from agnfit.plugins.ssp import C_AA_S, window_mean

SET_NAME = "bc03_eigen"
SOURCE_SET = "bc03_miles_chabrier"
AGE_RANGE_GYR = (0.05, 12.5)
LOGZSOL_RANGE = (-0.75, 0.45)
WAVE_RANGE_A = (3000.0, 9500.0)
DV_KMS = 30.0
NORM_WAVE_A = 5100.0
N_EIGEN = 10
C_KMS = 299792.458


def log_grid(wave_range=WAVE_RANGE_A, dv_kms: float = DV_KMS) -> np.ndarray:
    """Log-uniform wavelengths (A) over ``wave_range`` with steps of ``dv_kms`` km/s."""
    lo, hi = wave_range
    n = int(np.floor(np.log(hi / lo) / (dv_kms / C_KMS))) + 1
    return lo * np.exp(np.arange(n) * dv_kms / C_KMS)


def ssp_matrix(grid) -> tuple[np.ndarray, np.ndarray]:
    """(rest wavelengths in A, normalised SSP f_lambda of shape (n_ssp, n_wave)) of an ``SSPGrid``."""
    ages = 10.0**grid.lg_age_gyr
    logzsol = grid.lgmet - np.log10(grid.zsun)
    use_age = (ages >= AGE_RANGE_GYR[0] * 0.999) & (ages <= AGE_RANGE_GYR[1] * 1.001)
    use_met = (logzsol >= LOGZSOL_RANGE[0]) & (logzsol <= LOGZSOL_RANGE[1])
    lnu = grid.lnu[np.ix_(use_met, use_age)].reshape(-1, grid.wave.size)
    llam = lnu * C_AA_S / grid.wave**2  # Lsun/A per Msun formed
    wave = log_grid()
    rows = np.array([np.interp(wave, grid.wave, f) for f in llam])
    return wave, rows / window_mean(wave, rows, NORM_WAVE_A)[:, None]


def eigenspectra(rows: np.ndarray, n_keep: int = N_EIGEN) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n_keep`` right singular vectors of ``rows`` (no mean subtracted) and all singular values.

    The first vector's sign is chosen so that its mean is positive.
    """
    _, s, vt = np.linalg.svd(rows, full_matrices=False)
    eigen = vt[:n_keep].copy()
    if eigen[0].mean() < 0:
        eigen[0] = -eigen[0]
    return eigen, s


@functools.lru_cache(maxsize=1)
def load_bc03_eigen() -> EigenBasis:
    """The ``bc03_eigen`` set (see the module docstring), for ``host_pca``."""
    from agnfit.registry import get_registry

    grid = get_registry().get("host_template", SOURCE_SET)()
    wave, rows = ssp_matrix(grid)
    eigen, _ = eigenspectra(rows)
    source = f"{SET_NAME}: first {N_EIGEN} eigenspectra of {rows.shape[0]} SSPs of {grid.source}"
    return EigenBasis(wave, eigen, float(grid.sigma_kms), source)

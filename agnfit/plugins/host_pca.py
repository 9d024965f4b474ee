"""Host-galaxy starlight as a linear combination of galaxy eigenspectra (``host_pca``).

The default basis is the galaxy eigenspectra of Yip et al. (2004, AJ 128, 585),
a Karhunen-Loeve decomposition of ~170,000 SDSS galaxy spectra: 10
eigenspectra on a rest vacuum grid of 3450-8350 A with SDSS' 69 km/s pixels
(FITS binary table, columns WAVE (A, or log10 A) and PCA (10 x n_wave)). The
first eigenspectrum is the mean galaxy; the others describe age, star
formation and velocity-dispersion differences. Like the SSP host, the sum is
broadened by ``sigma`` and shifted by ``dv``; here ``sigma`` is the dispersion
beyond that of the SDSS galaxies and instrument already in the eigenspectra.
Registered through :mod:`agnfit.plugins.host`.
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path
from typing import NamedTuple

import equinox as eqx
import numpy as np
import numpyro.distributions as dist

from ..errors import ConfigError, InputError
from .host import (
    MAX_INST_SIGMA_KMS,
    AbstractBasisHost,
    BroadenedBasis,
    check_range,
    options_factory,
    window_mean,
)

DEFAULT_SET = "yip2004_galaxy"
YIP_FILE = "pca/gal_eigenspec_Yip2004.fits"
SDSS_SIGMA_KMS = 70.0  # SDSS instrumental Gaussian sigma, the eigenspectra's own resolution (approximate)


class EigenBasis(NamedTuple):
    """Eigenspectra, what a ``register_host_templates`` loader for ``host_pca`` returns.

    Attributes:
        wave: vacuum rest wavelengths (A), increasing, shape (n_wave,).
        eigen: eigenspectra (f_lambda, arbitrary units), shape (n_eigen, n_wave).
        sigma_kms: the eigenspectra's own Gaussian resolution (km/s).
        source: where they came from, for messages.
    """

    wave: np.ndarray
    eigen: np.ndarray
    sigma_kms: float
    source: str


def read_eigenspectra(path, sigma_kms: float = SDSS_SIGMA_KMS) -> EigenBasis:
    """Read eigenspectra from a FITS table with columns WAVE (n,) and PCA (k, n), one row.

    WAVE is in A or, if all values are below 10, in log10 A. The first
    eigenspectrum is flipped if needed so that its mean is positive.

    Raises:
        InputError: the file cannot be read or lacks the columns.
    """
    from astropy.io import fits

    p = Path(path)
    try:
        with fits.open(p) as hdul:
            data = hdul[1].data
            wave = np.asarray(data["WAVE"][0], float).ravel()
            eigen = np.atleast_2d(np.asarray(data["PCA"][0], float))
    except (OSError, IndexError, KeyError, TypeError) as exc:
        raise InputError(
            f"eigenspectrum file {p} cannot be read ({type(exc).__name__}: {exc}); it needs a FITS table "
            f"in HDU 1 with columns WAVE (n,) and PCA (k, n)"
        ) from exc
    if eigen.shape[-1] != wave.size and eigen.shape[0] == wave.size:
        eigen = eigen.T
    if eigen.shape[-1] != wave.size or not np.all(np.isfinite(eigen)):
        raise InputError(f"eigenspectrum file {p}: PCA has shape {eigen.shape}, expected finite (k, {wave.size})")
    if np.all(wave < 10.0):
        wave = 10.0**wave
    if not np.all(np.diff(wave) > 0):
        raise InputError(f"eigenspectrum file {p}: WAVE must be strictly increasing")
    if eigen[0].mean() < 0:
        eigen = eigen.copy()
        eigen[0] = -eigen[0]
    return EigenBasis(wave, eigen, float(sigma_kms), str(p))


@functools.lru_cache(maxsize=1)
def load_yip2004_galaxy() -> EigenBasis:
    """The 10 SDSS galaxy eigenspectra of Yip et al. (2004), 3450-8350 A (vacuum)."""
    from ..data import fetch

    return read_eigenspectra(fetch(YIP_FILE))


@dataclasses.dataclass(frozen=True)
class PCAHostOptions:
    """Options of ``host_pca``.

    Attributes:
        templates: registered host template set giving an EigenBasis; None: ``yip2004_galaxy``.
        pca_file: a FITS eigenspectrum file (WAVE, PCA columns) instead of ``templates``.
        n_components: number of eigenspectra used (from the first).
        norm_wave: rest wavelength (A) where the first eigenspectrum has unit mean (+-50 A).
        coeff_scale: prior scale of the coefficients (model flux units): HalfNormal for c_0,
            Normal(0, coeff_scale) for the others.
        sigma_range: bounds (km/s) of the Uniform prior on the extra dispersion.
        dv_max: bound (km/s) of the Uniform(-dv_max, dv_max) prior on the velocity shift.
        template_sigma_kms: the eigenspectra's own resolution (km/s); None: the set's value.
    """

    templates: str | None = None
    pca_file: str | None = None
    n_components: int = 5
    norm_wave: float = 5100.0
    coeff_scale: float = 1.0
    sigma_range: tuple = (1.0, 500.0)
    dv_max: float = 500.0
    template_sigma_kms: float | None = None


def _coeff_name(i: int) -> str:
    return f"c_{i}"


class HostPCA(AbstractBasisHost):
    """Host starlight: sum_i c_i E_i(lambda), broadened by ``sigma`` and shifted by ``dv`` (km/s).

    Parameters: ``c_0`` (>= 0: the flux of the mean galaxy E_0 at norm_wave,
    model flux units), ``c_1 .. c_{n-1}`` (same units: every eigenspectrum is
    scaled by the factor that gives E_0 unit mean around norm_wave), ``sigma``
    and ``dv`` (km/s).
    """

    name: str
    basis: BroadenedBasis = eqx.field(kw_only=True)
    n_components: int = eqx.field(static=True, kw_only=True)
    norm_wave: float = eqx.field(static=True, kw_only=True)
    coeff_scale: float = eqx.field(static=True, default=1.0)
    sigma_range: tuple = eqx.field(static=True, default=(1.0, 500.0))
    dv_max: float = eqx.field(static=True, default=500.0)
    morphology: str = "extended"
    operation: str = "add"
    group: str = "continuum"

    def coeff_names(self) -> list[str]:
        """Local names of the coefficients, in eigenspectrum order."""
        return [_coeff_name(i) for i in range(self.n_components)]

    def priors(self):
        names = self.coeff_names()
        pri = {names[0]: dist.HalfNormal(self.coeff_scale)}
        pri.update({n: dist.Normal(0.0, self.coeff_scale) for n in names[1:]})
        pri["sigma"] = dist.Uniform(*self.sigma_range)
        pri["dv"] = dist.Uniform(-self.dv_max, self.dv_max)
        return pri

    def init_values(self):
        vals = {n: 0.0 for n in self.coeff_names()}
        vals[_coeff_name(0)] = 0.5
        vals.update(sigma=float(np.clip(100.0, *self.sigma_range)), dv=0.0)
        return vals

    def coefficient_names(self) -> list[str]:
        return self.coeff_names()


def _resolve_basis(name: str, opts: PCAHostOptions) -> EigenBasis:
    if opts.pca_file is not None:
        if opts.templates is not None:
            raise ConfigError(f"{name}: give either pca_file or templates, not both")
        from ..data import file_path

        return read_eigenspectra(file_path(opts.pca_file))
    from ..registry import get_registry

    set_name = DEFAULT_SET if opts.templates is None else opts.templates
    basis = get_registry().get("host_template", set_name)()
    if not isinstance(basis, EigenBasis):
        raise ConfigError(f"host template set {set_name!r} is a {type(basis).__name__}, not an EigenBasis; host_pca needs eigenspectra")
    return basis


@options_factory(PCAHostOptions)
def host_pca(name: str, opts: PCAHostOptions) -> HostPCA:
    """Host galaxy from eigenspectra (see :class:`PCAHostOptions` for the options)."""
    sigma_range = check_range(name, "sigma_range", opts.sigma_range)
    if opts.coeff_scale <= 0 or opts.dv_max <= 0:
        raise ConfigError(f"{name}: coeff_scale and dv_max must be positive")
    eb = _resolve_basis(name, opts)
    n = int(opts.n_components)
    if not 1 <= n <= eb.eigen.shape[0]:
        raise ConfigError(f"{name}: n_components must be 1..{eb.eigen.shape[0]} for {eb.source}, got {opts.n_components!r}")
    norm = window_mean(eb.wave, eb.eigen[:1], float(opts.norm_wave))[0]
    if norm <= 0:
        raise ConfigError(
            f"{name}: the first eigenspectrum has no flux around norm_wave={opts.norm_wave} A "
            f"(coverage {eb.wave[0]:.0f}-{eb.wave[-1]:.0f} A); choose a norm_wave inside it"
        )
    sig_t = eb.sigma_kms if opts.template_sigma_kms is None else float(opts.template_sigma_kms)
    max_sigma = float(np.hypot(sigma_range[1], MAX_INST_SIGMA_KMS) + opts.dv_max / 6.0)
    basis = BroadenedBasis.build(eb.wave, eb.eigen[:n] / norm, sig_t, (eb.wave[0], eb.wave[-1]), max_sigma)
    return HostPCA(
        name=name,
        basis=basis,
        n_components=n,
        norm_wave=float(opts.norm_wave),
        coeff_scale=float(opts.coeff_scale),
        sigma_range=sigma_range,
        dv_max=float(opts.dv_max),
    )

"""Built-in plugin: speclite filter curves and the speclite photometric system.

Every filter that speclite ships (``sdss2010-r``, ``decam2014-g``,
``panstarrs-i``, ``hsc2017-z``, ...) is registered by name; third-party
packages add their own through the ``register_filters`` hook with a loader
returning (wavelength in A, response). Synthetic AB magnitudes follow
Oke & Gunn (1983) for a photon-counting response (see ``agnfit.core.photometry``).
"""

from __future__ import annotations

import functools
import glob
import os

import equinox as eqx
import jax.numpy as jnp
import numpy as np

from ..core.photometry import AbstractPhotometricSystem
from ..errors import ConfigError
from ..registry.hookspecs import hookimpl

C_AA_S = 2.99792458e18  # speed of light in A/s
N_GRID = 128


def _speclite_dir() -> str:
    import speclite

    return os.path.join(os.path.dirname(speclite.__file__), "data", "filters")


def _speclite_loader(band: str):
    def load():
        import speclite.filters

        f = speclite.filters.load_filter(band)
        return np.asarray(f.wavelength, float), np.asarray(f.response, float)

    return load


@functools.lru_cache(maxsize=None)
def _load_band(band: str):
    from ..registry import get_registry

    wave, resp = get_registry().get("filter", band)()
    wave, resp = np.asarray(wave, float), np.asarray(resp, float)
    if wave.ndim != 1 or wave.shape != resp.shape or wave.size < 3 or np.any(np.diff(wave) <= 0):
        raise ConfigError(f"filter {band!r}: loader must return increasing wavelength and response of equal length")
    return wave, np.clip(resp, 0.0, None)


def band_grid(band: str, n_grid: int = N_GRID):
    """Uniform observed-frame grid (A) over the band's support and the response on it."""
    return uniform_curve(*_load_band(band), n_grid)


def uniform_curve(wave, resp, n_grid: int = N_GRID):
    """A response curve resampled to ``n_grid`` uniform points over its support (A), zero response outside."""
    wave, resp = np.asarray(wave, float), np.asarray(resp, float)
    nz = np.nonzero(resp > 0)[0]
    if nz.size == 0:
        raise ConfigError("a filter response curve must be positive somewhere")
    lo, hi = wave[max(nz[0] - 1, 0)], wave[min(nz[-1] + 1, wave.size - 1)]
    grid = np.linspace(lo, hi, n_grid)
    return grid, np.interp(grid, wave, resp)


class SpecliteSystem(AbstractPhotometricSystem):
    """AB magnitudes for named bands, each integrated on a uniform grid of ``n_grid`` points.

    Any set of response curves can be made into one with :func:`curve_system`
    (a plugin's own filter set, e.g.); :func:`speclite_system` does it for
    registered filters.

    Attributes:
        bands: band names (registered filters).
        wave: observed-frame grids (n_band, n_grid), A.
        weights: f_nu = sum(weights * f_lambda), i.e. trapezoid weights of
            T lambda dlambda divided by integral(T c / lambda dlambda).
        resp: responses on the grids (for coverage and plots).
    """

    bands: tuple = eqx.field(static=True)
    wave: jnp.ndarray
    weights: jnp.ndarray
    resp: jnp.ndarray

    def magnitudes(self, flux_lambda):
        fnu = jnp.sum(self.weights * flux_lambda, axis=-1)
        return -2.5 * jnp.log10(jnp.maximum(fnu, 1e-60)) - 48.60

    def coverage(self, wave_min, wave_max):
        w, r = np.asarray(self.wave), np.asarray(self.resp)
        inside = (w >= wave_min) & (w <= wave_max)
        total = np.trapezoid(r, w, axis=-1)
        return np.trapezoid(np.where(inside, r, 0.0), w, axis=-1) / total

    @property
    def effective_wave(self) -> np.ndarray:
        """Response-weighted mean wavelength of each band (A)."""
        w, r = np.asarray(self.wave), np.asarray(self.resp)
        return np.trapezoid(r * w, w, axis=-1) / np.trapezoid(r, w, axis=-1)


def speclite_system(bands, n_grid: int = N_GRID) -> SpecliteSystem:
    """Photometric system over registered filters ``bands``.

    Args:
        bands: registered filter names (speclite ``group-band``, e.g. ``sdss2010-r``).
        n_grid: points of each band's uniform observed-frame integration grid.
    """
    bands = tuple(bands)
    from ..registry import get_registry

    reg = get_registry()
    for b in bands:
        reg.get("filter", b)  # clear error with close matches for unknown names
    return curve_system(bands, [_load_band(b) for b in bands], n_grid)


def curve_system(bands, curves, n_grid: int = N_GRID) -> SpecliteSystem:
    """Photometric system for ``bands`` given their response curves.

    Args:
        bands: band names.
        curves: one (observed wavelength in A, photon response) pair of arrays per band.
        n_grid: points of each band's uniform integration grid.

    AB magnitudes: f_nu = integral(f_lambda T lambda dlambda) / integral(T c / lambda dlambda)
    (photon-counting response T), by the trapezoid rule on the uniform grid.
    """
    bands = tuple(bands)
    if len(curves) != len(bands):
        raise ConfigError(f"curve_system: {len(bands)} bands but {len(curves)} response curves")
    grids, resps, weights = [], [], []
    for wave, resp in curves:
        g, r = uniform_curve(wave, resp, n_grid)
        tw = np.zeros_like(g)
        dg = np.diff(g)
        tw[:-1] += dg / 2
        tw[1:] += dg / 2
        denom = np.sum(tw * r * C_AA_S / g)
        grids.append(g)
        resps.append(r)
        weights.append(tw * r * g / denom)
    return SpecliteSystem(bands, jnp.asarray(np.array(grids)), jnp.asarray(np.array(weights)), jnp.asarray(np.array(resps)))


@hookimpl
def register_filters():
    names = sorted(os.path.basename(p)[:-5] for p in glob.glob(os.path.join(_speclite_dir(), "*.ecsv")))
    return {n: _speclite_loader(n) for n in names}


@hookimpl
def register_photometric_systems():
    return {"speclite": speclite_system}

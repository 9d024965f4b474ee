"""The ``medband`` filter set and its photometric system.

``medband`` is an *idealised* medium-band survey: 12 filters of 300 A full
width at half maximum, centred every 400 A from 4100 to 8500 A
(``medband-m410`` ... ``medband-m850``, the suffix is the centre in nm). Each
response is a top hat with logistic edges,

    T(lambda) = T0 * L((lambda - lambda_blue) / s) * L((lambda_red - lambda) / s),
    L(x) = 1 / (1 + exp(-x)),  lambda_blue/red = centre -/+ FWHM / 2,

with peak throughput T0 = 0.9 and edge scale s = 8 A (10-90 % rise over
~35 A, like an interference filter). These are *not* the measured curves of
any instrument: no atmosphere, mirror or detector efficiency is folded in. A
real survey would ship its measured total-throughput tables in the same
format instead. The tables live in ``filters/*.ecsv`` (speclite's ECSV
layout: ``wavelength`` in Angstrom and ``response``, 5 A steps, zero at both
ends); :mod:`agnfit_plugin_example.make_filters` writes them from
:func:`tophat_response`.

The filters are registered with agnfit (``register_filters``), so any
photometric system can use them; agnfit's ``speclite`` system resamples each
curve onto a uniform grid. The ``medband`` system (``register_photometric_systems``)
integrates on the tables' own nodes instead, and accepts only this set's bands.
Synthetic AB magnitudes follow Oke & Gunn (1983) for a photon-counting response:

    m_AB = -2.5 log10 f_nu - 48.60,
    f_nu = integral(f_lambda T lambda dlambda) / integral(T c / lambda dlambda).
"""

from __future__ import annotations

import functools
from importlib import resources

import numpy as np

from agnfit.core.data import Photometry
from agnfit.plugins.filters import curve_system
from agnfit.errors import ConfigError

GROUP = "medband"
CENTRES_A = tuple(4100.0 + 400.0 * i for i in range(12))
FWHM_A = 300.0
EDGE_A = 8.0
PEAK = 0.9
HALF_SPAN_A = 250.0  # the tables run from centre - 250 A to centre + 250 A
STEP_A = 5.0
UJY_AB_ZEROPOINT = 23.9  # m_AB = 23.9 - 2.5 log10(f / microJansky)

ERR_BANDS = (
    "the medband photometric system takes only medband bands {known}, got {bad}; "
    "to combine them with another survey's bands use system = \"speclite\""
)


def band_name(centre_a: float) -> str:
    """``medband-m<centre in nm>``, e.g. ``medband-m410`` for 4100 A."""
    return f"{GROUP}-m{int(round(centre_a / 10.0))}"


BANDS = tuple(band_name(c) for c in CENTRES_A)


def tophat_response(centre_a: float, fwhm_a: float = FWHM_A, edge_a: float = EDGE_A,
                    peak: float = PEAK, step_a: float = STEP_A) -> tuple[np.ndarray, np.ndarray]:
    """(wavelength in A, response) of one logistic-edged top hat (see the module docstring).

    Sampled every ``step_a`` A over centre +- 250 A; the end points are set
    to exactly zero, as speclite's filter format requires.
    """
    wave = np.arange(centre_a - HALF_SPAN_A, centre_a + HALF_SPAN_A + 0.5 * step_a, step_a)
    blue, red = centre_a - fwhm_a / 2.0, centre_a + fwhm_a / 2.0
    resp = peak / (1.0 + np.exp(-(wave - blue) / edge_a)) / (1.0 + np.exp(-(red - wave) / edge_a))
    resp[0] = resp[-1] = 0.0
    return wave, resp


def table_path(band: str):
    """The shipped ECSV table of ``band`` (an ``importlib.resources`` path)."""
    return resources.files(__package__).joinpath("filters", f"{band}.ecsv")


@functools.lru_cache(maxsize=None)
def read_table(band: str) -> tuple[np.ndarray, np.ndarray]:
    """(wavelength in A, response) read from the shipped table of ``band``."""
    from astropy.table import Table

    with resources.as_file(table_path(band)) as path:
        t = Table.read(path, format="ascii.ecsv")
    wave = t["wavelength"].quantity.to_value("Angstrom")
    return np.asarray(wave, float), np.asarray(t["response"], float)


def filter_loaders() -> dict:
    """``{band: loader}`` for agnfit's ``register_filters`` hook."""
    return {b: functools.partial(read_table, b) for b in BANDS}


def medband_system(bands):
    """The ``medband`` photometric system over ``bands`` (each one of :data:`BANDS`).

    The magnitudes are integrated by agnfit's own machinery for tabulated
    response curves (:func:`agnfit.plugins.filters.curve_system`); what this
    system adds is that it only accepts medband bands, with a clear error.
    """
    bands = tuple(bands)
    bad = [b for b in bands if b not in BANDS]
    if bad or not bands:
        raise ConfigError(ERR_BANDS.format(known=list(BANDS), bad=bad))
    return curve_system(bands, [read_table(b) for b in bands])


def photometry_from_ujy(bands, flux_ujy, err_ujy) -> Photometry:
    """agnfit ``Photometry`` (AB mag) from catalogue fluxes in microJansky.

    m = 23.9 - 2.5 log10(f / uJy); sigma_m = 2.5 / ln(10) * sigma_f / f.
    Non-positive fluxes give NaN magnitudes, which ``Photometry`` drops with a warning.
    """
    f = np.asarray(flux_ujy, float)
    e = np.asarray(err_ujy, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        mags = np.where(f > 0, UJY_AB_ZEROPOINT - 2.5 * np.log10(f), np.nan)
        errs = np.where(f > 0, 2.5 / np.log(10.0) * e / f, np.nan)
    return Photometry(tuple(bands), mags, errs)

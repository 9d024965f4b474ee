"""Property-based fuzz of the input boundaries: read_spectrum, Spectrum, Photometry and fit.

The contract under test (README, "Errors and fallbacks"): every call either
succeeds with finite, usable values or raises one of the documented
:mod:`agnfit.errors` types with a message; never a bare NumPy/JAX/astropy/OS
error, never NaN in a result marked good. Any other exception fails the test
and hypothesis shrinks it to a minimal input.

The default run is small and deterministic (``derandomize``); the ``slow``
variants (``pytest -m slow``) explore many more, random, examples.
"""

from __future__ import annotations

import logging
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import agnfit
from agnfit.core.data import Photometry, Spectrum
from agnfit.errors import AgnfitError

from .fuzz_inputs import photometry_args, reader_options, spectrum_files, spectrum_kwargs, with_specials

COMMON = {"deadline": None, "database": None,
          "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]}
FAST = settings(max_examples=80, derandomize=True, **COMMON)
FAST_FILES = settings(max_examples=60, derandomize=True, **COMMON)
FAST_FIT = settings(max_examples=8, derandomize=True, **COMMON)
SLOW = settings(max_examples=1500, **COMMON)
SLOW_FIT = settings(max_examples=150, **COMMON)

FIT_CONFIG = {"data": {"deredden": False}, "components": {"pl": {"type": "power_law"}},
              "inference": [{"type": "map", "max_steps": 200}]}


@pytest.fixture(autouse=True)
def _quiet():
    """Fallback warnings are expected here by the thousand; keep the output readable."""
    logging.disable(logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield
    logging.disable(logging.NOTSET)


def attempt(call, what: str = "call"):
    """``call()``'s result, or None when it raised a documented agnfit error; any other error propagates.

    The outcome is recorded as a hypothesis event (``--hypothesis-show-statistics``).
    """
    try:
        out = call()
    except AgnfitError as exc:
        assert str(exc).strip(), f"{type(exc).__name__} without a message"
        event(f"{what}: {type(exc).__name__}")
        return None
    event(f"{what}: ok")
    return out


def assert_usable_spectrum(s: Spectrum) -> None:
    """What every validated spectrum guarantees to the fit."""
    n = s.wave.size
    assert n >= 10 and s.flux.shape == s.err.shape == s.mask.shape == (n,)
    assert s.wave.dtype == s.flux.dtype == s.err.dtype == np.float64 and s.mask.dtype == bool
    assert np.all(np.isfinite(s.wave)) and np.all(s.wave > 0) and np.all(np.diff(s.wave) > 0)
    assert np.all(np.isfinite(s.flux)) and np.all(np.isfinite(s.err)) and np.all(s.err[s.mask] > 0)
    assert s.mask.any() and 0.0 <= s.z <= 8.0 and np.isfinite(s.flux_unit) and s.flux_unit > 0
    if s.lsf_sigma_kms is not None:
        assert s.lsf_sigma_kms.shape == (n,) and np.all(np.isfinite(s.lsf_sigma_kms))
    if s.photometry is not None:
        assert_usable_photometry(s.photometry)


def assert_usable_photometry(p: Photometry) -> None:
    """What every validated photometry guarantees: the bands it keeps have finite mags and positive errors."""
    assert len(p.bands) == p.mags.size == p.errs.size == p.valid.size
    assert all(isinstance(b, str) for b in p.bands)
    assert np.all(np.isfinite(p.mags[p.valid])) and np.all(p.errs[p.valid] > 0)
    assert np.all(np.isfinite(p.errs[p.valid]))


# ---------------------------------------------------------------- Spectrum / Photometry


def spectrum_property(kw):
    s = attempt(lambda: Spectrum(**kw), "Spectrum")
    if s is not None:
        assert_usable_spectrum(s)


def photometry_property(args):
    p = attempt(lambda: Photometry(*args), "Photometry")
    if p is not None:
        assert_usable_photometry(p)


test_spectrum_fuzz = FAST(given(spectrum_kwargs())(spectrum_property))
test_photometry_fuzz = FAST(given(photometry_args())(photometry_property))
test_spectrum_fuzz_many = pytest.mark.slow(SLOW(given(spectrum_kwargs())(spectrum_property)))
test_photometry_fuzz_many = pytest.mark.slow(SLOW(given(photometry_args())(photometry_property)))


# ---------------------------------------------------------------- read_spectrum


def read_property(file, options):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"spec-fuzz{file.suffix}"
        path.write_bytes(file.content)
        s = attempt(lambda: agnfit.read_spectrum(path, **options), "read_spectrum")
        if s is not None:
            assert_usable_spectrum(s)
        as_table = {k: v for k, v in options.items() if k != "format"}
        s = attempt(lambda: agnfit.read_spectrum(str(path), format="table", **as_table), "read as table")
        if s is not None:
            assert_usable_spectrum(s)


test_read_spectrum_fuzz = FAST_FILES(given(spectrum_files(), reader_options())(read_property))
test_read_spectrum_fuzz_many = pytest.mark.slow(SLOW(given(spectrum_files(), reader_options())(read_property)))


def test_read_spectrum_errors_name_the_file(tmp_path):
    """A wrapped library error says which file could not be read."""
    for name, content in (("empty.fits", b""), ("junk.csv", b"\x00\xff" * 50), ("cut.fits", b"SIMPLE  =    T")):
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(agnfit.InputError, match=name):
            agnfit.read_spectrum(path, z=0.1)


# ---------------------------------------------------------------- fit


@st.composite
def fit_inputs(draw):
    """A spectrum that passes validation but is hostile to a fit: extreme scales, tiny or huge errors, spikes."""
    n = draw(st.integers(100, 900))
    wave = np.linspace(draw(st.floats(3000, 5000)), 9000.0, n)
    shape = draw(st.sampled_from(["power law", "zeros", "negative", "spike", "alternating", "noise"]))
    x = wave / 5000.0
    flux = {"power law": x**-1.5, "zeros": np.zeros(n), "negative": -x, "spike": np.where(np.arange(n) == n // 2, 1e6, 1.0),
            "alternating": (-1.0) ** np.arange(n), "noise": np.sin(np.arange(n) * 1.7)}[shape]
    flux = flux * 10 ** draw(st.floats(-30, 30))
    err = np.abs(flux).mean() * 10 ** draw(st.floats(-8, 8)) * np.ones(n) + 1e-300
    flux, err = draw(with_specials(flux)), draw(with_specials(err))
    return {"wave": wave, "flux": flux, "err": err, "z": draw(st.floats(0.0, 1.0)), "flux_unit": 1.0}


def fit_property(kw):
    cfg = agnfit.load_config(FIT_CONFIG)
    spec = attempt(lambda: Spectrum(**kw), "Spectrum")
    if spec is None:
        return
    res = attempt(lambda: agnfit.fit(spec, cfg), "fit")
    if res is None:
        return
    event(f"fit: converged={res.converged}")
    if not res.converged:
        return
    assert all(np.isfinite(v["median"]) for v in res.params.values()), res.params
    assert all(np.isfinite(v) for v in res.point.values()), res.point
    good = res.spectrum["mask"]
    assert np.all(np.isfinite(res.spectrum["model"][good]))


test_fit_fuzz = FAST_FIT(given(fit_inputs())(fit_property))
test_fit_fuzz_many = pytest.mark.slow(SLOW_FIT(given(fit_inputs())(fit_property)))


# ---------------------------------------------------------------- what the fuzz found (kept as regressions)


def _write_fits(path, hdus):
    from astropy.io import fits

    fits.HDUList(hdus).writeto(path)
    return path


def test_regressions_found_by_the_fuzz(tmp_path):
    from astropy.io import fits

    w = np.linspace(4000.0, 5000.0, 20)
    table = fits.BinTableHDU.from_columns([fits.Column(name=n, format="D", array=a)
                                           for n, a in (("wave", w), ("flux", np.ones(20)), ("err", np.ones(20)))])
    good = _write_fits(tmp_path / "table.fits", [fits.PrimaryHDU(), table])
    with pytest.raises(agnfit.InputError, match="columns= must be a dict"):
        agnfit.read_spectrum(good, z=0.1, columns=1)
    with pytest.raises(agnfit.InputError, match="not a table"):
        agnfit.read_spectrum(good, z=0.1, format="fits-table", hdu=0)
    with pytest.raises(agnfit.InputError, match="flux_unit"):
        agnfit.read_spectrum(good, z=0.1, flux_unit="abc")
    raw = good.read_bytes()
    (tmp_path / "cut.fits").write_bytes(raw[: len(raw) - 3000])
    with pytest.raises(agnfit.InputError, match="cut.fits: truncated FITS file"):
        agnfit.read_spectrum(tmp_path / "cut.fits", z=0.1)
    h = fits.PrimaryHDU(np.ones((4, 30)))
    h.header.update(COEFF0=3.6, COEFF1=1e-4, Z="abc")
    spspec = _write_fits(tmp_path / "spSpec-bad-z.fit", [h])
    with pytest.raises(agnfit.InputError, match="carries no redshift"):
        agnfit.read_spectrum(spspec)
    assert agnfit.read_spectrum(spspec, z=0.1).z == 0.1
    empty = fits.BinTableHDU.from_columns([fits.Column(name=n, format="D", array=np.zeros(0))
                                           for n in ("loglam", "flux", "ivar")], name="COADD")
    with pytest.raises(agnfit.InputError, match="no pixels"):
        agnfit.read_spectrum(_write_fits(tmp_path / "spec-empty.fits", [fits.PrimaryHDU(), empty]), z=0.1)
    dup = np.r_[w[:5], w[:5], w[:5]]
    with pytest.raises(agnfit.InputError, match="at least 10 distinct"):
        Spectrum(dup, np.ones(15), np.ones(15), 0.1, sort=True)

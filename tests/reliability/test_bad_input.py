"""Bad input gets a clear agnfit error or a stated, logged fallback; never a bare traceback or NaN."""

import logging

import numpy as np
import pytest

import agnfit
from agnfit.core.data import Photometry, Spectrum
from agnfit.errors import AgnfitError, ConfigError, InputError, PluginError

W = np.linspace(3800.0, 9200.0, 500)


def spec(**kw):
    base = {"wave": W, "flux": np.ones(W.size), "err": 0.1 * np.ones(W.size), "z": 0.1}
    base.update(kw)
    return Spectrum(**base)


def test_nan_and_bad_errors_are_masked_with_a_count(caplog):
    f = np.ones(W.size)
    f[:7] = np.nan
    e = 0.1 * np.ones(W.size)
    e[10:13] = 0.0
    e[20] = -1.0
    e[30] = np.inf
    with caplog.at_level(logging.WARNING):
        s = spec(flux=f, err=e)
    assert s.n_good == W.size - 7 - 5
    assert "masked 8 pixel(s) with NaN/inf flux or error" in caplog.text
    assert "masked 4 pixel(s) with zero or negative error" in caplog.text


@pytest.mark.parametrize("kw, match", [
    ({"err": np.zeros(W.size)}, "every pixel is masked"),
    ({"flux": np.ones(W.size - 1)}, "wave has 500 pixels but flux has 499"),
    ({"wave": W[::-1]}, "non-monotonic"),
    ({"wave": np.r_[W[:10], W[9:-1]]}, "duplicated"),
    ({"wave": np.log10(W)}, "log10"),
    ({"wave": W / 1e4}, "micron"),
    ({"wave": W / 10}, "nm"),
    ({"z": -0.1}, "outside"),
    ({"z": 30.0}, "outside"),
    ({"z": "abc"}, "must be a number"),
])
def test_malformed_spectra_raise_input_error(kw, match):
    with pytest.raises(InputError, match=match):
        spec(**kw)


def test_unsorted_wavelengths_sorted_when_asked(caplog):
    rng = np.random.default_rng(0)
    idx = rng.permutation(W.size)
    with caplog.at_level(logging.WARNING):
        s = spec(wave=W[idx], flux=W[idx], sort=True)
    assert np.all(np.diff(s.wave) > 0) and np.allclose(s.flux, s.wave)


def test_photometry_sentinels_dropped_with_warning(caplog):
    with caplog.at_level(logging.WARNING):
        p = Photometry(["sdss2010-g", "sdss2010-r", "sdss2010-i", "sdss2010-z"], [18.0, -9999.0, 99.0, 18.5], [0.02, 0.02, 0.02, -0.1])
    assert list(p.valid) == [True, False, False, False]
    assert "sdss2010-r" in caplog.text and "sdss2010-z" in caplog.text
    with pytest.raises(InputError, match="3 bands, 2 mags"):
        Photometry(["a", "b", "c"], [1, 2], [1, 2, 3])


def test_unknown_band_lists_close_matches():
    cfg = {"components": {"pl": {"type": "power_law"}}, "photometry": {"bands": ["sdss2010-rr"]}}
    with pytest.raises(PluginError, match="Did you mean.*sdss2010-r"):
        agnfit.fit(spec(), cfg)


def test_no_component_in_range_is_an_error_and_dropped_components_are_named():
    cfg = {"data": {"deredden": False}, "components": {"uv": {"type": "feii", "template": "vw01_uv"}}}
    with pytest.raises(agnfit.FitError, match="nothing to fit"):
        agnfit.fit(spec(z=0.0), cfg)
    cfg["components"]["pl"] = {"type": "power_law"}
    with pytest.warns(agnfit.AgnfitWarning, match=r"dropped: \['uv'\]"):
        res = agnfit.fit(spec(z=0.0, flux=(W / 5000) ** -1.5 + np.random.default_rng(1).normal(0, 0.01, W.size)), cfg)
    assert res.info["dropped_components"] == ["uv"]


def test_bad_dsps_file(tmp_path):
    import h5py

    fn = tmp_path / "bad.h5"
    with h5py.File(fn, "w") as h:
        h["ssp_wave"] = np.arange(10.0)
    cfg = {"components": {"host": {"type": "host_dsps", "ssp_file": str(fn)}}}
    with pytest.raises(InputError, match="bad.h5"):
        agnfit.fit(spec(), cfg)


def test_fuzz_spectra_never_escape_as_bare_errors():
    """Seeded random malformed spectra: each either validates and fits finitely, or raises an agnfit error."""
    rng = np.random.default_rng(42)
    cfg = agnfit.load_config({"data": {"deredden": False}, "components": {"pl": {"type": "power_law"}},
                              "inference": [{"type": "map", "max_steps": 200}]})
    tried = handled = silent_nan = 0
    for i in range(40):
        n = int(rng.integers(5, 400))
        wave = np.sort(rng.uniform(3000, 10000, n)) if rng.random() < 0.8 else rng.uniform(-5, 1e5, n)
        flux = rng.normal(1, 1, n) * (10 ** rng.uniform(-20, 3))
        err = np.abs(rng.normal(0.1, 0.1, n)) * rng.choice([1, 0, -1, np.nan], n, p=[0.85, 0.05, 0.05, 0.05])
        for arr in (flux, err):
            if rng.random() < 0.3:
                arr[rng.integers(0, n, 3)] = rng.choice([np.nan, np.inf, -np.inf])
        z = rng.choice([0.1, -1, 0.0, 5.0, np.nan])
        tried += 1
        try:
            res = agnfit.fit(Spectrum(wave, flux, err, z), cfg)
        except AgnfitError:
            handled += 1
            continue
        handled += 1
        vals = np.array([v["median"] for v in res.params.values()])
        if res.converged and not np.all(np.isfinite(vals)):
            silent_nan += 1
    print(f"bad-input fuzz: {tried} cases, {handled} handled, {silent_nan} silent NaN")
    assert handled == tried and silent_nan == 0

"""Known config keys with values a fit cannot use are a ConfigError naming the key, at load time."""

import pytest

import agnfit
from agnfit.errors import ConfigError

BASE = {"components": {"pl": {"type": "power_law"}}}


@pytest.mark.parametrize("section, values, match", [
    ("data", {"buckets": "abc"}, "data.buckets"),
    ("data", {"buckets": [1024, -5]}, "data.buckets"),
    ("data", {"wave_range": [5000.0]}, r"data.wave_range.*\[lo, hi\]"),
    ("data", {"wave_range": [6000.0, 5000.0]}, "lo < hi"),
    ("data", {"ebv": -0.1}, r"data.ebv \(mag\)"),
    ("data", {"rv": "3.1"}, "data.rv"),
    ("data", {"deredden": "yes"}, "data.deredden"),
    ("data", {"resolution_r": 0}, "data.resolution_r"),
    ("photometry", {"coverage": 3}, "photometry.coverage"),
    ("photometry", {"bands": "sdss2010-r"}, "photometry.bands"),
    ("likelihood", {"frac_jitter": 1}, "likelihood.frac_jitter"),
    ("derived", {"cosmology": {"H0": 70.0}}, "H0 .* and Om0"),
    ("derived", {"cosmology": {"H0": 70.0, "Om0": 0.3, "w0": -1}}, "not a FlatLambdaCDM"),
    ("derived", {"mbh_calibrations": ["VP06_Hbeta", "nope"]}, "known calibrations"),
    ("derived", {"continuum_wavelengths": [5100.0, -1.0]}, "derived.continuum_wavelengths"),
    ("derived", {"bolometric_corrections": {"red": 9.0}}, "bolometric_corrections key 'red'"),
])
def test_bad_values_are_config_errors(section, values, match):
    with pytest.raises(ConfigError, match=match):
        agnfit.load_config({**BASE, section: values})


def test_defaults_and_examples_pass():
    agnfit.load_config(None)
    cfg = agnfit.load_config({**BASE, "data": {"wave_range": [3500, 7000], "ebv": 0, "rv": 3}})
    assert cfg.data["wave_range"] == [3500, 7000]

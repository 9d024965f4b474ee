"""Configuration: TOML/dict loading, validation with clear errors, round trip."""

import pytest

import agnfit
from agnfit.config import Config, load_config, save_config
from agnfit.defaults import DEFAULT_TOML
from agnfit.errors import ConfigError, PluginError


def test_default_config_is_valid_and_round_trips(tmp_path):
    cfg = agnfit.default_config()
    path = tmp_path / "fit.toml"
    save_config(cfg, path)
    again = load_config(path)
    assert again == cfg
    save_config(again, tmp_path / "b.toml")
    assert (tmp_path / "b.toml").read_text() == path.read_text()


def test_commented_default_toml_parses_to_default():
    assert load_config(DEFAULT_TOML) == agnfit.default_config()


def test_dict_and_toml_give_the_same_config():
    toml = '[components.pl]\ntype = "power_law"\nwave0 = 5100.0\n'
    assert load_config(toml) == load_config({"components": {"pl": {"type": "power_law", "wave0": 5100.0}}})


def test_malformed_toml():
    with pytest.raises(ConfigError, match="malformed TOML"):
        load_config("[components.pl\ntype = 'power_law'")


def test_unknown_section_and_key():
    with pytest.raises(ConfigError, match="unknown key.*'componets'.*did you mean 'components'"):
        load_config({"componets": {}})
    with pytest.raises(ConfigError, match=r"\[data\].*'dereden'"):
        load_config({"data": {"dereden": True}})


def test_unknown_component_option_lists_allowed():
    with pytest.raises(ConfigError, match=r"\[components.pl\].*'wave_0'.*Allowed"):
        load_config({"components": {"pl": {"type": "power_law", "wave_0": 3000.0}}})


def test_unknown_plugin_name():
    with pytest.raises(PluginError, match="unknown component 'powerlaw'"):
        load_config({"components": {"pl": {"type": "powerlaw"}}})
    with pytest.raises(PluginError, match="unknown inference"):
        load_config({"inference": [{"type": "simulated_annealing"}]})


def test_component_needs_type_and_clean_name():
    with pytest.raises(ConfigError, match="needs a 'type'"):
        load_config({"components": {"pl": {"wave0": 3000.0}}})
    with pytest.raises(ConfigError, match="must not contain"):
        load_config({"components": {"p.l": {"type": "power_law"}}})


def test_prior_override_format_and_unknown_parameter():
    with pytest.raises(ConfigError, match="must be a table"):
        load_config({"priors": {"pl.alpha": -1.5}})
    from agnfit.build import build_model

    cfg = load_config({"components": {"pl": {"type": "power_law"}}, "priors": {"pl.beta": {"dist": "Normal", "loc": 0, "scale": 1}}})
    with pytest.raises(ConfigError, match=r"do not exist: \['pl.beta'\].*pl.alpha"):
        build_model(cfg, (3000.0, 8000.0))


def test_prior_override_takes_effect():
    from agnfit.build import build_model

    cfg = load_config({"components": {"pl": {"type": "power_law"}},
                       "priors": {"pl.alpha": {"dist": "Normal", "loc": -2.5, "scale": 0.01}}})
    pri = build_model(cfg, (3000.0, 8000.0)).priors()
    assert float(pri["pl.alpha"].loc) == -2.5
    cfg = load_config({"components": {"pl": {"type": "power_law"}}, "priors": {"pl.alpha": {"dist": "Fixed", "value": -1.0}}})
    model = build_model(cfg, (3000.0, 8000.0))
    assert float(model.fixed_values()["pl.alpha"]) == -1.0 and "pl.alpha" not in model.init_values()
    with pytest.raises(ConfigError, match="unknown distribution"):
        build_model(load_config({"components": {"pl": {"type": "power_law"}},
                                 "priors": {"pl.alpha": {"dist": "Gaussian", "loc": 0}}}), (3000.0, 8000.0))


def test_config_is_a_dataclass():
    assert isinstance(agnfit.default_config(), Config)


def test_photometry_prior_override_is_unused_without_photometry(data_dir):
    """A spectrum with no usable band fits with a config that sets priors on photometric parameters."""
    from agnfit import Observation, fit, simulate

    cfg = agnfit.load_config({
        "data": {"deredden": False, "wave_range": [4200.0, 5600.0]},
        "components": {"pl": {"type": "power_law", "wave0": 5100.0}},
        "photometry": {"bands": ["sdss2010-g", "sdss2010-r"]},
        "priors": {"psf.delta_m": {"dist": "Normal", "loc": 0.0, "scale": 0.1},
                   "noise.phot_extra": {"dist": "HalfNormal", "scale": 0.05}},
    })
    plain = agnfit.load_config({k: v for k, v in cfg.to_dict().items() if k not in ("photometry", "priors")})
    spec, _ = simulate(plain, {"pl.norm": 5.0, "pl.alpha": -1.5}, Observation(z=0.1, snr=30))
    res = fit(spec, cfg, photometry=None)
    assert res.info["converged"] and "psf.delta_m" not in res.point
    assert abs(res.point["pl.alpha"] + 1.5) < 0.1

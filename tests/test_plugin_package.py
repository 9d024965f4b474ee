"""A separately packaged third-party plugin is found through the entry-point group."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from agnfit.registry import manager
from pip_install import installed_distribution

PKG = Path(__file__).parent / "plugin_package"


@pytest.fixture(scope="module")
def installed_plugin(tmp_path_factory):
    with installed_distribution(PKG, tmp_path_factory.mktemp("plugin"), "agnfit_testplugin") as target:
        yield target


def test_registry_lists_plugin_entries_with_origin(installed_plugin):
    reg = manager.get_registry()
    assert reg.origin("filter", "testsurvey-x") == "agnfit-testplugin 0.0.1"
    assert reg.origin("component", "constant_continuum") == "agnfit-testplugin 0.0.1"
    assert reg.origin("component", "power_law") == manager.BUILTIN_ORIGIN


def test_cli_plugins_lists_origin(installed_plugin):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(installed_plugin), os.environ.get("PYTHONPATH", "")]))
    out = subprocess.run([sys.executable, "-m", "agnfit.cli", "plugins"], capture_output=True, text=True, env=env, check=True)
    lines = [ln.split() for ln in out.stdout.splitlines()]
    assert ["testsurvey-x", "agnfit-testplugin", "0.0.1"] in lines
    assert ["constant_continuum", "agnfit-testplugin", "0.0.1"] in lines


def test_toml_config_selects_plugin_filter_and_component(installed_plugin):
    import agnfit
    from agnfit.fit import fit
    from agnfit.simulate import Observation, simulate

    toml = """
    [data]
    deredden = false
    [components.flat]
    type = "constant_continuum"
    [components.pl]
    type = "power_law"
    [photometry]
    bands = ["testsurvey-x", "sdss2010-r"]
    [likelihood]
    frac_jitter = false
    add_jitter = false
    """
    cfg = agnfit.load_config(toml)
    assert cfg.components["flat"]["type"] == "constant_continuum"
    truth = {"flat.level": 3.0, "pl.norm": 5.0, "pl.alpha": -1.5, "psf.eta": 0.5, "psf.delta_m": 0.1}
    spec, phot = simulate(cfg, truth, Observation(z=0.05, snr=50))
    res = fit(spec, cfg, phot)
    assert res.photometry["bands"] == ["testsurvey-x", "sdss2010-r"]
    assert np.all(res.photometry["kept"])
    assert np.all(np.abs(res.photometry["mag_model"] - phot.mags) < 0.1)

"""The example plugin distribution (examples/agnfit-plugin-example), installed with pip and used by name.

It registers a filter set and photometric system (``medband``), a host-template
set (``bc03_eigen``) and an inference backend (``sample_adaptive``); each is
selected in a config and fitted to a simulated spectrum.
"""

import os
import subprocess
import sys
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest

from agnfit import Observation, fit, load_config, simulate
from agnfit.core.component import EvalContext
from agnfit.core.names import local_params
from agnfit.registry import manager
from pip_install import installed_distribution
from agnfit.simulate import true_model

PKG = Path(__file__).resolve().parents[1] / "examples" / "agnfit-plugin-example"
ORIGIN = "agnfit-plugin-example 0.1.0"
NO_JITTER = {"frac_jitter": False, "add_jitter": False}


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The package pip-installed into a temporary folder put on sys.path."""
    with installed_distribution(PKG, tmp_path_factory.mktemp("plugin"), "agnfit_plugin_example") as target:
        yield target


def _plugins_listing(env) -> dict:
    """``agnfit plugins`` output as {kind: {name: origin}}."""
    out = subprocess.run([sys.executable, "-m", "agnfit.cli", "plugins"], capture_output=True, text=True,
                         env=env, check=True).stdout
    table, kind = {}, None
    for line in out.splitlines():
        if not line.startswith(" "):
            kind = line.split()[0]
            table[kind] = {}
        elif line.strip():
            name, origin = line.split(None, 1)
            table[kind][name] = origin.strip()
    return table


def test_cli_lists_all_three_parts_with_origin(installed):
    from agnfit_plugin_example.medband import BANDS

    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(installed), os.environ.get("PYTHONPATH", "")]))
    table = _plugins_listing(env)
    assert all(table["filter"][b] == ORIGIN for b in BANDS)
    assert table["photometric_system"]["medband"] == ORIGIN
    assert table["host_template"]["bc03_eigen"] == ORIGIN
    assert table["inference"]["sample_adaptive"] == ORIGIN
    assert table["photometric_system"]["speclite"] == manager.BUILTIN_ORIGIN


def test_shipped_tables_are_the_generators_curves(installed, tmp_path):
    from agnfit_plugin_example.make_filters import write_tables
    from agnfit_plugin_example.medband import BANDS, read_table

    from astropy.table import Table

    paths = write_tables(tmp_path)
    assert [p.stem for p in paths] == list(BANDS)
    for p in paths:
        fresh = Table.read(p, format="ascii.ecsv")
        wave, resp = read_table(p.stem)
        np.testing.assert_allclose(wave, fresh["wavelength"], rtol=0, atol=1e-9)
        np.testing.assert_allclose(resp, fresh["response"], rtol=0, atol=1e-9)
        assert resp[0] == resp[-1] == 0.0 and resp.max() == pytest.approx(0.9, abs=1e-3)


def test_medband_system_ab_zero_point_and_speclite_agreement(installed):
    from agnfit.plugins.filters import speclite_system
    from agnfit_plugin_example.medband import BANDS, medband_system

    own, resampled = medband_system(BANDS), speclite_system(BANDS)
    # a flat f_nu source of AB magnitude 20 in every band
    flat = lambda w: 10 ** (-0.4 * (20.0 + 48.60)) * 2.99792458e18 / w**2  # noqa: E731
    np.testing.assert_allclose(own.magnitudes(flat(own.wave)), 20.0, atol=1e-9)
    # a quasar-like power law: the medband system and the registered filters see the same curves
    pl = lambda w: 1e-16 * (w / 5000.0) ** -1.5  # noqa: E731
    np.testing.assert_allclose(own.magnitudes(pl(own.wave)), resampled.magnitudes(pl(resampled.wave)), atol=1e-9)
    np.testing.assert_allclose(own.effective_wave, np.arange(4100.0, 8501.0, 400.0), atol=2.0)
    with pytest.raises(Exception, match="speclite"):
        medband_system(["medband-m410", "sdss2010-r"])


def test_fit_with_medband_photometry_reproduces_the_simulated_magnitudes(installed):
    from agnfit_plugin_example.medband import BANDS, photometry_from_ujy

    cfg = load_config({
        "data": {"deredden": False},
        "components": {"pl": {"type": "power_law", "wave0": 5100.0},
                       "host": {"type": "host_dsps", "ages": [1.0, 10.0], "logzsol": [0.0],
                               "weights": "independent"}},
        "photometry": {"system": "medband", "bands": list(BANDS), "extra_scatter": False},
        "likelihood": NO_JITTER,
    })
    truth = {"pl.norm": 10.0, "pl.alpha": -1.5, "host.w_0": 2.0, "host.w_1": 8.0, "host.sigma": 150.0,
             "host.dv": 0.0, "psf.eta": 0.4, "psf.delta_m": 0.1}
    spec, sim = simulate(cfg, truth, Observation(z=0.05, snr=30, seed=3, mag_err=0.01))
    # through the survey's catalogue unit and back
    flux = 10 ** (-0.4 * (sim.mags - 23.9))
    phot = photometry_from_ujy(BANDS, flux, flux * sim.errs * np.log(10) / 2.5)
    np.testing.assert_allclose(phot.mags, sim.mags, atol=1e-10)
    res = fit(spec, cfg, phot)
    assert res.info["kept_bands"] == list(BANDS)
    resid = res.photometry["mag_model"] - sim.mags
    assert np.all(np.abs(resid) < 0.04) and np.sqrt(np.mean(resid**2)) < 0.015
    assert res.point["psf.eta"] == pytest.approx(0.4, abs=0.1)
    assert res.point["psf.delta_m"] == pytest.approx(0.1, abs=0.05)


def _true_host_fraction(cfg, truth, obs, wave=5100.0) -> float:
    _, model = true_model(cfg, obs)
    ctx, w = EvalContext.constant(60.0), jnp.array([wave])
    host = float(model.component("host")(w, local_params("host", truth), ctx)[0])
    agn = float(model.component("pl")(w, local_params("pl", truth), ctx)[0])
    return host / (host + agn)


def test_host_pca_with_bc03_eigen_recovers_the_host_fraction(installed):
    sim_cfg = load_config({
        "data": {"deredden": False},
        "components": {"pl": {"type": "power_law", "wave0": 5100.0},
                       "host": {"type": "host_dsps", "ages": [0.3, 8.0], "logzsol": [-0.2],
                               "weights": "independent"}},
        "likelihood": NO_JITTER,
    })
    truth = {"pl.norm": 10.0, "pl.alpha": -1.5, "host.w_0": 2.0, "host.w_1": 8.0, "host.sigma": 150.0, "host.dv": 0.0}
    obs = Observation(z=0.1, snr=20, seed=4)
    spec, _ = simulate(sim_cfg, truth, obs)
    f_true = _true_host_fraction(sim_cfg, truth, obs)
    results = {}
    for templates in ("bc03_eigen", "yip2004_galaxy"):
        cfg = load_config({
            "data": {"deredden": False},
            "components": {"pl": {"type": "power_law", "wave0": 5100.0},
                           "host": {"type": "host_pca", "templates": templates, "n_components": 5}},
            "likelihood": NO_JITTER,
        })
        results[templates] = fit(spec, cfg)
    eigen, yip = results["bc03_eigen"], results["yip2004_galaxy"]
    assert eigen.info["converged"]
    assert eigen.derived["host_fraction.5100"]["median"] == pytest.approx(f_true, abs=0.05)
    assert eigen.info["chi2_reduced"] < 1.1
    # the SSP-derived basis describes an SSP host better than the SDSS galaxy eigenspectra do
    assert yip.info["chi2_reduced"] > eigen.info["chi2_reduced"] + 0.05


def test_sample_adaptive_posterior_contains_the_true_slope(installed):
    base = {
        "data": {"deredden": False},
        "components": {"pl": {"type": "power_law", "wave0": 5100.0},
                       "broad": {"type": "broad_lines", "lines": ["Hb"]}},
        "likelihood": NO_JITTER,
    }
    truth = {"pl.norm": 10.0, "pl.alpha": -1.3, "broad.Hb_flux": 900.0, "broad.Hb_fwhm": 4500.0, "broad.Hb_dv": 0.0}
    wave = 4200.0 * np.exp(69.0 / 299792.458 * np.arange(1890))  # 4200-6500 A: one 2048-pixel bucket
    spec, _ = simulate(load_config(base), truth, Observation(z=0.1, snr=15, seed=7, wave=wave))
    sa_stage = {"type": "sample_adaptive", "num_warmup": 500, "num_samples": 500, "thinning": 4}
    sa = fit(spec, load_config({**base, "inference": [{"type": "map"}, sa_stage]}))
    laplace = fit(spec, load_config({**base, "inference": [{"type": "map"}, {"type": "laplace"}]}))
    assert sa.info["backend"] == "sample_adaptive"
    assert [s["kind"] for s in sa.diagnostics["stages"]] == ["map"]
    alpha = np.asarray(sa.samples["pl.alpha"])
    assert alpha.shape == (4, 500)
    assert max(float(np.max(v)) for v in sa.diagnostics["r_hat"].values()) < 1.03
    med, sd = float(np.median(alpha)), float(np.std(alpha))
    assert abs(med - truth["pl.alpha"]) < 4 * sd
    assert alpha.min() < truth["pl.alpha"] < alpha.max()
    # the sampler explores the posterior's width, not just its mode
    assert sd == pytest.approx(float(np.std(laplace.samples["pl.alpha"])), rel=0.25)

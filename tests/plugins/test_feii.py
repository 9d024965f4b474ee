"""Fe II templates and the broadened-template component: registry, flux conservation, widths, shifts, ranges."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.signal import correlate

from agnfit.core.component import EvalContext
from agnfit.errors import ConfigError, PluginError
from agnfit.plugins import feii as feii_mod
from agnfit.plugins.broaden import C_KMS
from agnfit.plugins.feii import FWHM_TO_SIGMA, FeIIPriors, feii, feii_from_arrays
from agnfit.registry import Registry, get_registry, hookimpl
from agnfit.registry.manager import make_plugin_manager
from profile_measures import fwhm_kms

TEMPLATES = ("vw01_uv", "bg92_optical", "veron04_optical", "park22_optical", "pyqsofit_fe_uv", "pyqsofit_fe_optical")
CTX = EvalContext.constant(0.0)


def _draws(priors, n, seed=0):
    key = jax.random.PRNGKey(seed)
    return {k: d.sample(jax.random.fold_in(key, i), (n,)) for i, (k, d) in enumerate(priors.items())}


def _params(norm=1.0, fwhm=3000.0, dv=0.0):
    return {"norm": jnp.asarray(norm), "fwhm": jnp.asarray(fwhm), "dv": jnp.asarray(dv)}


def _log_wave(lo, hi, step_kms=5.0):
    return np.exp(np.arange(np.log(lo), np.log(hi), step_kms / C_KMS))


def _fwhm_kms(wave, flux, center):
    """FWHM (km/s) of a single-peaked profile around ``center`` (A)."""
    return fwhm_kms(C_KMS * np.log(np.asarray(wave) / center), flux)


@pytest.fixture(scope="module")
def components(data_dir):
    return {t: feii("fe", template=t) for t in TEMPLATES}


@pytest.fixture(scope="module")
def single_line():
    """A template with one Gaussian line at 5000 A of FWHM 400 km/s."""
    wave = np.linspace(4500.0, 5500.0, 20001)
    sigma = 400.0 * FWHM_TO_SIGMA / C_KMS * 5000.0
    flux = np.exp(-0.5 * ((wave - 5000.0) / sigma) ** 2)
    return feii_from_arrays("line", wave, flux, 400.0, FeIIPriors(fwhm_range=(500.0, 15000.0)))


def test_builtin_templates_registered_and_loadable(data_dir):
    reg = get_registry()
    assert set(TEMPLATES) <= set(reg.names("feii_template"))
    for t in TEMPLATES:
        wave, flux, fwhm = reg.get("feii_template", t)()
        assert wave.ndim == 1 and wave.shape == flux.shape and wave.size > 500
        assert np.all(np.diff(wave) > 0) and 1000.0 < wave[0] < wave[-1] < 8000.0
        assert 500.0 <= fwhm <= 1500.0


def test_template_ranges_match_their_files(components):
    assert components["vw01_uv"].wave_range == pytest.approx((1075.0, 3499.0), abs=1.0)
    assert components["pyqsofit_fe_uv"].wave_range == pytest.approx((1075.0, 3499.0), abs=1.0)
    assert components["bg92_optical"].wave_range == pytest.approx((3687.0, 7482.0), abs=1.0)
    assert components["park22_optical"].wave_range == pytest.approx((4000.0, 5600.0), abs=1.0)


@pytest.mark.parametrize("template", TEMPLATES)
def test_jit_vmap_gradients_nonnegative(components, template):
    comp = components[template]
    wave = jnp.asarray(np.geomspace(900.0, 9000.0, 3000))
    ctx = EvalContext.constant(60.0)
    draws = _draws(comp.priors(), 5, seed=3)
    f = jax.jit(jax.vmap(lambda p: comp(wave, p, ctx)))(draws)
    assert f.shape == (5, wave.size) and f.dtype == jnp.float64
    assert np.all(np.isfinite(np.asarray(f))) and np.all(np.asarray(f) >= 0.0)
    assert np.all(np.asarray(f).max(axis=1) > 0.0)
    grads = jax.jit(jax.vmap(jax.grad(lambda p: jnp.sum(comp(wave, p, ctx) ** 2))))(draws)
    for k, g in grads.items():
        assert np.all(np.isfinite(np.asarray(g))), k
    assert np.all(np.asarray(grads["norm"]) > 0)


@pytest.mark.parametrize("template", TEMPLATES)
@pytest.mark.parametrize("fwhm, dv", [(1000.0, 0.0), (4000.0, 1500.0), (15000.0, -2000.0)])
def test_flux_conservation(components, template, fwhm, dv):
    comp = components[template]
    wave = _log_wave(500.0, 12000.0, 10.0)
    f = np.asarray(comp(jnp.asarray(wave), _params(2.5, fwhm, dv), EvalContext.constant(70.0)))
    assert np.trapezoid(f, wave) == pytest.approx(2.5, rel=0.01)


def test_zero_and_finite_outside_the_template(components):
    comp = components["bg92_optical"]
    lo, hi = comp.wave_range
    outside = np.concatenate([[0.0, 1e-3, 1.0], np.geomspace(10.0, 0.8 * lo, 50), np.geomspace(1.2 * hi, 1e6, 50)])
    outside = jnp.asarray(outside)
    f = np.asarray(comp(outside, _params(3.0, 15000.0, 2000.0), CTX))
    assert np.all(f == 0.0)
    g = jax.jit(jax.grad(lambda p: jnp.sum(comp(outside, p, CTX))))(_params())
    assert all(np.isfinite(float(v)) for v in g.values())


def test_broader_fwhm_lowers_the_peak(components):
    comp = components["bg92_optical"]
    wave = jnp.asarray(_log_wave(4000.0, 6000.0, 20.0))
    peaks = [float(jnp.max(comp(wave, _params(fwhm=f), CTX))) for f in (1500.0, 3000.0, 6000.0, 12000.0)]
    assert np.all(np.diff(peaks) < 0)


def test_line_width_adds_instrument_and_removes_template_width(single_line):
    wave = _log_wave(4700.0, 5300.0, 2.0)
    for fwhm, sigma_inst in [(3000.0, 0.0), (2000.0, 150.0), (800.0, 0.0)]:
        f = single_line(jnp.asarray(wave), _params(1.0, fwhm), EvalContext.constant(sigma_inst))
        expected = np.hypot(fwhm, sigma_inst / FWHM_TO_SIGMA)
        assert _fwhm_kms(wave, f, 5000.0) == pytest.approx(expected, rel=0.01)


def test_target_narrower_than_template_stays_finite(single_line):
    wave = jnp.asarray(_log_wave(4900.0, 5100.0, 2.0))
    p = _params(1.0, 100.0)
    f = single_line(wave, p, CTX)
    assert np.all(np.isfinite(np.asarray(f))) and float(jnp.max(f)) > 0
    g = jax.grad(lambda p: jnp.sum(single_line(wave, p, CTX)))(p)
    assert all(np.isfinite(float(v)) for v in g.values())


@pytest.mark.parametrize("dv", [-1200.0, 350.0, 1800.0])
def test_dv_shifts_the_cross_correlation_peak(components, dv):
    comp = components["bg92_optical"]
    step = 5.0
    wave = jnp.asarray(_log_wave(3000.0, 8500.0, step))  # the whole template: no edge effects
    f0 = np.asarray(comp(wave, _params(fwhm=2000.0, dv=0.0), CTX))
    f1 = np.asarray(comp(wave, _params(fwhm=2000.0, dv=dv), CTX))
    xc = correlate(f1, f0, mode="full", method="fft")
    k = np.argmax(xc)
    frac = 0.5 * (xc[k - 1] - xc[k + 1]) / (xc[k - 1] - 2 * xc[k] + xc[k + 1])  # parabola through the peak
    assert (k - (f0.size - 1) + frac) * step == pytest.approx(dv, abs=0.5)


def test_dv_shifts_a_single_line(single_line):
    wave = _log_wave(4800.0, 5200.0, 1.0)
    lnw = np.log(wave)
    f0, f1 = (np.asarray(single_line(jnp.asarray(wave), _params(1.0, 1000.0, dv), CTX)) for dv in (0.0, 600.0))
    centroid = [np.trapezoid(f * lnw, wave) / np.trapezoid(f, wave) for f in (f0, f1)]
    assert C_KMS * (centroid[1] - centroid[0]) == pytest.approx(600.0, abs=0.5)
    assert C_KMS * (centroid[0] - np.log(5000.0)) == pytest.approx(0.0, abs=2.0)


def test_unknown_template_lists_the_available_ones(data_dir):
    with pytest.raises(PluginError) as err:
        feii("fe", template="bg93_optical")
    msg = str(err.value)
    for t in TEMPLATES:
        assert t in msg


def test_third_party_template_through_the_registry(monkeypatch):
    class Plugin:
        @staticmethod
        @hookimpl
        def register_feii_templates():
            wave = np.linspace(6000.0, 7000.0, 1001)
            return {"toy": lambda: (wave, np.exp(-0.5 * ((wave - 6500.0) / 5.0) ** 2), 500.0)}

    reg = Registry(make_plugin_manager(load_entry_points=False, extra_plugins=[Plugin]))
    monkeypatch.setattr("agnfit.registry.get_registry", lambda: reg)
    comp = feii("fe", template="toy")
    assert comp.template == "toy" and comp.template_fwhm == 500.0
    assert comp.wave_range == (6000.0, 7000.0)


def test_restrict(components, data_dir):
    comp = components["bg92_optical"]
    assert comp.restrict(1200.0, 3000.0) is None
    assert comp.restrict(8000.0, 9000.0) is None
    assert comp.restrict(4000.0, 5500.0) is comp
    assert comp.restrict(3000.0, 8000.0) is comp
    uv = components["vw01_uv"]
    assert uv.restrict(3600.0, 7000.0) is None
    assert uv.restrict(2000.0, 4000.0) is uv
    # overlapping, but holding too little of the template's flux
    assert comp.coverage(3000.0, 3700.0) < 0.25 and comp.restrict(3000.0, 3700.0) is None
    assert feii("fe", template="bg92_optical", min_coverage=0.0).restrict(3000.0, 3700.0) is not None


def test_min_coverage(components, data_dir):
    """A UV template in a spectrum starting near 3300 A rest holds ~10 % of its flux: dropped by default."""
    uv = components["vw01_uv"]
    assert uv.min_coverage == 0.25
    assert uv.coverage(1000.0, 4000.0) == pytest.approx(1.0, abs=1e-9)
    cov = uv.coverage(3300.0, 8000.0)
    assert 0.05 < cov < 0.15
    assert uv.coverage(1000.0, 3300.0) + cov == pytest.approx(1.0, abs=0.01)
    assert uv.restrict(3300.0, 8000.0) is None and uv.restrict(2700.0, 8000.0) is uv
    loose = feii("fe", template="vw01_uv", min_coverage=0.05)
    assert loose.restrict(3300.0, 8000.0) is loose
    for bad in (-0.1, 1.5, "x"):
        with pytest.raises(ConfigError, match="min_coverage"):
            feii("fe", template="vw01_uv", min_coverage=bad)


def test_options_have_effects(data_dir):
    comp = feii("fe", template="park22_optical", fwhm_range=[1500.0, 8000.0], dv_range=(-500.0, 700.0), norm_scale=20.0)
    pri = comp.priors()
    assert set(pri) == {"norm", "fwhm", "dv"}
    assert (float(pri["fwhm"].low), float(pri["fwhm"].high)) == (1500.0, 8000.0)
    assert (float(pri["dv"].low), float(pri["dv"].high)) == (-500.0, 700.0)
    assert float(pri["norm"].scale) == 20.0
    assert comp.template_fwhm == 800.0
    assert feii("fe", template="park22_optical", template_fwhm=1200.0).template_fwhm == 1200.0
    assert set(comp.init_values()) == set(pri)


@pytest.mark.parametrize(
    "options",
    [{"fwhm_range": (3000.0, 1000.0)}, {"fwhm_range": (0.0, 1000.0)}, {"dv_range": 5.0}, {"norm_scale": -1.0}],
)
def test_bad_options_are_config_errors(data_dir, options):
    with pytest.raises(ConfigError):
        feii("fe", **options)


def test_bad_template_arrays_are_plugin_errors():
    wave = np.linspace(4000.0, 5000.0, 11)
    with pytest.raises(PluginError):
        feii_from_arrays("fe", wave, np.zeros(10), 900.0)
    with pytest.raises(PluginError):
        feii_from_arrays("fe", wave, -np.ones(11), 900.0)
    with pytest.raises(PluginError):
        feii_from_arrays("fe", wave, np.ones(11), float("nan"))


def test_negative_template_pixels_do_not_make_negative_flux(components):
    # the PyQSOFit optical file has ~240 negative (noise) pixels
    wave, flux, _ = feii_mod.TEMPLATES["pyqsofit_fe_optical"]()
    assert np.any(flux < 0)
    comp = components["pyqsofit_fe_optical"]
    f = np.asarray(comp(jnp.asarray(_log_wave(3600.0, 7600.0, 10.0)), _params(1.0, 1000.0), CTX))
    assert np.all(f >= 0.0)

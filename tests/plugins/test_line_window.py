"""Line profiles on pixel windows: the same spectrum and gradient as on every pixel."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from agnfit.core.component import EvalContext, Sampling
from agnfit.plugins.line_window import WINDOW_SIGMAS, slot_windows, window_pixels
from agnfit.plugins.lines import C_KMS, FWHM_RATIO_MAX, broad_lines, narrow_lines

SDSS_SAMPLING = Sampling(pixel_kms=C_KMS * np.log(10) * 1e-4, sigma_kms=65.0)
#: an SDSS-like grid, d log10(lambda) = 1e-4 (69 km/s per pixel), 4096 pixels from 3300 A (rest)
SDSS = jnp.asarray(3300.0 * 10 ** (1e-4 * np.arange(4096)))


def _prepared(comp):
    """A context prepared for ``comp``, as inside a fit (the spectrum's own grid)."""
    ctx = EvalContext.constant(65.0, 3000.0, 9000.0)
    return ctx._replace(prepared={comp.name: comp.prepare(ctx)})


def _params(comp, seed=0, extreme=False):
    """Parameters inside the priors; with ``extreme`` the widest FWHMs and the largest shifts allowed."""
    rng = np.random.default_rng(seed)
    start, out = comp.init_values(), {}
    for k, role in zip(comp.layout.names, comp.layout.roles):
        v = start[k]
        if role == "dv":
            v = comp.dv_max * (rng.choice([-1.0, 1.0]) if extreme else rng.uniform(-0.3, 0.3))
        elif role == "fwhm":
            v = comp.fwhm_range[1] if extreme else v * (1.0 + 0.2 * rng.random())
        elif role == "fwhm_ratio":
            v = FWHM_RATIO_MAX if extreme else 2.0
        elif role in ("h3", "h4"):
            v = 0.05
        else:
            v = v * (1.0 + 0.2 * rng.random())
        out[k] = jnp.asarray(v)
    return out


def _value_and_grad(comp, wave, params, ctx):
    def loss(p):
        return jnp.sum(jnp.sin(1e-3 * wave) * comp(wave, p, ctx))  # every pixel weighted differently

    return comp(wave, params, ctx), jax.grad(loss)(params)


COMPONENTS = {
    "broad": lambda: broad_lines("br", fwhm_range=(1200.0, 8000.0)),
    "broad_2gauss_gh": lambda: broad_lines("br", n_gauss=2, profile="gauss_hermite", fwhm_range=(1000.0, 3000.0)),
    "narrow": lambda: narrow_lines("nl"),
    "narrow_gh": lambda: narrow_lines("nl", profiles={"OIII_5007": "gauss_hermite"}),
}


@pytest.mark.parametrize("name", sorted(COMPONENTS))
@pytest.mark.parametrize("extreme", [False, True])
def test_windowed_lines_equal_every_pixel(name, extreme):
    """On the spectrum's grid, value and gradient agree to round-off with the profiles on every pixel."""
    comp = COMPONENTS[name]()
    windowed = comp.for_sampling(SDSS_SAMPLING)
    assert 0 < windowed.window <= SDSS.size // 2  # the windowed evaluation is the one tested
    ctx = _prepared(comp)
    params = _params(comp, extreme=extreme)
    val, grad = _value_and_grad(windowed, SDSS, params, ctx)
    ref_val, ref_grad = _value_and_grad(comp, SDSS, params, ctx)
    assert float(jnp.max(ref_val)) > 0
    np.testing.assert_allclose(val, ref_val, rtol=1e-12, atol=1e-15 * float(jnp.max(ref_val)))
    for k in params:
        np.testing.assert_allclose(grad[k], ref_grad[k], rtol=1e-9, atol=1e-12 * float(jnp.max(jnp.abs(ref_grad[k]))))


def test_other_grids_use_every_pixel():
    """Bands, derived quantities and plots (an unprepared context, a finer grid) are not cut to the windows."""
    comp = narrow_lines("nl", lines=["Hb", "OIII_4959", "OIII_5007"])
    windowed = comp.for_sampling(SDSS_SAMPLING)
    fine = jnp.asarray(4861.0 * np.exp(np.arange(-2048, 2048) * 5.0 / C_KMS))  # 5 km/s pixels
    params = _params(comp)
    ctx = EvalContext.constant(65.0)
    np.testing.assert_array_equal(windowed(fine, params, ctx), comp(fine, params, ctx))
    np.testing.assert_array_equal(windowed.line_profile(fine, params, None, "Hb"), comp.line_profile(fine, params, None, "Hb"))


def test_window_sizes():
    assert narrow_lines("nl").for_sampling(SDSS_SAMPLING).window == 128  # every default narrow width on SDSS pixels
    assert broad_lines("br").for_sampling(SDSS_SAMPLING).window == 4096  # up to 20000 km/s: no window on 4096 pixels
    assert window_pixels(1000.0, Sampling(20.0, 30.0)) > window_pixels(1000.0, SDSS_SAMPLING)
    assert window_pixels(1000.0, Sampling(0.0, 65.0)) == 0  # wavelengths not increasing: no window
    # the window holds 2 x WINDOW_SIGMAS dispersions of the widest profile
    sigma = np.hypot(1000.0 / 2.3548, 65.0)
    assert window_pixels(1000.0, SDSS_SAMPLING) * SDSS_SAMPLING.pixel_kms > 2 * WINDOW_SIGMAS * sigma


def test_slot_windows_start_at_the_blue_end_and_stay_inside():
    lnw = jnp.log(SDSS)
    blue = jnp.log(jnp.array([3200.0, 5000.0, 8600.0]))  # before the grid, inside, past its end
    rows = slot_windows(lnw, blue, 64)
    assert rows.shape == (3, 64)
    assert int(rows[0, 0]) == 0 and int(rows[2, -1]) == SDSS.size - 1
    assert float(SDSS[rows[1, 0]]) >= 5000.0 > float(SDSS[rows[1, 0] - 1])


def test_fits_use_the_spectrum_sampling():
    """A prepared spectrum reports its sampling, and the model built for it carries the windows."""
    import agnfit
    from agnfit.build import build_model
    from agnfit.prepare import prepare
    from agnfit.simulate import Observation, simulate

    cfg = agnfit.load_config({"data": {"deredden": False}, "components": {
        "power_law": {"type": "power_law"}, "narrow_lines": {"type": "narrow_lines", "lines": ["Hb", "OIII_5007"]}}})
    spec, _ = simulate(cfg, {}, Observation(z=0.1))
    prep = prepare(spec, cfg)
    assert prep.sampling.pixel_kms > 0 and prep.sampling.sigma_kms > 0
    model = build_model(cfg, prep.rest_range, with_photometry=False, sampling=prep.sampling)
    lines = next(c for c in model.components if c.name == "narrow_lines")
    assert lines.window == window_pixels(lines.fwhm_range[1], prep.sampling)

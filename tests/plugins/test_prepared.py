"""Per-spectrum preparation: a host's window of the broadening grid, the lines' LSF at their centres.

Everything prepared once per spectrum must give the same model, value and
Jacobian, as the evaluation without it, on the spectrum's pixels; other
wavelengths (photometric bands, derived quantities) never see it.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import agnfit
from agnfit.build import build_model
from agnfit.core.component import AbstractComponent, EvalContext
from agnfit.core.names import local_params
from agnfit.plugins.broaden import WINDOW_LN_STEP
from agnfit.plugins.host import host_dsps
from agnfit.plugins.host_pca import host_pca
from agnfit.prepare import prepare
from agnfit.simulate import Observation, simulate


@pytest.fixture(scope="module")
def hosts(data_dir):
    return {"host": host_dsps("host"), "pca": host_pca("pca")}


def _params(comp, sigma, dv):
    rng = np.random.default_rng(1)
    p = {n: jnp.asarray(rng.uniform(0.05, 0.5)) for n in comp.priors() if n not in ("sigma", "dv")}
    return p | {"sigma": jnp.asarray(sigma), "dv": jnp.asarray(dv)}


# rest ranges: SDSS at z = 0, 0.4 and 1.5, one past the grid's blue end and one at its red end
RANGES = [(3800.0, 9200.0), (2714.0, 6571.0), (1520.0, 3680.0), (900.0, 2100.0), (5200.0, 12000.0)]


@pytest.mark.parametrize("which", ["host", "pca"])
@pytest.mark.parametrize("rest", RANGES)
def test_window_equals_whole_grid(hosts, which, rest):
    comp = hosts[which]
    lo, hi = rest
    if not comp.basis.overlaps(lo, hi):
        pytest.skip("no overlap with this basis")
    r = comp.restrict(lo, hi)
    if which == "pca":  # the eigenspectra cover 3450-8350 A: their whole grid is no longer than a window
        assert r.basis.window == 0
    else:
        assert 0 < r.basis.window < r.basis.templates.n_fft
    ctx = EvalContext.constant(65.0, lo, hi)
    prep = ctx._replace(prepared={comp.name: jax.jit(lambda c: r.prepare(c))(ctx)})
    # the spectrum's pixels, plus padding pixels past its red end (masked in a fit: finite is enough)
    wave = jnp.geomspace(lo, hi, 3000)
    pad = hi * jnp.exp(jnp.arange(1, 60) * 2.3e-4)
    for sigma, dv in ((60.0, -comp.dv_max), (250.0, 0.0), (comp.sigma_range[1], comp.dv_max)):
        p = _params(comp, sigma, dv)
        whole, win = r(wave, p, ctx), jax.jit(lambda q, c: r(wave, q, c))(p, prep)
        peak = float(jnp.max(jnp.abs(whole)))
        np.testing.assert_allclose(win, whole, rtol=0, atol=1e-12 * peak)
        # the window's analytic Jacobian against forward-mode differentiation of the whole grid
        names = tuple(p)
        ref_val, ref_jac = AbstractComponent.jacobian(r, wave, p, ctx, names)
        val, jac = r.jacobian(wave, p, prep, names)
        np.testing.assert_allclose(val, ref_val, rtol=0, atol=1e-6 * peak)  # single-precision rows
        scale = np.max(np.abs(np.asarray(ref_jac)), axis=0) + 1e-300
        # single-precision rows, as for the whole grid (~1e-6 of a column, 2e-6 at the UV edge of the
        # grid where the flux is low); the dv column (differences of neighbouring
        # float32 samples) keeps ~4 digits where the UV flux is low; a logit column is a difference
        # of templates (p_i (T_i - mean)), which cancels to ~5e-6 of its size
        tol = np.array([1e-4 if n == "dv" else 2e-5 if n.startswith("logit") else 2e-6 for n in names])
        err = np.max(np.abs(np.asarray(jac - ref_jac)), axis=0) / scale
        assert np.all(err <= tol), dict(zip(names, err))
        assert np.all(np.isfinite(np.asarray(r(pad, p, prep))))


def test_window_length_depends_on_span_only(hosts):
    host = hosts["host"]
    sdss = [host.restrict(3800.0 / (1 + z), 9200.0 / (1 + z)) for z in (0.0, 0.13, 0.71)]
    assert len({repr(h) for h in sdss}) == 1  # one model, one compilation, whatever the redshift
    span = np.log(9200.0 / 3800.0)
    assert span < WINDOW_LN_STEP * np.ceil(span / WINDOW_LN_STEP)
    longer = host.restrict(3600.0, 3600.0 * np.exp(WINDOW_LN_STEP * np.ceil(span / WINDOW_LN_STEP) + 0.01))
    assert longer.basis.window > sdss[0].basis.window
    assert host.restrict(1000.0, 12000.0).basis.window == 0  # the whole grid: nothing to gain
    assert host.restrict(12500.0, 20000.0) is None


def test_model_prepare_changes_no_value(data_dir):
    """The fit's potential, fiber model and photometry are the same with and without the preparation."""
    cfg = agnfit.default_config()
    spec, _ = simulate(cfg, {}, Observation(z=0.25, snr=20))
    prep = prepare(spec, cfg)
    model = build_model(cfg, prep.rest_range, with_photometry=False)
    data = prep.data
    ready = model.prepare(data)
    assert set(ready.ctx.prepared) == {"host", "broad_lines", "narrow_lines"}
    assert model.prepare(ready) is ready  # prepared once
    params = model.complete(model.init_values())
    base = model.fiber_flux(data.wave, params, data.ctx)
    fast = jax.jit(lambda p, d: model.fiber_flux(d.wave, p, d.ctx))(params, ready)
    m = np.asarray(data.mask) > 0
    np.testing.assert_allclose(np.asarray(fast)[m], np.asarray(base)[m], rtol=1e-12, atol=1e-12 * float(jnp.max(base)))
    for c in model.components:
        lp = local_params(c.name, params)
        np.testing.assert_allclose(c(data.wave, lp, ready.ctx)[m], c(data.wave, lp, data.ctx)[m], rtol=1e-12, atol=1e-13)
    assert ready.ctx.unprepared().prepared is None and data.ctx.unprepared() is data.ctx

"""Model switches: a fit stage as the full model with components switched off and their parameters held."""

import jax.numpy as jnp
import numpy as np
import pytest

from agnfit import Observation, load_config, simulate
from agnfit.fit import setup_fit
from agnfit.plugins import map as M
from agnfit.plugins.fisher import fisher_matrix

CFG = {
    "data": {"deredden": False, "wave_range": [4200.0, 5600.0]},
    "components": {
        "pl": {"type": "power_law", "wave0": 5100.0},
        "poly": {"type": "legendre_poly", "degree": 2},
        "broad": {"type": "broad_lines", "lines": ["Hb"]},
        "narrow": {"type": "narrow_lines", "lines": ["OIII_5007"]},
    },
}


@pytest.fixture(scope="module")
def setup():
    cfg = load_config(CFG)
    spec, _ = simulate(cfg, {"pl.norm": 10.0, "broad.Hb_flux": 400.0}, Observation(z=0.1, snr=30, seed=5))
    return setup_fit(spec, cfg)


def test_switched_marks_components_and_held_parameters(setup):
    model = setup.model
    cont = model.switched(M.CONTINUUM_GROUPS)
    on = {c.name: float(w) for c, w in zip(model.components, cont.switches.components)}
    assert on == {"pl": 1.0, "poly": 1.0, "broad": 0.0, "narrow": 0.0}
    assert float(cont.switches.photometry) == 0.0
    held = {k for k, v in cont.switches.free.items() if float(v) == 0.0}
    assert held and all(k.split(".")[0] in ("broad", "narrow") for k in held)
    assert {"noise.frac_jitter", "noise.add_jitter"} <= {k for k, v in cont.switches.free.items() if float(v) == 1.0}
    full = model.switched()
    assert all(float(v) == 1.0 for v in full.switches.free.values())
    assert float(jnp.sum(full.switches.components)) == len(model.components)


def test_switched_off_lines_leave_the_continuum(setup):
    model, data = setup.model, setup.prep.data
    params = model.init_values()
    comps = model.component_fluxes(data.wave, params, data.ctx)
    expected = comps["pl"] * comps["poly"]
    np.testing.assert_allclose(model.switched(M.CONTINUUM_GROUPS).fiber_flux(data.wave, params, data.ctx), expected)
    np.testing.assert_allclose(model.switched().fiber_flux(data.wave, params, data.ctx),
                               model.fiber_flux(data.wave, params, data.ctx))


def test_continuum_stage_holds_the_switched_off_parameters(setup):
    model, data = setup.model, setup.prep.data
    u0 = M.start_point(model, data)
    cont, cdata = M._continuum_problem(model, data)
    res = M.optimize(cont, cdata, u0, *M.MAP()._settings("continuum"))
    held = [k for k, v in cont.switches.free.items() if float(v) == 0.0]
    for k in held:
        assert float(res.u[k]) == float(u0[k]), k
    assert any(float(res.u[k]) != float(u0[k]) for k in u0 if k.startswith("pl."))
    # the curvature: identity rows and columns for the held parameters
    names = sorted(u0)
    h = np.asarray(fisher_matrix(cont, cont.prepare(cdata), u0, names, u0))
    idx = [names.index(k) for k in held]
    np.testing.assert_array_equal(h[np.ix_(idx, idx)], np.eye(len(idx)))
    others = [i for i in range(len(names)) if i not in idx]
    np.testing.assert_array_equal(h[np.ix_(idx, others)], 0.0)

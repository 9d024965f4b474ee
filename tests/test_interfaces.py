"""Every registered plugin passes the same interface checks.

A new component, aperture model, photometric system or inference backend is
tested by being registered: shapes, dtypes, jit, vmap and finite gradients.
"""

import inspect

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from agnfit.core.aperture import AbstractApertureModel
from agnfit.core.component import AbstractComponent, EvalContext
from agnfit.core.inference import AbstractInference, Posterior
from agnfit.core.photometry import AbstractPhotometricSystem
from agnfit.registry import get_registry

REG = get_registry()
WAVE = jnp.asarray(np.geomspace(1100.0, 11000.0, 1500))
CTX = EvalContext.constant(60.0, 1100.0, 11000.0)


def _draws(priors, n, seed=0):
    key = jax.random.PRNGKey(seed)
    return {k: d.sample(jax.random.fold_in(key, i), (n,)) for i, (k, d) in enumerate(priors.items())}


@pytest.fixture(scope="module", params=REG.names("component"))
def component(request):
    comp = REG.get("component", request.param)("c0")
    assert isinstance(comp, AbstractComponent)
    return comp


def test_component_shapes_jit_vmap(component):
    pri = component.priors()
    assert pri, "a component needs at least one parameter"
    draws = _draws(pri, 4)
    one = {k: v[0] for k, v in draws.items()}
    f = jax.jit(lambda p: component(WAVE, p, CTX))(one)
    assert f.shape == WAVE.shape and f.dtype == jnp.float64
    assert np.all(np.isfinite(np.asarray(f)))
    fv = jax.vmap(lambda p: component(WAVE, p, CTX))(draws)
    assert fv.shape == (4,) + WAVE.shape
    assert np.all(np.isfinite(np.asarray(fv)))


def test_component_finite_gradients(component):
    draws = _draws(component.priors(), 3, seed=1)
    g = jax.jit(jax.vmap(jax.grad(lambda p: jnp.sum(component(WAVE, p, CTX) ** 2))))(draws)
    for k, v in g.items():
        assert np.all(np.isfinite(np.asarray(v))), k


def test_component_non_negative_where_physical(component):
    if component.morphology == "fiber":
        pytest.skip("calibration terms may be negative")
    draws = _draws(component.priors(), 4, seed=2)
    f = jax.vmap(lambda p: component(WAVE, p, CTX))(draws)
    if component.group == "continuum" and "pca" in type(component).__name__.lower():
        pytest.skip("PCA eigenspectra combinations are not sign-constrained")
    assert np.all(np.asarray(f) >= -1e-8)


def test_component_restrict_and_windows(component):
    windows = np.asarray(component.line_windows())
    assert windows.ndim == 2 and windows.shape[1] == 2
    assert component.restrict(1000.0, 12000.0) is not None
    init = component.init_values()
    assert set(init) <= set(component.priors())


@pytest.mark.parametrize("name", REG.names("aperture"))
def test_aperture_models(name):
    ap = REG.get("aperture", name)(name="psf", bands=("a", "b", "c"))
    assert isinstance(ap, AbstractApertureModel)
    p = {k: v[0] for k, v in _draws(ap.priors(), 1).items()}
    fl = {"agn": jnp.ones((3, 7)), "host": 2 * jnp.ones((3, 7))}
    out = jax.jit(lambda p: ap(fl, {"agn": "point", "host": "extended"}, p))(p)
    assert out.shape == (3, 7) and np.all(np.isfinite(np.asarray(out)))
    g = jax.grad(lambda p: jnp.sum(ap(fl, {"agn": "point", "host": "extended"}, p)))(p)
    assert all(np.isfinite(float(v)) for v in g.values())


@pytest.mark.parametrize("name", REG.names("photometric_system"))
def test_photometric_systems(name):
    bands = ("sdss2010-g", "sdss2010-r")
    ps = REG.get("photometric_system", name)(bands)
    assert isinstance(ps, AbstractPhotometricSystem)
    assert ps.wave.shape[0] == 2
    f = 1e-17 * jnp.ones(ps.wave.shape)
    m = jax.jit(lambda x: ps.magnitudes(x))(f)
    assert m.shape == (2,) and np.all(np.isfinite(np.asarray(m)))
    g = jax.grad(lambda s: jnp.sum(ps.magnitudes(s * f)))(1.0)
    assert np.isfinite(float(g)) and float(g) == pytest.approx(-2.5 * 2 / np.log(10))
    cov = ps.coverage(3000.0, 10000.0)
    assert cov.shape == (2,) and np.all((cov > 0.99) & (cov <= 1.0 + 1e-12))


SMOKE = {"num_warmup": 100, "num_samples": 100, "num_chains": 2, "max_steps": 300, "continuum_steps": 100}


@pytest.mark.parametrize("name", REG.names("inference"))
def test_inference_backends(name):
    from agnfit.config import load_config
    from agnfit.build import build_model
    from agnfit.prepare import prepare
    from agnfit.simulate import Observation, simulate

    cfg = load_config({"components": {"pl": {"type": "power_law"}}, "data": {"deredden": False}})
    spec, _ = simulate(cfg, {"pl.norm": 5.0, "pl.alpha": -1.2}, Observation(z=0.1, snr=30))
    prep = prepare(spec, cfg)
    model = build_model(cfg, prep.rest_range)
    factory = REG.get("inference", name)
    params = inspect.signature(factory).parameters
    backend = factory(**{k: v for k, v in SMOKE.items() if k in params})
    assert isinstance(backend, AbstractInference)
    post = backend.run(model, prep.data, jax.random.PRNGKey(0), None)
    assert isinstance(post, Posterior)
    assert set(post.point) == set(model.priors())
    for k, v in post.samples.items():
        assert np.ndim(v) >= 2 and np.all(np.isfinite(v)), k
    assert post.point["pl.alpha"] == pytest.approx(-1.2, abs=0.1)

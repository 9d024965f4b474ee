"""Prior families: the vectorised potential is numpyro's potential energy, site for site."""

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist
import pytest
from numpyro.infer.util import potential_energy
from test_inference_problems import GaussLine, make_data

from agnfit.core.model import Model, NoiseConfig
from agnfit.plugins.continuum import PowerLaw
from agnfit.plugins.map import start_point
from agnfit.plugins.sites import constrain_groups, potential, site_groups, transform_derivatives

# overrides covering: Fixed (Delta, not a latent site), a family that stacks with a built-in one,
# a distribution that appears once, and one with a bounded support of its own
OVERRIDES = {
    "ln.center": {"dist": "Normal", "loc": 5010.0, "scale": 5.0},
    "pl.alpha": {"dist": "Fixed", "value": -1.3},
    "ln2.flux": {"dist": "Gamma", "concentration": 2.0, "rate": 0.1},
    "ln2.sigma": dist.TruncatedNormal(10.0, 5.0, low=2.0, high=40.0),
    "noise.add_jitter": {"dist": "LogUniform", "low": 1e-4, "high": 1.0},
}


@pytest.fixture(scope="module")
def model():
    comps = (PowerLaw("pl", wave0=5000.0), GaussLine("ln"), GaussLine("ln2", center0=6000.0))
    return Model(comps, noise=NoiseConfig(True, True, False), overrides=OVERRIDES)


def test_groups_stack_families_and_keep_the_rest_single(model):
    groups = site_groups(model)
    names = [n for g in groups for n in g.names]
    assert sorted(names) == sorted(model.latent_priors())  # every latent site once, the fixed one not at all
    assert "pl.alpha" not in names
    by_site = {n: g for g in groups for n in g.names}
    assert by_site["ln.flux"] is by_site["pl.norm"] or len(by_site["ln.flux"].names) > 1  # HalfNormal family
    assert by_site["ln.center"].names == ("ln.center", "ln2.center")  # Normal family, override included
    assert by_site["ln2.flux"].names == ("ln2.flux",)


def test_potential_equals_numpyro(model):
    data = make_data(seed=3)
    u0 = start_point(model, data)
    rng = np.random.default_rng(0)
    fast = jax.jit(potential(model, data))
    for _ in range(5):
        u = {k: v + rng.normal(0.0, 0.7) for k, v in u0.items()}
        ref = potential_energy(model, (data,), {}, u)
        assert float(fast(u)) == pytest.approx(float(ref), rel=1e-12, abs=1e-9)
    g_ref = jax.grad(lambda u: potential_energy(model, (data,), {}, u))(u0)
    g_fast = jax.grad(potential(model, data))(u0)
    for k in u0:
        assert float(g_fast[k]) == pytest.approx(float(g_ref[k]), rel=1e-9, abs=1e-9), k


def test_constrain_and_derivatives_are_per_site(model):
    groups = site_groups(model)
    u = {k: jnp.asarray(0.3) for k in model.latent_priors()}
    theta = constrain_groups(groups, u)
    deriv = transform_derivatives(groups, u)
    for g in groups:
        for i, k in enumerate(g.names):
            single = lambda x, g=g, i=i: g.transform(jnp.full(len(g.names), x))[i]  # noqa: E731
            assert float(theta[k]) == pytest.approx(float(single(0.3)), rel=1e-12)
            assert float(deriv[k]) == pytest.approx(float(jax.grad(single)(0.3)), rel=1e-9), k

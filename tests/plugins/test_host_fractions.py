"""host_dsps with the default weights: a total flux times age and metallicity light fractions.

Ages: logistic-normal fractions. Metallicity: one interpolated value (default) or a logistic-normal mixture.
"""

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist
import pytest

from agnfit.core.component import EvalContext
from agnfit.errors import ConfigError
from agnfit.plugins.host import host_dsps

CTX = EvalContext.constant(65.0, 3800.0, 9200.0)
WAVE = jnp.linspace(3600.0, 9000.0, 400)


@pytest.fixture(scope="module")
def pair(data_dir):
    """The host with age and metallicity mixtures (fractions) and the same SSPs with independent weights."""
    return host_dsps("host", metallicity="mixture"), host_dsps("host", weights="independent")


@pytest.fixture(scope="module")
def interp(data_dir):
    """The default host: age fractions and one metallicity interpolated in log Z."""
    return host_dsps("host")


def _params(host, seed):
    rng = np.random.default_rng(seed)
    p = {"norm": float(rng.uniform(0.5, 3.0)), "sigma": float(rng.uniform(60, 300)), "dv": float(rng.uniform(-80, 80))}
    p |= {n: float(rng.normal(0.0, 1.5)) for n in host.logit_names()}
    return p | ({"logzsol": float(rng.uniform(-0.5, 0.3))} if host.interpolated else {})


def test_parameters_and_priors(pair):
    frac, _ = pair
    assert frac.weighting == "fractions"
    assert frac.logit_names() == [f"logit_age_{i}" for i in range(5)] + [f"logit_met_{j}" for j in range(3)]
    pri = frac.priors()
    assert set(pri) == {"norm", "sigma", "dv", *frac.logit_names()}
    assert isinstance(pri["norm"], dist.HalfNormal) and isinstance(pri["logit_met_2"], dist.Normal)
    assert float(pri["logit_age_3"].scale) == 1.0
    assert set(frac.init_values()) == set(pri)
    scaled = host_dsps("host", fraction_scale=0.5, weight_scale=4.0)
    assert float(scaled.priors()["logit_age_0"].scale) == 0.5 and float(scaled.priors()["norm"].scale) == 4.0
    assert host_dsps("host", logzsol=[0.0]).logit_names() == [f"logit_age_{i}" for i in range(5)]
    assert host_dsps("host", logzsol=[0.0]).fraction_names() == [f"logit_age_{i}" for i in range(5)]


def test_interpolated_metallicity_parameters(interp):
    assert interp.metallicity == "interpolated" and interp.interpolated
    assert interp.fraction_names() == [f"logit_age_{i}" for i in range(5)] + ["logzsol"]
    pri = interp.priors()
    assert set(pri) == {"norm", "sigma", "dv", "logzsol", *interp.logit_names()}
    assert isinstance(pri["logzsol"], dist.Uniform)
    assert (float(pri["logzsol"].low), float(pri["logzsol"].high)) == (-0.5, 0.3)
    assert interp.init_values()["logzsol"] == 0.0 and set(interp.init_values()) == set(pri)


@pytest.mark.parametrize("logz, expect", [(0.0, (0.0, 1.0, 0.0)), (-0.25, (0.5, 0.5, 0.0)), (0.3, (0.0, 0.0, 1.0)),
                                          (0.12, (0.0, 0.6, 0.4))])
def test_interpolated_metallicity_weights(interp, logz, expect):
    """P_met holds the linear interpolation weights in log Z between the two neighbouring grid metallicities."""
    p = _params(interp, 3) | {"logzsol": logz}
    w = np.asarray(interp.weights(p)).reshape(3, 5)  # metallicity x age
    p_age = _softmax(np.array([p[f"logit_age_{i}"] for i in range(5)]))
    np.testing.assert_allclose(w, p["norm"] * np.outer(expect, p_age), rtol=1e-10, atol=1e-14)
    # an unsorted grid gives the same model
    shuffled = host_dsps("host", logzsol=[0.3, -0.5, 0.0])
    np.testing.assert_allclose(shuffled(WAVE, p, CTX), interp(WAVE, p, CTX), rtol=1e-10)


def test_one_ssp_has_only_a_norm(data_dir):
    one = host_dsps("old", ages=[10.0], logzsol=[0.0])
    assert one.logit_names() == [] and set(one.priors()) == {"norm", "sigma", "dv"}
    p = {"norm": 2.5, "sigma": 150.0, "dv": 0.0}
    ind = host_dsps("old", ages=[10.0], logzsol=[0.0], weights="independent")
    np.testing.assert_allclose(one(WAVE, p, CTX), ind(WAVE, {"w_0": 2.5, "sigma": 150.0, "dv": 0.0}, CTX), rtol=1e-12)


def _softmax(x):
    return np.exp(x) / np.exp(x).sum()


def test_weights_are_norm_times_age_and_metallicity_fractions(pair):
    frac, ind = pair
    p = _params(frac, 0)
    w = np.asarray(frac.weights(p))
    p_age = _softmax(np.array([p[f"logit_age_{i}"] for i in range(5)]))
    p_met = _softmax(np.array([p[f"logit_met_{j}"] for j in range(3)]))
    for i, (age, met) in enumerate(frac.template_grid()):
        a, m = frac.ages_gyr.index(age), frac.logzsol.index(met)
        assert w[i] == pytest.approx(p["norm"] * p_age[a] * p_met[m], rel=1e-12)
    assert w.sum() == pytest.approx(p["norm"])
    q = {"sigma": p["sigma"], "dv": p["dv"]} | dict(zip(ind.weights_names(), w))
    np.testing.assert_allclose(frac(WAVE, p, CTX), ind(WAVE, q, CTX), rtol=1e-10, atol=1e-12)
    # a common shift of the logits changes nothing
    shifted = p | {n: p[n] + (3.0 if "age" in n else -2.0) for n in frac.logit_names()}
    np.testing.assert_allclose(frac(WAVE, shifted, CTX), frac(WAVE, p, CTX), rtol=1e-10)


@pytest.mark.parametrize("metallicity", ["mixture", "interpolated"])
def test_analytic_jacobian_matches_forward_mode(pair, interp, metallicity):
    frac = pair[0] if metallicity == "mixture" else interp
    p = _params(frac, 1)
    met = ("logit_met_2", "logit_met_0") if metallicity == "mixture" else ("logzsol",)
    names = (met[0], "norm", "dv", "logit_age_0", "sigma", "logit_age_4", *met[1:])
    value, jac = frac.jacobian(WAVE, p, CTX, names)

    def f(vec):
        return frac(WAVE, p | dict(zip(names, vec)), CTX)

    vec = jnp.asarray([p[n] for n in names])
    ref = jax.jacfwd(f)(vec)
    np.testing.assert_allclose(value, f(vec), rtol=1e-5, atol=1e-6 * float(jnp.max(jnp.abs(f(vec)))))
    scale = np.abs(np.asarray(ref)).max(axis=0)
    err = np.abs(np.asarray(jac) - np.asarray(ref)).max(axis=0) / scale
    assert err.max() < 1e-4, dict(zip(names, err))


def test_derived_weights_and_age(pair, data_dir):
    frac, ind = pair
    p = _params(frac, 2)
    d = frac.derived(p)
    np.testing.assert_allclose([d[n] for n in ind.weights_names()], frac.weights(p), rtol=1e-12)
    assert float(d["log_age_lw"]) == pytest.approx(float(frac.light_weighted_log_age(p)))
    assert ind.derived(dict.fromkeys(ind.weights_names(), 1.0)) == {}  # weights are parameters there
    # the old population dominates => log age near 1
    old = p | {n: -8.0 for n in frac.logit_names()} | {"logit_age_4": 8.0}
    assert float(frac.derived(old)["log_age_lw"]) == pytest.approx(1.0, abs=1e-5)


def test_bad_options(data_dir):
    with pytest.raises(ConfigError, match="weights must be one of"):
        host_dsps("host", weights="simplex")
    with pytest.raises(ConfigError, match="fraction_scale"):
        host_dsps("host", fraction_scale=0.0)
    with pytest.raises(ConfigError, match="metallicity must be one of"):
        host_dsps("host", metallicity="free")
    with pytest.raises(ConfigError, match="repeated"):
        host_dsps("host", logzsol=[0.0, 0.0, 0.3])

"""Inference backends: MAP, Laplace, NUTS, Staged and the name -> backend translation.

Science checks simulate a power law + Gaussian line from known parameters and
recover them; the Laplace width is compared with the NUTS posterior; compiled
code is reused for a second spectrum of the same shape.
"""

import contextlib
import inspect

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from test_inference_problems import TRUTH, make_data, make_model

from agnfit.core.inference import AbstractInference, Posterior
from agnfit.errors import ConfigError, ConvergenceWarning, PluginError
from agnfit.plugins import map as map_mod
from agnfit.plugins.inference import laplace_backend, map_backend, nuts_backend
from agnfit.plugins.laplace import Laplace, covariance_factor
from agnfit.plugins.map import MAP
from agnfit.plugins.nuts import NUTS, chain_diagnostics
from agnfit.plugins.staged import Staged, backend_from_config, backend_from_string, from_stages

# one MAP and one NUTS configuration for the whole module, so each compiles once
FIT = MAP()
SAMPLER = NUTS(num_warmup=300, num_samples=400, num_chains=3)


@contextlib.contextmanager
def count_compiles():
    """Count XLA backend compilations inside the block: ``with count_compiles() as n: ...; n[0]``."""
    n = [0]

    def listener(name, duration, **kwargs):
        if name == "/jax/core/compile/backend_compile_duration":
            n[0] += 1

    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        yield n
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)


@pytest.fixture(scope="module")
def model():
    return make_model()


@pytest.fixture(scope="module")
def data():
    return make_data(seed=0)


@pytest.fixture(scope="module")
def map_post(model, data):
    return FIT.run(model, data)


@pytest.fixture(scope="module")
def nuts_post(model, data, map_post):
    return SAMPLER.run(model, data, jax.random.PRNGKey(1), init=map_post)


@pytest.fixture(scope="module")
def laplace_post(model, data, map_post):
    return Laplace(num_samples=4000).run(model, data, jax.random.PRNGKey(2), init=map_post)


# ---------------------------------------------------------------------------------------------- MAP
def test_map_recovers_truth(map_post):
    assert map_post.kind == "map" and map_post.converged, map_post.message
    assert "converged" in map_post.message and map_post.diagnostics["reason"].startswith("relative loss change")
    assert map_post.diagnostics["continuum_stage"]["n_steps"] > 0
    p = map_post.point
    assert p["pl.alpha"] == pytest.approx(TRUTH["pl.alpha"], abs=0.03)
    assert p["pl.norm"] == pytest.approx(TRUTH["pl.norm"], rel=0.01)
    assert p["ln.flux"] == pytest.approx(TRUTH["ln.flux"], rel=0.1)
    assert p["ln.center"] == pytest.approx(TRUTH["ln.center"], abs=2.0)
    assert all(np.shape(v)[:2] == (1, 1) for v in map_post.samples.values())
    assert set(map_post.unconstrained) == set(p)


def test_map_new_spectrum_reuses_compiled_loop(model, map_post, monkeypatch):
    """The optimisation loop is traced once per model structure; a new spectrum only runs it."""
    traces = []
    original = map_mod.loss_fn

    def counting(m, d):
        traces.append(1)
        return original(m, d)

    monkeypatch.setattr(map_mod, "loss_fn", counting)
    other = make_data(seed=7)
    with count_compiles() as compiles:
        post = FIT.run(model, other)
    assert post.converged
    assert traces == [] and compiles[0] == 0
    assert post.point["pl.alpha"] != map_post.point["pl.alpha"]


def test_map_step_cap_is_reported(model, data):
    with pytest.warns(ConvergenceWarning, match="max_steps=2"):
        post = MAP(max_steps=2, staged=False).run(model, data)
    assert not post.converged
    assert "NOT converged" in post.message and post.diagnostics["reason"] == "hit max_steps=2"
    assert post.diagnostics["n_steps"] == 2 and np.isfinite(post.diagnostics["loss"])


def test_map_non_finite_loss_is_not_converged(model, data):
    bad = data._replace(flux=data.flux.at[10].set(jnp.nan))
    with pytest.warns(ConvergenceWarning):
        post = FIT.run(model, bad)
    assert not post.converged
    assert "non-finite" in post.message


def test_map_warm_start_from_any_posterior(model, data, map_post):
    post = FIT.run(model, data, init=map_post)
    assert post.converged and "continuum_stage" not in post.diagnostics
    assert post.diagnostics["n_steps"] < 40  # already at the optimum: only the patience steps
    assert post.point["ln.flux"] == pytest.approx(map_post.point["ln.flux"], rel=1e-4)


def test_gap_tol_stops_at_the_predicted_optimum(model, data, map_post):
    """The Newton-decrement stop saves iterations and lands within gap_tol of the patience-only optimum."""
    strict = MAP(gap_tol=0.0).run(model, data)
    assert strict.converged and map_post.converged
    assert map_post.diagnostics["n_steps"] < strict.diagnostics["n_steps"]
    assert abs(map_post.diagnostics["loss"] - strict.diagnostics["loss"]) < 10 * FIT.gap_tol
    loose = MAP(gap_tol=1e6).run(model, data)  # stops at the first accepted step
    assert loose.diagnostics["n_steps"] < map_post.diagnostics["n_steps"]
    assert loose.diagnostics["loss"] > map_post.diagnostics["loss"]


def test_newton_agrees_with_lbfgs(model, data, map_post):
    post = MAP(optimizer="newton", staged=False).run(model, data)
    assert post.converged, post.message
    assert post.diagnostics["n_steps"] < 60
    for k, v in map_post.point.items():
        assert post.point[k] == pytest.approx(v, rel=1e-4, abs=1e-6), k


def test_map_rejects_unknown_optimizer():
    with pytest.raises(ConfigError, match="newton"):
        MAP(optimizer="sgd")


# ------------------------------------------------------------------------------------------ Laplace
def test_laplace_matches_nuts_width(laplace_post, nuts_post):
    assert laplace_post.kind == "laplace" and laplace_post.converged, laplace_post.message
    assert laplace_post.diagnostics["positive_definite"]
    assert all(np.shape(v)[:2] == (1, 4000) for v in laplace_post.samples.values())
    lap, mc = laplace_post.flat_samples(), nuts_post.flat_samples()
    for k in ("pl.alpha", "pl.norm", "ln.flux"):
        assert np.std(lap[k]) == pytest.approx(np.std(mc[k]), rel=0.3), k
        assert np.mean(lap[k]) == pytest.approx(np.mean(mc[k]), abs=0.5 * np.std(mc[k])), k
    # the slope's 1-sigma interval covers the truth within 3 sigma
    assert abs(np.mean(lap["pl.alpha"]) - TRUTH["pl.alpha"]) < 3 * np.std(lap["pl.alpha"])


def test_laplace_keeps_supports(laplace_post):
    s = laplace_post.flat_samples()
    assert np.all(s["pl.norm"] > 0) and np.all(s["ln.flux"] > 0)
    assert np.all((s["ln.sigma"] > 2.0) & (s["ln.sigma"] < 60.0))


def test_laplace_runs_map_without_init(model, data, map_post):
    post = Laplace(num_samples=50).run(model, data, jax.random.PRNGKey(0))
    assert post.diagnostics["map"]["n_steps"] > 0
    assert post.point["pl.alpha"] == pytest.approx(map_post.point["pl.alpha"], abs=1e-6)


def test_covariance_factor_floors_indefinite_hessian():
    h = np.array([[4.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, -2.0]])
    s, info = covariance_factor(h, 1e-3)
    assert not info["positive_definite"] and info["n_floored"] == 1 and info["eig_min"] == -2.0
    cov = s @ s.T
    assert np.all(np.linalg.eigvalsh(cov) > 0)
    s2, info2 = covariance_factor(np.diag([4.0, 1.0]), 1e-3)
    assert info2["positive_definite"] and np.allclose(s2 @ s2.T, np.diag([0.25, 1.0]))


def test_symmetric_covariance_factor_is_the_square_root_of_the_inverse():
    """The symmetric factor is H^-1/2: itself for a diagonal H (no rotation), S S = H^-1 for any H."""
    s, _ = covariance_factor(np.diag([4.0, 1.0, 0.25]), 1e-6, symmetric=True)
    np.testing.assert_allclose(s, np.diag([0.5, 1.0, 2.0]), atol=1e-14)
    a = np.random.default_rng(1).normal(size=(5, 5))
    h = a @ a.T + 5 * np.eye(5)
    s, info = covariance_factor(h, 1e-6, symmetric=True)
    assert info["positive_definite"]
    np.testing.assert_allclose(s, s.T, atol=1e-14)
    np.testing.assert_allclose(s @ s, np.linalg.inv(h), atol=1e-12)
    e, _ = covariance_factor(h, 1e-6)
    np.testing.assert_allclose(e @ e.T, s @ s.T, atol=1e-12)


def test_laplace_at_a_saddle_is_flagged(model, data, map_post):
    """Expanding at a point that is not a minimum gives an indefinite Hessian: regularised and flagged."""
    u = dict(map_post.unconstrained)
    u["ln.center"] = np.asarray(TRUTH["ln.center"] + 2.2 * TRUTH["ln.sigma"])  # the line profile's inflection region
    u["ln.flux"] = np.asarray(np.log(200.0))
    fake = Posterior("map", map_post.point, map_post.samples, True, "", {}, u)
    with pytest.warns(ConvergenceWarning, match="not positive definite"):
        post = Laplace(num_samples=20).run(model, data, jax.random.PRNGKey(0), init=fake)
    assert not post.converged and post.diagnostics["n_floored"] >= 1
    assert "regularised" in post.message


# --------------------------------------------------------------------------------------------- NUTS
def test_nuts_converges(nuts_post, map_post):
    d = nuts_post.diagnostics
    assert nuts_post.kind == "nuts" and nuts_post.converged, nuts_post.message
    assert all(float(np.max(v)) < 1.01 for v in d["r_hat"].values()), d["r_hat"]
    assert d["divergences"] == 0 and d["init"] == "map"
    assert all(float(np.min(v)) > 100 for v in d["ess_bulk"].values()), d["ess_bulk"]
    assert all(np.shape(v)[:2] == (3, 400) for v in nuts_post.samples.values())
    assert nuts_post.point["pl.alpha"] == pytest.approx(map_post.point["pl.alpha"], abs=0.02)
    assert nuts_post.check() == []


def test_nuts_new_spectrum_reuses_compiled_sampler(model, nuts_post):
    """A second spectrum (no init: MAP first, with the module's MAP settings) compiles nothing."""
    other = make_data(seed=3)
    with count_compiles() as compiles:
        post = SAMPLER.run(model, other, jax.random.PRNGKey(4))
    assert compiles[0] == 0
    assert post.diagnostics["init"] == "map"
    assert post.point["ln.flux"] == pytest.approx(TRUTH["ln.flux"], rel=0.15)


def test_laplace_frame_whitens_the_hessian(model, data, map_post):
    from agnfit.plugins.laplace import potential_hessian

    u0 = {k: jnp.asarray(v) for k, v in map_post.unconstrained.items()}
    frame = SAMPLER.frame(model, data, u0)
    hess = np.asarray(potential_hessian(model, data, u0))
    s = np.asarray(frame.factor)
    np.testing.assert_allclose(s.T @ hess @ s, np.eye(len(u0)), atol=1e-8)
    np.testing.assert_allclose(s, s.T, atol=1e-12)  # the symmetric root: coordinate i stays closest to parameter i
    assert NUTS(precondition="none").frame(model, data, u0) is None


def test_laplace_frame_falls_back_with_a_log_when_the_hessian_is_not_finite(model, data, map_post, monkeypatch, caplog):
    from agnfit.plugins import laplace

    monkeypatch.setattr(laplace, "potential_hessian", lambda m, d, u: np.full((len(u), len(u)), np.nan))
    u0 = {k: jnp.asarray(v) for k, v in map_post.unconstrained.items()}
    with caplog.at_level("WARNING", logger="agnfit.plugins.nuts"):
        assert SAMPLER.frame(model, data, u0) is None
    assert "not finite" in caplog.text


def test_nuts_in_the_laplace_frame_agrees_with_plain_coordinates(model, data, map_post, nuts_post):
    plain = NUTS(num_warmup=300, num_samples=400, num_chains=3, precondition="none").run(
        model, data, jax.random.PRNGKey(2), init=map_post
    )
    assert nuts_post.diagnostics["precondition"] == "laplace" and plain.diagnostics["precondition"] == "none"
    assert plain.converged, plain.message
    for k in nuts_post.samples:
        a, b = np.ravel(nuts_post.samples[k]), np.ravel(plain.samples[k])
        err = np.hypot(a.std() / np.sqrt(np.min(nuts_post.diagnostics["ess_bulk"][k])),
                       b.std() / np.sqrt(np.min(plain.diagnostics["ess_bulk"][k])))
        assert abs(a.mean() - b.mean()) < 4 * err, k
        assert a.std() == pytest.approx(b.std(), rel=0.2), k


@pytest.mark.filterwarnings("ignore::agnfit.errors.ConvergenceWarning")  # 20 draws are too few to converge
def test_parallel_chain_groups_give_the_sequential_draws(model, data, map_post):
    """Chains run in groups side by side draw exactly what they draw one after another (same keys, same starts)."""
    runs = {m: NUTS(num_warmup=30, num_samples=20, num_chains=4, chain_method=m) for m in ("parallel", "sequential")}
    posts = {m: b.run(model, data, jax.random.PRNGKey(3), init=map_post) for m, b in runs.items()}
    for k, v in posts["sequential"].samples.items():
        np.testing.assert_allclose(posts["parallel"].samples[k], v, rtol=1e-9, atol=0, err_msg=k)


def test_chain_groups_are_equal_and_fit_the_cpus(monkeypatch):
    from agnfit.plugins import nuts as nuts_mod

    assert [map_mod.cpu_lanes(c, 2) for c in (1, 2, 3, 4, 6)] == [1, 2, 1, 2, 2]
    assert map_mod.cpu_lanes(4, 16) == 4 and map_mod.cpu_lanes(6, 4) == 3
    assert NUTS().resolved_chain_method() == "parallel"  # the tests run on a CPU
    calls = []
    monkeypatch.setattr(nuts_mod, "sample_chains", lambda m, d, z0, keys, s, f: calls.append((keys.shape[0], s)) or
                        nuts_mod.ChainOutput({"a": jnp.zeros((keys.shape[0], 2))}, *(jnp.zeros((keys.shape[0], 2)),) * 4))
    out = nuts_mod.run_chain_groups(None, None, jnp.zeros((4, 3)), jax.random.split(jax.random.PRNGKey(0), 4),
                                    NUTS().settings(), None, 2)
    assert [c[0] for c in calls] == [2, 2] and all(c[1].chain_method == "sequential" for c in calls)
    assert out.samples["a"].shape == (4, 2)


def test_nuts_rejects_unknown_precondition():
    with pytest.raises(ConfigError, match="precondition"):
        NUTS(precondition="fisher")


def test_chain_diagnostics_detect_unmixed_chains():
    rng = np.random.default_rng(0)
    mixed = rng.normal(size=(4, 500))
    stuck = mixed + np.arange(4)[:, None]
    r, ess = chain_diagnostics({"a": mixed, "b": stuck, "c": np.ones((4, 500))})
    assert r["a"] < 1.01 and r["b"] > 1.5 and r["c"] == 1.0
    assert 1000 < ess["a"] <= 2500 and ess["b"] < 100


# ------------------------------------------------------------------------------------------- Staged
class Recorder(AbstractInference):
    """A stage that records the init it was given and returns it unchanged."""

    seen: list

    def run(self, model, data, key=None, init=None):
        self.seen.append(init)
        return Posterior("recorded", init.point, init.samples, True, "ok", {"own": 1}, init.unconstrained)


def test_staged_passes_the_map_point(model, data, map_post):
    rec = Recorder([])
    post = Staged(FIT, rec).run(model, data, jax.random.PRNGKey(0))
    (init,) = rec.seen
    assert init.kind == "map" and init.point["pl.alpha"] == pytest.approx(map_post.point["pl.alpha"], abs=1e-8)
    assert post.kind == "recorded" and post.diagnostics["own"] == 1
    (stage,) = post.diagnostics["stages"]
    assert stage["kind"] == "map" and stage["converged"] and "loss" in stage["diagnostics"]


def test_from_stages_folds_left():
    a, b, c = MAP(), Laplace(), NUTS()
    assert from_stages([a]) is a
    assert from_stages([a, b, c]) == Staged(Staged(a, b), c)
    with pytest.raises(ConfigError):
        from_stages([])


def test_backend_from_string():
    assert backend_from_string("optax") == MAP()
    assert backend_from_string("optax+nuts") == Staged(MAP(), NUTS())
    assert backend_from_string("OPTAX + Laplace") == Staged(MAP(), Laplace())
    with pytest.raises(ConfigError, match="optax\\+nuts"):
        backend_from_string("optax+emcee")


def test_backend_from_config_uses_the_registry():
    b = backend_from_config([{"type": "map", "optimizer": "newton"}, {"type": "nuts", "num_chains": 2}])
    assert b == Staged(MAP(optimizer="newton"), NUTS(num_chains=2))
    assert backend_from_config({"type": "laplace", "num_samples": 10}) == Laplace(num_samples=10)
    with pytest.raises(PluginError, match="Available"):
        backend_from_config([{"type": "emcee"}])
    with pytest.raises(ConfigError, match="stage 0"):
        backend_from_config([{"type": "nuts", "chains": 4}])
    with pytest.raises(ConfigError, match="chain_method"):
        backend_from_config([{"type": "nuts", "chain_method": "threads"}])


NON_DEFAULT = {
    "optimizer": "adam",
    "learning_rate": 0.1,
    "max_steps": 7,
    "tol": 1e-5,
    "staged": False,
    "continuum_steps": 9,
    "continuum_tol": 1e-4,
    "gap_tol": 0.0,
    "num_samples": 11,
    "eig_floor": 1e-6,
    "num_warmup": 13,
    "num_chains": 2,
    "dense_mass": True,
    "target_accept_prob": 0.9,
    "max_tree_depth": 6,
    "chain_method": "sequential",
    "init_jitter": 0.2,
    "precondition": "none",
}


@pytest.mark.parametrize("factory", [map_backend, laplace_backend, nuts_backend])
def test_every_registered_option_has_an_effect(factory):
    default = factory()
    assert isinstance(default, AbstractInference)
    for name in inspect.signature(factory).parameters:
        assert factory(**{name: NON_DEFAULT[name]}) != default, name


@pytest.mark.slow
@pytest.mark.parametrize("chains, method", [(1, "vectorized"), (2, "sequential")])
def test_nuts_chain_layouts(model, data, map_post, chains, method):
    post = NUTS(num_warmup=200, num_samples=300, num_chains=chains, chain_method=method).run(
        model, data, jax.random.PRNGKey(5), init=map_post
    )
    assert all(np.shape(v)[:2] == (chains, 300) for v in post.samples.values())
    assert post.point["pl.alpha"] == pytest.approx(map_post.point["pl.alpha"], abs=0.02)
    assert all(np.isfinite(float(np.max(v))) for v in post.diagnostics["r_hat"].values())

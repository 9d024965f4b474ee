"""Compiling the full-model loop ahead, concurrently with the continuum stage of a first fit."""

import logging
from concurrent.futures import Future

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from agnfit import Observation, load_config, simulate
from agnfit.core import ahead
from agnfit.fit import setup_fit
from agnfit.plugins.map import MAP


def _double(x, scale):
    return x * scale


def test_signature_follows_shapes_and_static_leaves():
    a = ahead.signature(_double, (jnp.ones(3), 2.0))
    assert a == ahead.signature(_double, (np.zeros(3), 2.0))  # values do not matter, shapes do
    assert a != ahead.signature(_double, (jnp.ones(4), 2.0))
    assert a != ahead.signature(_double, (jnp.ones(3), 3.0))  # a non-array leaf is static
    assert ahead.signature(_double, (jnp.ones(3), [1.0])) != a
    assert ahead.signature(_double, ({"x": jnp.ones(3)}, "lm")) is not None
    assert ahead.signature(_double, (jnp.ones(3), {1, 2})) is None  # unhashable leaf: no key


lean = pytest.mark.skipif(not ahead.COMPILER_OPTIONS, reason="AGNFIT_XLA_DEFAULTS=1: compiling ahead is off")


def test_compile_ahead_is_off_with_xla_defaults(monkeypatch):
    monkeypatch.setattr(ahead, "COMPILER_OPTIONS", {})
    assert ahead.compile_ahead(jax.jit(lambda x: x - 1.0), jnp.arange(5.0)) is None


@lean
def test_compile_ahead_runs_once_per_signature():
    fn = jax.jit(lambda x: x + 1.0)
    x = jnp.arange(7.0) * 0.5
    first = ahead.compile_ahead(fn, x)
    assert isinstance(first, Future)
    np.testing.assert_allclose(first.result(), x + 1.0)
    assert ahead.compile_ahead(fn, x + 3.0) is None  # same signature: already compiled
    assert isinstance(ahead.compile_ahead(fn, jnp.arange(8.0)), Future)


@lean
def test_finish_logs_a_failure_instead_of_raising(caplog):
    def boom(x):
        raise ValueError("no")

    fut = ahead.compile_ahead(boom, jnp.ones(2))
    with caplog.at_level(logging.DEBUG, logger="agnfit.core.ahead"):
        ahead.finish(fut)
    assert "compiling ahead failed" in caplog.text
    ahead.finish(None)


@lean
def test_staged_first_fit_compiles_one_loop(compilations):
    # wave0 = 5123 makes the model structure new to this process
    cfg = load_config({
        "data": {"deredden": False, "wave_range": [4200.0, 5600.0]},
        "components": {
            "pl": {"type": "power_law", "wave0": 5123.0},
            "broad": {"type": "broad_lines", "lines": ["Hb"]},
            "narrow": {"type": "narrow_lines", "lines": ["OIII_5007"]},
        },
    })
    truth = {"pl.norm": 10.0, "pl.alpha": -1.5, "broad.Hb_flux": 500.0, "broad.Hb_fwhm": 3500.0}
    spec, _ = simulate(cfg, truth, Observation(z=0.1, snr=30, seed=3))
    setup = setup_fit(spec, cfg)
    with compilations() as log:
        post = MAP().run(setup.model, setup.prep.data)
    loops = [m for m in log if "optimize" in m]
    assert post.converged
    assert len(loops) == 1, loops  # the continuum stage is the full loop with the lines switched off
    np.testing.assert_allclose(post.point["broad.Hb_fwhm"], 3500.0, rtol=0.1)


def test_fit_jit_runs_top_level_and_nested():
    from agnfit.core.jit import fit_jit

    @fit_jit
    def scaled(x, k):
        return x * k

    x = jnp.arange(4.0)
    np.testing.assert_allclose(scaled(x, 2.0), 2 * x)
    np.testing.assert_allclose(jax.vmap(lambda v: scaled(v, 3.0))(x), 3 * x)  # nested: no compiler options there
    np.testing.assert_allclose(jax.jit(lambda v: scaled(v, 0.5))(x), 0.5 * x)

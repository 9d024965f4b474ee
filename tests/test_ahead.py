"""Compiling ahead: one loop for both MAP stages, and the result programs compiled while a first fit runs."""

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
    ahead.finish(first)
    np.testing.assert_allclose(first.result(), x + 1.0)
    assert ahead.compile_ahead(fn, x + 3.0) is None  # same signature: already compiled
    other = ahead.compile_ahead(fn, jnp.arange(8.0))
    assert isinstance(other, Future)
    ahead.finish(other)


@lean
def test_compile_ahead_waits_for_the_callers_large_lowering(monkeypatch):
    ran = []

    def record(x):
        ran.append(x)
        return x

    fut = ahead.compile_ahead(record, jnp.ones(3))
    assert not fut.done() and not ran  # the caller has not handed a program to XLA yet
    monkeypatch.setattr(ahead, "LARGE_LOWERING_S", 0.0)
    jax.jit(lambda v: jnp.sin(v) * 3.0)(jnp.ones(11)).block_until_ready()  # a lowering in this thread
    fut.result(timeout=30)
    assert len(ran) == 1
    ahead.finish(fut)


@lean
def test_finish_logs_a_failure_instead_of_raising(caplog):
    def boom(x):
        raise ValueError("no")

    fut = ahead.compile_ahead(boom, jnp.ones(2))
    with caplog.at_level(logging.DEBUG, logger="agnfit.core.ahead"):
        ahead.finish(fut)
    assert "compiling ahead failed" in caplog.text
    ahead.finish(None)


def _new_structure(wave0: float, **components):
    """A small H-beta config; a ``wave0`` no other test uses makes its model structure new to this process."""
    return load_config({
        "data": {"deredden": False, "wave_range": [4200.0, 5600.0]},
        "components": {
            "pl": {"type": "power_law", "wave0": wave0},
            "broad": {"type": "broad_lines", "lines": ["Hb"]},
            **components,
        },
    })


@lean
def test_staged_first_fit_compiles_one_loop(compilations):
    cfg = _new_structure(5123.0, narrow={"type": "narrow_lines", "lines": ["OIII_5007"]})
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


def test_first_fit_compiles_the_derived_program_once_ahead(compilations):
    from agnfit import fit

    cfg = _new_structure(5147.0)
    spec, _ = simulate(cfg, {"pl.norm": 10.0, "broad.Hb_flux": 400.0}, Observation(z=0.1, snr=30, seed=4))
    with compilations() as log:
        res = fit(spec, cfg)
    derived = [m for m in log if "_derived_batch" in m]
    fluxes = [m for m in log if "_component_fluxes" in m]
    assert res.converged
    assert len(derived) == 1 and len(fluxes) == 1, (derived, fluxes)  # the real calls reuse the ahead programs
    assert all(m.startswith("[agnfit-compile-ahead") for m in derived + fluxes)
    assert np.isfinite(res.derived["broad.Hb.fwhm"]["median"])

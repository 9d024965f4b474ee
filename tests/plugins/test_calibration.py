"""Calibration terms: multiplicative (legendre_poly) and additive (additive_poly) Legendre series."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from numpy.polynomial import legendre

from agnfit.config import check_options
from agnfit.core.component import EvalContext
from agnfit.errors import ConfigError
from agnfit.plugins.calibration import additive_poly, legendre_basis, legendre_poly, scaled_wave
from agnfit.registry import get_registry

CTX = EvalContext.constant(69.0, 4000.0, 9000.0)
WAVE = jnp.linspace(3000.0, 10000.0, 701)


def test_registered():
    names = get_registry().names("component")
    assert {"legendre_poly", "additive_poly"} <= set(names)
    check_options(legendre_poly, {"degree": 2, "scale": 0.05}, "[components.cal]")


def test_kinds_and_names():
    mult, add = legendre_poly("cal"), additive_poly("sky", degree=2)
    assert (mult.morphology, mult.operation, mult.group) == ("fiber", "multiply", "calibration")
    assert (add.morphology, add.operation, add.group) == ("fiber", "add", "calibration")
    assert list(mult.priors()) == ["c_1", "c_2", "c_3"]
    assert list(add.priors()) == ["c_0", "c_1", "c_2"]
    assert list(legendre_poly("c", degree=5).priors()) == [f"c_{k}" for k in range(1, 6)]
    assert float(legendre_poly("c", scale=0.3).priors()["c_2"].scale) == 0.3
    assert set(mult.init_values()) == set(mult.priors())


def test_legendre_basis_matches_numpy():
    x = jnp.linspace(-1.0, 1.0, 57)
    basis = np.asarray(legendre_basis(x, 7))
    for k in range(8):
        np.testing.assert_allclose(basis[k], legendre.legval(np.asarray(x), np.eye(8)[k]), atol=1e-12)
    assert legendre_basis(x, 0).shape == (1, 57)


def test_scaled_wave_maps_and_clips():
    x = scaled_wave(jnp.array([3000.0, 4000.0, 6500.0, 9000.0, 12000.0]), CTX.wave_min, CTX.wave_max)
    np.testing.assert_allclose(x, [-1.0, -1.0, 0.0, 1.0, 1.0])


def test_zero_coefficients_give_exactly_one():
    cal = legendre_poly("cal", degree=4)
    y = cal(WAVE, cal.init_values(), CTX)
    assert np.all(np.asarray(y) == 1.0)
    add = additive_poly("sky", degree=3)
    assert np.all(np.asarray(add(WAVE, add.init_values(), CTX)) == 0.0)


def test_additive_coefficient_order():
    add = additive_poly("sky", degree=3)
    x = np.asarray(scaled_wave(WAVE, CTX.wave_min, CTX.wave_max))
    expected = [np.ones_like(x), x, 0.5 * (3 * x**2 - 1), 0.5 * (5 * x**3 - 3 * x)]
    for k in range(4):
        p = {n: 0.0 for n in add.priors()} | {f"c_{k}": 2.0}
        np.testing.assert_allclose(add(WAVE, p, CTX), 2.0 * expected[k], atol=1e-12)
    series = 0.1 * expected[1] - 0.05 * expected[2]
    p = {"c_1": 0.1, "c_2": -0.05}
    np.testing.assert_allclose(legendre_poly("cal", degree=2, form="linear")(WAVE, p, CTX), 1.0 + series, atol=1e-12)
    np.testing.assert_allclose(legendre_poly("cal", degree=2)(WAVE, p, CTX), np.exp(series), rtol=1e-12)


@pytest.mark.parametrize("form, at_max, at_min", [("linear", 1.15, 1.0 - 0.2 - 0.1 - 0.05),
                                                  ("exp", np.exp(0.15), np.exp(-0.35))])
def test_constant_outside_the_spectrum(form, at_max, at_min):
    cal = legendre_poly("cal", degree=3, form=form)
    p = {"c_1": 0.2, "c_2": -0.1, "c_3": 0.05}
    y = cal(jnp.array([1000.0, 4000.0, 9000.0, 20000.0]), p, CTX)
    assert float(y[0]) == pytest.approx(float(y[1])) and float(y[2]) == pytest.approx(float(y[3]))
    assert float(y[2]) == pytest.approx(at_max) and float(y[1]) == pytest.approx(at_min)


def test_exp_form_is_positive_and_absorbs_a_power_law_slope_linearly():
    """exp(sum c_k L_k) > 0 for any coefficients, and a power-law index change d maps to coefficients linear in d.

    The least-squares coefficients that turn (lambda / 5100)^alpha into (lambda / 5100)^(alpha + d)
    are proportional to d with the exponential form (d = 0.9 gives exactly 3 times those of
    d = 0.3), and not with the linear form.
    """
    cal = legendre_poly("cal", degree=3)
    assert float(jnp.min(cal(WAVE, {"c_1": -3.0, "c_2": 2.0, "c_3": -4.0}, CTX))) > 0.0
    lin = legendre_poly("cal", degree=3, form="linear")
    assert float(jnp.min(lin(WAVE, {"c_1": -3.0, "c_2": 2.0, "c_3": -4.0}, CTX))) < 0.0
    wave = np.linspace(CTX.wave_min, CTX.wave_max, 400)
    basis = np.asarray(legendre_basis(scaled_wave(jnp.asarray(wave), CTX.wave_min, CTX.wave_max), 3))[1:].T
    ln_ratio = np.log(wave / 5100.0)

    def coeffs(d, form):
        # P = (lambda / 5100)^d turns index alpha into alpha + d: fit ln P (exp form) or P - 1 (linear)
        rhs = d * ln_ratio if form == "exp" else np.exp(d * ln_ratio) - 1.0
        # the constant term is fixed (P = 1 at c = 0): fit it as a free offset, keep the c_k
        design = np.column_stack([np.ones_like(wave), basis])
        return np.linalg.lstsq(design, rhs, rcond=None)[0][1:]

    c1, c3 = coeffs(0.3, "exp"), coeffs(0.9, "exp")
    np.testing.assert_allclose(c3, 3.0 * c1, rtol=1e-10)
    l1, l3 = coeffs(0.3, "linear"), coeffs(0.9, "linear")
    assert np.max(np.abs(l3 - 3.0 * l1)) > 0.05 * np.max(np.abs(l3))


@pytest.mark.parametrize("factory", [legendre_poly, additive_poly])
def test_jit_vmap_grad(factory):
    comp = factory("c", degree=3)
    keys = jax.random.split(jax.random.PRNGKey(0), 5)

    def draw(key):
        ks = jax.random.split(key, len(comp.priors()))
        return {n: d.sample(k) for (n, d), k in zip(comp.priors().items(), ks)}

    batch = jax.vmap(draw)(keys)
    ctxs = EvalContext(
        jnp.stack([CTX.lsf_wave] * 5), jnp.stack([CTX.lsf_sigma_kms] * 5),
        jnp.linspace(3500.0, 4500.0, 5), jnp.linspace(8000.0, 9500.0, 5),
    )
    out = jax.jit(jax.vmap(lambda p, c: comp(WAVE, p, c)))(batch, ctxs)
    assert out.shape == (5, WAVE.size) and np.all(np.isfinite(out))
    grads = jax.jit(jax.grad(lambda p: jnp.sum(comp(WAVE, p, CTX) ** 2)))(draw(keys[0]))
    assert all(np.isfinite(float(g)) and float(g) != 0.0 for g in grads.values())
    g_ctx = jax.grad(lambda lo: jnp.sum(comp(WAVE, draw(keys[1]), CTX._replace(wave_min=lo))))(jnp.asarray(4000.0))
    assert np.isfinite(float(g_ctx))


@pytest.mark.parametrize(
    "factory, options",
    [
        (legendre_poly, {"degree": 0}),
        (legendre_poly, {"degree": 2.5}),
        (additive_poly, {"degree": -1}),
        (legendre_poly, {"scale": 0.0}),
        (legendre_poly, {"form": "log"}),
        (additive_poly, {"scale": -1.0}),
    ],
)
def test_bad_options(factory, options):
    with pytest.raises(ConfigError):
        factory("c", **options)

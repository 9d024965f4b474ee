"""The width ladder: interpolation against the exact convolution, flux, shifts; FFT lengths."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from agnfit.plugins.broaden import C_KMS, WidthLadder, fast_len, gaussian_broaden

DLN = 30.0 / C_KMS


@pytest.fixture(scope="module")
def lines():
    """Narrow lines of unequal strength on a ln grid, flux per unit ln lambda."""
    lnw = np.log(4000.0) + DLN * np.arange(6000)
    vals = np.zeros(lnw.size)
    for i, a in ((1500, 1.0), (1530, 0.3), (3000, 2.0), (4200, 0.5)):
        vals[i] = a / DLN
    return lnw, gaussian_broaden(vals, np.array([2.0]))[0]


@pytest.mark.parametrize("n", [1, 7, 100, 1000, 4097, 12345, 25000])
def test_fast_len_is_5_smooth_and_not_shorter(n):
    m = fast_len(n)
    assert m >= n and m <= 2 * n
    for p in (2, 3, 5):
        while m % p == 0:
            m //= p
    assert m == 1


def test_ladder_matches_exact_convolution(lines):
    lnw, vals = lines
    ladder = WidthLadder.build(lnw[0], DLN, vals, (20.0, 5000.0))
    rng = np.random.default_rng(3)
    for sigma in np.exp(rng.uniform(np.log(20.0), np.log(5000.0), 12)):
        exact = gaussian_broaden(vals, np.array([sigma / (C_KMS * DLN)]))[0]
        approx = np.asarray(ladder(jnp.asarray(lnw), sigma))
        assert np.max(np.abs(approx - exact)) < 1e-4 * exact.max()


def test_ladder_conserves_flux_and_shifts(lines):
    lnw, vals = lines
    ladder = WidthLadder.build(lnw[0], DLN, vals, (20.0, 5000.0))
    f0 = np.asarray(ladder(jnp.asarray(lnw), 800.0))
    assert np.sum(f0) * DLN == pytest.approx(np.sum(vals) * DLN, rel=1e-6)
    f1 = np.asarray(ladder(jnp.asarray(lnw), 800.0, 300.0))  # 10 grid steps redward
    np.testing.assert_allclose(f1[1000:5000], f0[990:4990], atol=1e-9 * f0.max())


def test_ladder_is_smooth_and_differentiable_in_sigma(lines):
    lnw, vals = lines
    ladder = WidthLadder.build(lnw[0], DLN, vals, (20.0, 5000.0))
    peak = jnp.asarray(lnw[3000:3001])
    fn = jax.jit(lambda s: ladder(peak, s)[0])
    dfn = jax.jit(jax.grad(fn))
    s = np.linspace(300.0, 320.0, 41)  # spans ladder nodes (step 0.1 in ln sigma ~ 31 km/s)
    d = np.array([float(dfn(x)) for x in s])
    assert np.all(np.isfinite(d)) and np.all(d < 0)  # a broader line has a lower peak
    num = np.gradient(np.array([float(fn(x)) for x in s]), s)
    np.testing.assert_allclose(d[1:-1], num[1:-1], rtol=0.02)

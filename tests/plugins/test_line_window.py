"""Line profiles on pixel windows: the same spectrum and gradient as on the whole grid, on any grid."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from agnfit.core.component import EvalContext
from agnfit.plugins import lines as lines_mod
from agnfit.plugins.line_window import slot_windows, window_pixels
from agnfit.plugins.lines import C_KMS, broad_lines, narrow_lines

CTX = EvalContext.constant(65.0)
#: an SDSS-like grid, d log10(lambda) = 1e-4 (69 km/s per pixel), 4096 pixels from 3300 A (rest)
SDSS = jnp.asarray(3300.0 * 10 ** (1e-4 * np.arange(4096)))


def _whole_grid(monkeypatch):
    """Evaluations from now on use every pixel for every profile (windows wider than any grid)."""
    monkeypatch.setattr(lines_mod, "window_pixels", lambda kind, fwhm: 1 << 40)


def _params(comp, seed=0, **scale):
    rng = np.random.default_rng(seed)
    out, start = {}, comp.init_values()
    for k, role in zip(comp.layout.names, comp.layout.roles):
        v = start[k]
        jitter = rng.uniform(-300.0, 300.0) if role == "dv" else v * scale.get(role, 1.0) * (1.0 + 0.2 * rng.random())
        out[k] = jnp.asarray(jitter + (0.05 if role in ("h3", "h4") else 0.0))
    return out


def _value_and_grad(comp, wave, params):
    def loss(p):
        return jnp.sum(jnp.sin(1e-3 * wave) * comp(wave, p, CTX))  # every pixel weighted differently

    return comp(wave, params, CTX), jax.grad(loss)(params)


COMPONENTS = {
    "broad": lambda: broad_lines("br"),
    "broad_2gauss_gh": lambda: broad_lines("br", n_gauss=2, profile="gauss_hermite", tie_balmer=True),
    "narrow": lambda: narrow_lines("nl"),
    "narrow_gh": lambda: narrow_lines("nl", profiles={"OIII_5007": "gauss_hermite"}),
    "narrow_lorentz": lambda: narrow_lines("nl", profiles={"OIII_5007": "lorentzian"}),
}


@pytest.mark.parametrize("name", sorted(COMPONENTS))
@pytest.mark.parametrize("grid", ["sdss", "fine", "unsorted"])
def test_windowed_lines_equal_the_whole_grid(name, grid, monkeypatch):
    """Value and gradient agree to round-off whether the windows fit (SDSS grid) or not (fine or unsorted grid)."""
    comp = COMPONENTS[name]()
    if grid == "sdss":
        wave = SDSS
    elif grid == "fine":  # 5 km/s pixels around H-beta: no narrow window of 128 pixels holds 9 sigma
        wave = jnp.asarray(4861.0 * np.exp(np.arange(-2048, 2048) * 5.0 / C_KMS))
    else:  # a window is not a wavelength interval
        wave = SDSS[np.random.default_rng(1).permutation(SDSS.size)]
    params = _params(comp)
    val, grad = _value_and_grad(comp, wave, params)
    _whole_grid(monkeypatch)
    ref_val, ref_grad = _value_and_grad(comp, wave, params)
    assert float(jnp.max(ref_val)) > 0
    np.testing.assert_allclose(val, ref_val, rtol=1e-12, atol=1e-15 * float(jnp.max(ref_val)))
    for k in params:
        np.testing.assert_allclose(grad[k], ref_grad[k], rtol=1e-9, atol=1e-12 * float(jnp.max(jnp.abs(ref_grad[k]))))


def test_wide_broad_lines_fall_back_to_the_whole_grid(monkeypatch):
    """A broad FWHM beyond what the window was sized for (9000 km/s) gives the same spectrum."""
    comp = broad_lines("br", lines=["Hb", "Ha"])
    params = _params(comp, fwhm=6.0)  # 18000-21600 km/s
    val = comp(SDSS, params, CTX)
    _whole_grid(monkeypatch)
    np.testing.assert_allclose(val, comp(SDSS, params, CTX), rtol=1e-12, atol=1e-15 * float(jnp.max(val)))


def test_slot_windows_say_when_a_profile_does_not_fit():
    lnw = jnp.log(SDSS)
    centre = jnp.log(jnp.array([3400.0, 5008.0, 8600.0]))  # near the blue edge, inside, past the red edge
    half = jnp.full(3, 20 * 69.05 / C_KMS)  # 20 pixels each side
    rows, fits = slot_windows(lnw, centre, half, 64)
    assert rows.shape == (3, 64) and bool(fits)
    assert int(rows[2, -1]) == SDSS.size - 1  # clipped to the grid's end
    inside = (SDSS[rows[1]] > 5008.0 * np.exp(-half[1])) & (SDSS[rows[1]] < 5008.0 * np.exp(half[1]))
    assert int(jnp.sum(inside)) == 40
    assert not bool(slot_windows(lnw, centre, 2 * half, 64)[1])  # 80 pixels do not fit in 64
    assert not bool(slot_windows(lnw[::-1], centre, half, 64)[1])  # not increasing


def test_window_sizes():
    assert window_pixels("narrow", 1000.0) == 128  # every default narrow width on SDSS pixels
    assert window_pixels("broad", 20000.0) == window_pixels("broad", 9000.0) == 1024
    assert window_pixels("narrow", 3000.0) > window_pixels("narrow", 1000.0)

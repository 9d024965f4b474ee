"""Shape and dtype checks at the public boundaries: a wrong array is an InputTypeError naming the argument."""

import re

import astropy.units as u
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jaxtyping import Array, Float, TypeCheckError

import agnfit
from agnfit.core.checks import checked
from agnfit.core.component import EvalContext
from agnfit.core.data import Photometry, Spectrum
from agnfit.core.derived import fwhm_of
from agnfit.errors import InputError, InputTypeError
from agnfit.simulate import Observation, true_model

W = np.linspace(3800.0, 9200.0, 50)
CONFIG = {"data": {"deredden": False}, "components": {"pl": {"type": "power_law"}}}


def test_input_type_error_is_an_input_error_and_a_type_error():
    assert issubclass(InputTypeError, InputError) and issubclass(InputTypeError, TypeError)
    assert agnfit.InputTypeError is InputTypeError


@pytest.mark.parametrize("kw, name, given", [
    ({"flux": np.ones(W.size, complex)}, "flux", "c128[50]"),
    ({"err": np.array(["0.1"] * W.size)}, "err", "<U3[50]"),
    ({"flux": np.ones(W.size, bool)}, "flux", "bool[50]"),
    ({"flux": [1.0, None] * 25}, "flux", "object[50]"),
    ({"mask": np.array(["y"] * W.size)}, "mask", "<U1[50]"),
    ({"lsf_sigma_kms": np.ones(7)}, "lsf_sigma_kms", "f64[7]"),
])
def test_spectrum_rejects_wrong_dtypes_and_shapes(kw, name, given):
    base = {"wave": W, "flux": np.ones(W.size), "err": np.ones(W.size), "z": 0.1, **kw}
    with pytest.raises(InputTypeError, match=rf"Spectrum: argument '{name}' is {re.escape(given)}.*expected") as exc:
        Spectrum(**base)
    assert "n=50" in str(exc.value)  # the length every array must have, taken from the other arguments


def test_spectrum_refuses_quantities_and_points_to_read_spectrum():
    with pytest.raises(InputError, match=r"wave is an astropy Quantity.*read_spectrum"):
        Spectrum(W * u.AA, np.ones(W.size), np.ones(W.size), 0.1)
    spec = agnfit.read_spectrum((W * u.nm / 10, np.ones(W.size) * u.erg / u.s / u.cm**2 / u.AA,
                                 np.ones(W.size) * u.erg / u.s / u.cm**2 / u.AA), z=0.1)
    np.testing.assert_allclose(spec.wave, W)


def test_photometry_rejects_text_and_complex_magnitudes():
    with pytest.raises(InputTypeError, match=r"Photometry: argument 'mags' is <U4\[2\]"):
        Photometry(["sdss2010-g", "sdss2010-r"], ["18.0", "19.0"], [0.1, 0.1])
    with pytest.raises(InputTypeError, match=r"argument 'errs' is c128\[2\]"):
        Photometry(["sdss2010-g", "sdss2010-r"], [18.0, 19.0], np.array([0.1, 0.1j]))
    with pytest.raises(InputError, match="single string"):
        Photometry("sdss2010-g", [18.0], [0.1])


@pytest.fixture(scope="module")
def model_and_ctx():
    _, model = true_model(CONFIG, Observation())
    rest = jnp.linspace(3000.0, 8000.0, 64)
    return model, rest, EvalContext(rest, jnp.full(64, 60.0), rest[0], rest[-1], jnp.asarray(60.0))


def test_model_evaluation_checks_outside_and_inside_jit(model_and_ctx):
    model, rest, ctx = model_and_ctx
    p = model.init_values()
    eager = model.fiber_flux(rest, p, ctx)
    np.testing.assert_allclose(jax.jit(lambda q: model.fiber_flux(rest, q, ctx))(p), eager)
    np.testing.assert_allclose(jax.vmap(lambda w: model.fiber_flux(w, p, ctx))(jnp.stack([rest, rest]))[1], eager)
    with pytest.raises(InputTypeError, match=r"Model.fiber_flux: argument 'wave' is f64\[2,32\].*1-D float array"):
        model.fiber_flux(rest.reshape(2, 32), p, ctx)
    with pytest.raises(InputTypeError, match=r"argument 'wave' is i64\[10\]"):
        model.component_fluxes(np.arange(10), p, ctx)
    with pytest.raises(InputTypeError, match=r"argument 'ctx'"):
        model.fiber_flux(rest, p, None)
    with pytest.raises(InputTypeError, match=r"argument 'wave' is f64\[2,32\]"):  # caught while tracing
        jax.jit(lambda w: model.fiber_flux(w, p, ctx))(rest.reshape(2, 32))


def test_derived_helper_checks_lengths_and_still_vmaps():
    v = jnp.linspace(-3000.0, 3000.0, 601)
    f = jnp.exp(-0.5 * (v / 1000.0) ** 2)
    assert float(fwhm_of(v, f)) == pytest.approx(2354.8, rel=1e-3)
    np.testing.assert_allclose(jax.vmap(fwhm_of, (None, 0))(v, jnp.stack([f, 2 * f])), float(fwhm_of(v, f)))
    with pytest.raises(InputTypeError, match=r"fwhm_of: argument 'f' is f64\[100\].*n=601"):
        fwhm_of(v, f[:100])


def test_fit_and_simulate_name_the_wrong_argument():
    spec = Spectrum(W, np.ones(W.size), np.ones(W.size), 0.1)
    with pytest.raises(InputTypeError, match=r"fit: argument 'spectrum' is f64\[50\].*read_spectrum"):
        agnfit.fit(W, CONFIG)
    with pytest.raises(InputTypeError, match=r"fit: argument 'photometry' is \[18.0\]"):
        agnfit.fit(spec, CONFIG, photometry=[18.0])
    with pytest.raises(InputTypeError, match=r"simulate: params\['pl.norm'\] is float64\[3\]"):
        agnfit.simulate(CONFIG, {"pl.norm": np.ones(3)})
    with pytest.raises(InputTypeError, match=r"simulate: argument 'obs' is 0.2"):
        agnfit.simulate(CONFIG, {}, 0.2)
    with pytest.raises(InputTypeError, match=r"Observation: argument 'wave' is <U1\[20\]"):
        Observation(wave=["a"] * 20)


def test_a_wrong_return_value_is_a_bug_not_an_input_error():
    @checked
    def broken(x: Float[Array, " n"]) -> Float[Array, " n"]:
        return x[:1]

    assert broken(jnp.ones(1)).shape == (1,)
    with pytest.raises(TypeCheckError) as exc:
        broken(jnp.ones(3))
    assert not isinstance(exc.value, InputError)

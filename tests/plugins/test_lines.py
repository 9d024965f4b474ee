"""Broad and narrow emission lines: profiles, fluxes, widths, ties, ranges and config errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from agnfit.core.component import EvalContext
from agnfit.core.model import Model
from agnfit.errors import ConfigError
from agnfit.plugins import profiles as prof
from agnfit.plugins.lines import C_KMS, broad_lines, narrow_lines
from agnfit.plugins.linelist import BROAD, CATALOGUE, NARROW
from agnfit.registry import get_registry
from profile_measures import fwhm_kms

WAVE = jnp.asarray(np.geomspace(1000.0, 12000.0, 4000))
CTX = EvalContext.constant(60.0)


def _draws(priors, n, seed=0):
    key = jax.random.PRNGKey(seed)
    return {k: d.sample(jax.random.fold_in(key, i), (n,)) for i, (k, d) in enumerate(priors.items())}


def _fine_grid(center, half_kms=2.0e5, step_kms=2.0):
    """Rest wavelengths uniform in velocity around ``center`` (A), and their velocities (km/s)."""
    v = np.arange(-half_kms, half_kms + step_kms, step_kms)
    return center * np.exp(v / C_KMS), v


COMPONENTS = {
    "broad": lambda: broad_lines("br"),
    "broad_2gauss_gh": lambda: broad_lines("br", n_gauss=2, profile="gauss_hermite", tie_balmer=True),
    "broad_lorentz": lambda: broad_lines("br", profiles={"Hb": "lorentzian", "MgII": "lorentzian"}),
    "narrow": lambda: narrow_lines("nl"),
    "narrow_gh": lambda: narrow_lines("nl", profiles={"OIII_5007": "gauss_hermite"}),
}


@pytest.mark.parametrize("which", COMPONENTS)
def test_jit_vmap_and_finite_gradients(which):
    comp = COMPONENTS[which]()
    draws = _draws(comp.priors(), 3, seed=1)
    f = jax.jit(jax.vmap(lambda p: comp(WAVE, p, CTX)))(draws)
    assert f.shape == (3,) + WAVE.shape and np.all(np.isfinite(np.asarray(f)))
    g = jax.jit(jax.vmap(jax.grad(lambda p: jnp.sum(comp(WAVE, p, CTX) ** 2))))(draws)
    for k, v in g.items():
        assert np.all(np.isfinite(np.asarray(v))), k
    init = comp.init_values()
    assert set(init) == set(comp.priors())
    for k, d in comp.priors().items():
        assert np.isfinite(float(d.log_prob(init[k]))), k


def test_registered_types():
    reg = get_registry()
    br = reg.get("component", "broad_lines")("br")
    nl = reg.get("component", "narrow_lines")("nl")
    assert (br.morphology, br.operation, br.group) == ("point", "add", "line")
    assert (nl.morphology, nl.operation, nl.group) == ("extended", "add", "line")
    assert br.line_names() == list(BROAD) and nl.line_names() == list(NARROW)
    assert nl.line_rest_wave("OIII_5007") == pytest.approx(5008.24)
    model = Model((br, nl))
    assert "br.Hb_fwhm" in model.priors() and "nl.OIII_5007_flux" in model.priors()


@pytest.mark.parametrize("profile", ["gaussian", "gauss_hermite", "lorentzian"])
@pytest.mark.parametrize("sigma_inst", [0.0, 150.0])
def test_integrated_flux_is_the_flux_parameter(profile, sigma_inst):
    comp = broad_lines("br", lines=["Hb"], profile=profile)
    p = {"Hb_flux": 37.0, "Hb_fwhm": 3000.0, "Hb_dv": 250.0, "Hb_h3": 0.12, "Hb_h4": -0.08}
    p = {k: v for k, v in p.items() if k in comp.priors()}
    wave, v = _fine_grid(4862.68)
    f = np.asarray(comp(jnp.asarray(wave), p, EvalContext.constant(sigma_inst)))
    expected = 37.0
    if profile == "lorentzian":  # the Lorentzian wings beyond the grid, exact for sigma_inst = 0
        gam = 1500.0
        expected *= (np.arctan((v[-1] - 250.0) / gam) - np.arctan((v[0] - 250.0) / gam)) / np.pi
    assert np.trapezoid(f, wave) == pytest.approx(expected, rel=2e-4)
    assert float(comp.line_flux(p, "Hb")) == pytest.approx(37.0)


def test_gauss_hermite_with_zero_moments_is_the_gaussian():
    x = jnp.linspace(-5000.0, 5000.0, 1001)
    g = prof.gaussian(x, 800.0, 70.0)
    so = np.hypot(800.0, 70.0)
    assert np.allclose(g, np.exp(-0.5 * (x / so) ** 2) / (np.sqrt(2 * np.pi) * so), rtol=1e-12, atol=0)
    gh = broad_lines("br", lines=["Ha"], profile="gauss_hermite")
    ga = broad_lines("br", lines=["Ha"])
    p = {"Ha_flux": 10.0, "Ha_fwhm": 2500.0, "Ha_dv": -300.0}
    f_gh = gh(WAVE, {**p, "Ha_h3": 0.0, "Ha_h4": 0.0}, CTX)
    assert np.allclose(f_gh, ga(WAVE, p, CTX), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("profile", ["gaussian", "gauss_hermite"])
def test_instrumental_broadening_adds_in_quadrature(profile):
    comp = narrow_lines("nl", lines=["OIII_5007"], profile=profile)
    p = {"Hb_fwhm": 300.0, "Hb_dv": 0.0, "OIII_5007_flux": 5.0, "OIII_5007_h3": 0.0, "OIII_5007_h4": 0.0}
    p = {k: v for k, v in p.items() if k in comp.priors()}
    wave, v = _fine_grid(5008.24, half_kms=3000.0, step_kms=0.5)
    sig = 120.0
    observed = comp(jnp.asarray(wave), p, EvalContext.constant(sig))
    inst = prof.FWHM_PER_SIGMA * sig
    # per unit velocity (f_lambda * lambda) the profile is exactly Gaussian in v
    assert fwhm_kms(v, observed * wave) == pytest.approx(np.hypot(300.0, inst), rel=1e-4)
    intrinsic = comp.line_profile(jnp.asarray(wave), p, None, "OIII_5007", intrinsic=True)
    assert fwhm_kms(v, intrinsic * wave) == pytest.approx(300.0, rel=1e-4)
    same = comp.line_profile(jnp.asarray(wave), p, EvalContext.constant(sig), "OIII_5007", intrinsic=False)
    assert np.allclose(same, observed)


def test_lorentzian_width_and_voigt_approximation():
    comp = broad_lines("br", lines=["MgII"], profile="lorentzian")
    p = {"MgII_flux": 20.0, "MgII_fwhm": 2000.0, "MgII_dv": 0.0}
    wave, v = _fine_grid(2798.75, half_kms=20000.0, step_kms=1.0)
    intrinsic = comp.line_profile(jnp.asarray(wave), p, None, "MgII")
    assert fwhm_kms(v, intrinsic * wave) == pytest.approx(2000.0, rel=1e-4)
    # Voigt FWHM (Olivero & Longbothum 1977): 0.5346 fL + sqrt(0.2166 fL^2 + fG^2), good to 0.02%
    fg = prof.FWHM_PER_SIGMA * 400.0
    voigt = 0.5346 * 2000.0 + np.sqrt(0.2166 * 2000.0**2 + fg**2)
    observed = comp(jnp.asarray(wave), p, EvalContext.constant(400.0))
    assert fwhm_kms(v, observed * wave) == pytest.approx(voigt, rel=0.01)


def test_multi_gaussian_components_are_ordered_by_width():
    comp = broad_lines("br", lines=["Hb"], n_gauss=3)
    pri = comp.priors()
    assert {"Hb_fwhm", "Hb_fwhm_ratio_2", "Hb_fwhm_ratio_3", "Hb_flux_3", "Hb_dv_2"} <= set(pri)
    assert float(pri["Hb_fwhm_ratio_2"].support.lower_bound) >= 1.0
    p = {"Hb_flux": 1.0, "Hb_flux_2": 2.0, "Hb_flux_3": 3.0, "Hb_fwhm": 1500.0, "Hb_fwhm_ratio_2": 2.0,
         "Hb_fwhm_ratio_3": 1.5, "Hb_dv": 0.0, "Hb_dv_2": 100.0, "Hb_dv_3": -100.0}
    np.testing.assert_allclose(comp.slot_values(p).fwhm, [1500.0, 3000.0, 4500.0])
    assert float(comp.line_flux(p, "Hb")) == pytest.approx(6.0)


def test_doublet_ratios_are_fixed():
    comp = narrow_lines("nl", lines=["OIII_4959", "OIII_5007", "NII_6548", "NII_6583"])
    names = set(comp.priors())
    assert {"OIII_5007_flux", "NII_6583_flux"} <= names
    assert not {"OIII_4959_flux", "NII_6548_flux"} & names
    p = {"Hb_fwhm": 400.0, "Hb_dv": 50.0, "Ha_fwhm": 300.0, "Ha_dv": 0.0, "OIII_5007_flux": 29.8, "NII_6583_flux": 5.92}
    wave, _ = _fine_grid(5800.0, half_kms=60000.0)
    for weak, strong, ratio in [("OIII_4959", "OIII_5007", 2.98), ("NII_6548", "NII_6583", 2.96)]:
        fw = np.trapezoid(comp.line_profile(jnp.asarray(wave), p, CTX, weak, intrinsic=False), wave)
        fs = np.trapezoid(comp.line_profile(jnp.asarray(wave), p, CTX, strong, intrinsic=False), wave)
        assert fs / fw == pytest.approx(ratio, rel=1e-6)
    # without its partner the weak line has its own flux
    alone = narrow_lines("nl", lines=["OIII_4959"])
    assert "OIII_4959_flux" in alone.priors()


def test_narrow_lines_of_a_complex_share_width_and_shift():
    comp = narrow_lines("nl", lines=["Hb", "OIII_4959", "OIII_5007", "SII_6731"])
    assert set(comp.priors()) == {"Hb_fwhm", "Hb_dv", "Hb_flux", "OIII_5007_flux", "Ha_fwhm", "Ha_dv", "SII_6731_flux"}
    p = {"Hb_fwhm": 500.0, "Hb_dv": -200.0, "Hb_flux": 1.0, "OIII_5007_flux": 9.0, "Ha_fwhm": 200.0, "Ha_dv": 0.0,
         "SII_6731_flux": 1.0}
    for line in ("Hb", "OIII_5007"):
        lam0 = comp.line_rest_wave(line)
        wave, v = _fine_grid(lam0, half_kms=3000.0, step_kms=0.5)
        f = np.asarray(comp.line_profile(jnp.asarray(wave), p, None, line)) * wave
        assert v[np.argmax(f)] == pytest.approx(-200.0, abs=1.0)
        assert fwhm_kms(v, f) == pytest.approx(500.0, rel=1e-4)


def test_restrict_drops_lines_out_of_range():
    br = broad_lines("br")
    assert br.restrict(1000.0, 12000.0) is br
    hb = br.restrict(4000.0, 5500.0)
    assert hb.line_names() == ["Hd", "Hg", "HeII_4686", "Hb"]
    assert all(not k.startswith(("Ha_", "MgII_")) for k in hb.priors())
    assert br.restrict(7000.0, 9000.0) is None
    # the margin keeps a line just outside the range, not one far outside
    hb_edge = 4862.68 * (1 - 200.0 / C_KMS)
    assert "Hb" in br.restrict(3000.0, hb_edge).line_names()
    assert "Hb" not in br.restrict(3000.0, 4862.68 * (1 - 1000.0 / C_KMS)).line_names()
    nl = narrow_lines("nl").restrict(4000.0, 5000.0)
    assert "OIII_4959_flux" in nl.priors() and "OIII_5007" not in nl.line_names()


def test_line_windows_cover_each_line():
    for comp in (broad_lines("br"), narrow_lines("nl")):
        win = comp.line_windows()
        assert win.shape == (len(comp.line_names()), 2)
        for (lo, hi), line in zip(win, comp.line_names()):
            assert lo < comp.line_rest_wave(line) < hi
    assert np.ptp(broad_lines("br", lines=["Hb"]).line_windows()) > 100.0


def test_tie_balmer_reduces_parameters():
    free = broad_lines("br", n_gauss=2)
    tied = broad_lines("br", n_gauss=2, tie_balmer=True)
    # four Balmer lines: 3 x (fwhm, ratio, dv, dv_2) fewer, all fluxes kept
    assert len(free.priors()) - len(tied.priors()) == 3 * 4
    assert {"balmer_fwhm", "balmer_dv", "balmer_fwhm_ratio_2", "Ha_flux", "Hd_flux_2"} <= set(tied.priors())
    assert "Ha_fwhm" not in tied.priors() and "MgII_fwhm" in tied.priors()


def test_custom_lines_and_options_have_effect():
    comp = narrow_lines("nl", lines=["OIII_5007", {"name": "FeVII_6087", "wave": 6087.98, "complex": "FeVII"}])
    assert comp.line_names() == ["OIII_5007", "FeVII_6087"]
    assert {"FeVII_fwhm", "FeVII_dv", "FeVII_6087_flux"} <= set(comp.priors())
    pri = broad_lines("br", lines=["Hb"], fwhm_range=(800.0, 9000.0), dv_max=500.0, flux_scale=3.0).priors()
    assert float(pri["Hb_fwhm"].low) == 800.0 and float(pri["Hb_fwhm"].high) == 9000.0
    assert float(pri["Hb_dv"].high) == 500.0 and float(pri["Hb_flux"].scale) == 3.0


def test_evaluation_is_vectorised_over_lines():
    """The number of pixel-sized operations does not grow with the number of lines."""

    def n_pixel_ops(comp):
        p = comp.init_values()
        jaxpr = jax.make_jaxpr(lambda p: comp(WAVE, p, CTX))(p)
        return sum(any(WAVE.shape[0] in getattr(o.aval, "shape", ()) for o in e.outvars) for e in jaxpr.eqns)

    assert n_pixel_ops(broad_lines("br", lines=["Hb"])) == n_pixel_ops(broad_lines("br", n_gauss=2))


def test_config_errors():
    with pytest.raises(ConfigError, match=r"unknown line 'Hbeta'.*Valid broad line names: \[.*'Hb'"):
        broad_lines("br", lines=["Hbeta"])
    with pytest.raises(ConfigError, match="OIII_5007.*no broad part"):
        broad_lines("br", lines=["OIII_5007"])
    with pytest.raises(ConfigError, match="profile must be one of"):
        narrow_lines("nl", profile="voigt")
    with pytest.raises(ConfigError, match="not in this component"):
        narrow_lines("nl", lines=["Hb"], profiles={"Ha": "lorentzian"})
    with pytest.raises(ConfigError, match="n_gauss"):
        broad_lines("br", n_gauss=0)
    with pytest.raises(ConfigError, match="fwhm_range"):
        broad_lines("br", fwhm_range=(5000.0, 1000.0))
    with pytest.raises(ConfigError, match="more than once"):
        broad_lines("br", lines=["Hb", "Hb"])
    with pytest.raises(ConfigError, match="custom line"):
        narrow_lines("nl", lines=[{"name": "X", "lam": 5000.0}])
    assert set(CATALOGUE) >= set(BROAD) | set(NARROW)


@pytest.mark.parametrize("profile", ["gaussian", "gauss_hermite", "lorentzian"])
def test_slot_jacobian_equals_forward_mode(profile):
    """The per-slot Jacobian the optimiser uses equals jax.jacfwd of the component."""
    from agnfit.core.component import AbstractComponent

    comp = broad_lines("b", lines=["Hb", "Ha"], profile=profile, n_gauss=2, tie_balmer=True).restrict(4000.0, 7000.0)
    nar = narrow_lines("n", lines=["Hb", "OIII_4959", "OIII_5007"], profile=profile)
    wave = jnp.linspace(4200.0, 6800.0, 700)
    ctx = EvalContext.constant(70.0)
    rng = np.random.default_rng(0)
    for c in (comp, nar):
        params = {k: jnp.asarray(v * (1.0 + 0.1 * rng.random()) + (0.05 if k.endswith(("h3", "h4")) else 0.0))
                  for k, v in c.init_values().items()}
        names = tuple(params)
        val, jac = c.jacobian(wave, params, ctx, names)
        ref_val, ref_jac = AbstractComponent.jacobian(c, wave, params, ctx, names)
        np.testing.assert_allclose(val, ref_val, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(jac, ref_jac, rtol=1e-9, atol=1e-12 * float(jnp.max(jnp.abs(ref_jac))))


def test_shared_kinematics_give_every_narrow_line_one_width_and_shift():
    comp = narrow_lines("nl", lines=["NeV_3426", "Hb", "OIII_4959", "OIII_5007", "SII_6731"], shared_kinematics=True)
    assert set(comp.priors()) == {"shared_fwhm", "shared_dv", "NeV_3426_flux", "Hb_flux", "OIII_5007_flux",
                                  "SII_6731_flux"}
    p = {"shared_fwhm": 450.0, "shared_dv": 120.0} | {n: 1.0 for n in comp.priors() if n.endswith("_flux")}
    for line in ("NeV_3426", "OIII_5007", "SII_6731"):
        wave, v = _fine_grid(comp.line_rest_wave(line), half_kms=3000.0, step_kms=0.5)
        f = np.asarray(comp.line_profile(jnp.asarray(wave), p, None, line)) * wave
        assert v[np.argmax(f)] == pytest.approx(120.0, abs=1.0)
        assert fwhm_kms(v, f) == pytest.approx(450.0, rel=1e-4)
    kept = comp.restrict(4000.0, 5200.0)
    assert kept.shared_kinematics and set(kept.priors()) == {"shared_fwhm", "shared_dv", "Hb_flux", "OIII_5007_flux"}


def test_shared_kinematics_options_are_checked():
    with pytest.raises(ConfigError, match="shared_kinematics must be true or false"):
        narrow_lines("nl", shared_kinematics="yes")
    with pytest.raises(ConfigError, match="tie_balmer must be true or false"):
        broad_lines("br", tie_balmer=1)
    with pytest.raises(ConfigError, match="not be one of"):
        narrow_lines("nl", lines=[{"name": "shared", "wave": 5000.0}], shared_kinematics=True)

"""Host-galaxy components: the DSPS SSP mixture (host_dsps) and the Yip et al. (2004) PCA host (host_pca)."""

import h5py
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from agnfit.config import check_options
from agnfit.core.component import AbstractComponent, EvalContext
from agnfit.errors import ConfigError, InputError
from agnfit.plugins import host as host_mod
from agnfit.plugins.broaden import C_KMS, LogTemplates
from agnfit.plugins.host import C_AA_S, SSPGrid, air_to_vacuum, host_dsps, read_dsps_ssp
from agnfit.plugins.host_pca import host_pca
from agnfit.registry import get_registry, hookimpl

CTX = EvalContext.constant(65.0, 3800.0, 9200.0)
WAVE = jnp.linspace(3000.0, 10000.0, 14001)


def band_mean(wave, flux, lo, hi):
    sel = (wave >= lo) & (wave <= hi)
    return float(np.mean(np.asarray(flux)[np.asarray(sel)]))


def line_depth(flux, wave, lo, hi):
    """Minimum inside [lo, hi] over the maximum within 30 A around it (1 = no line)."""
    f, w = np.asarray(flux), np.asarray(wave)
    inner = f[(w > lo) & (w < hi)].min()
    return inner / f[(w > lo - 30) & (w < hi + 30)].max()


def draw(priors, key):
    keys = jax.random.split(key, len(priors))
    return {n: d.sample(k) for (n, d), k in zip(sorted(priors.items()), keys)}


@pytest.fixture(scope="module")
def host(data_dir):
    return host_dsps("host", weights="independent")


@pytest.fixture(scope="module")
def old_ssp(data_dir):
    return host_dsps("old", ages=[10.0], logzsol=[0.0], weights="independent")


@pytest.fixture(scope="module")
def pca(data_dir):
    return host_pca("pca")


def write_dsps(path, lgmet, lg_age, wave, flux, drop=None):
    with h5py.File(path, "w") as f:
        for key, val in (("ssp_lgmet", lgmet), ("ssp_lg_age_gyr", lg_age), ("ssp_wave", wave), ("ssp_flux", flux)):
            if key != drop:
                f[key] = val
    return path


@pytest.fixture
def toy_file(tmp_path):
    """A small DSPS file whose L_nu is flat in wavelength and linear in (log age, log Z)."""
    lgmet = np.log10(0.02) + np.array([-1.0, 0.0, 0.5])
    lg_age = np.array([-2.0, -1.0, 0.0, 1.0])
    wave = np.linspace(1000.0, 20000.0, 3000)
    level = 10.0 + lg_age[None, :] + 2.0 * (lgmet[:, None] - lgmet[0])
    flux = level[:, :, None] * np.ones_like(wave)
    return write_dsps(tmp_path / "toy.h5", lgmet, lg_age, wave, flux)


# ---------------------------------------------------------------- registration, options


def test_registered(data_dir):
    reg = get_registry()
    assert {"host_dsps", "host_pca"} <= set(reg.names("component"))
    assert {"bc03_miles_chabrier", "yip2004_galaxy"} <= set(reg.names("host_template"))
    assert isinstance(reg.get("host_template", "bc03_miles_chabrier")(), SSPGrid)


def test_options_are_checked():
    check_options(host_dsps, {"ages": [1.0], "ssp_file": "x.h5"}, "[components.host]")
    with pytest.raises(ConfigError, match="fsps_age_grid"):
        check_options(host_dsps, {"fsps_age_grid": [1.0]}, "[components.host]")
    with pytest.raises(ConfigError, match="unknown option"):
        host_dsps("host", n_ages=3)
    check_options(host_pca, {"n_components": 3}, "[components.pca]")


def test_parameter_names_and_grid(host):
    assert host.weights_names() == [f"w_{i}" for i in range(15)]
    assert set(host.priors()) == set(host.weights_names()) | {"sigma", "dv"}
    assert host.template_grid()[:2] == [(0.1, -0.5), (0.5, -0.5)]
    assert host.template_grid()[-1] == (10.0, 0.3)
    assert host.morphology == "extended" and host.operation == "add" and host.group == "continuum"
    assert set(host.init_values()) == set(host.priors())


# ---------------------------------------------------------------- evaluation


def test_jit_vmap_and_gradients_at_prior_draws(host):
    wave = jnp.linspace(900.0, 13000.0, 3000)
    f = jax.jit(lambda p, ctx: host(wave, p, ctx))
    grad = jax.jit(jax.grad(lambda q: jnp.sum(host(wave, q, CTX) ** 2)))
    for seed in range(3):
        p = draw(host.priors(), jax.random.PRNGKey(seed))
        assert np.all(np.isfinite(f(p, CTX)))
        grads = grad(p)
        assert all(np.isfinite(float(g)) for g in grads.values())
        assert abs(float(grads["sigma"])) > 0 and abs(float(grads["dv"])) > 0
    batch = jax.vmap(lambda k: draw(host.priors(), k))(jax.random.split(jax.random.PRNGKey(9), 4))
    ctxs = jax.tree_util.tree_map(lambda x: jnp.stack([x] * 4), CTX)
    out = jax.jit(jax.vmap(lambda p, ctx: host(wave, p, ctx)))(batch, ctxs)
    assert out.shape == (4, wave.size) and np.all(np.isfinite(out))
    one = jax.tree_util.tree_map(lambda x: x[2], batch)
    np.testing.assert_allclose(out[2], f(one, CTX), rtol=1e-6, atol=1e-9)


def test_nonnegative_and_zero_outside(host):
    wave = jnp.concatenate([jnp.array([0.0, 1.0, 500.0]), jnp.linspace(900.0, 13000.0, 3000), jnp.array([5e4])])
    rng = np.random.default_rng(1)
    for _ in range(3):
        p = {n: float(v) for n, v in zip(host.weights_names(), rng.exponential(0.3, 15))}
        p.update(sigma=float(rng.uniform(30, 500)), dv=float(rng.uniform(-300, 300)))
        y = np.asarray(host(wave, p, CTX))
        assert np.all(np.isfinite(y))
        assert y.min() >= -1e-9 * y.max()
        assert np.all(y[:3] == 0.0) and y[-1] == 0.0


def test_broadening_conserves_flux(old_ssp):
    wave = jnp.linspace(3000.0, 10000.0, 70001)
    sel = (wave > 4000) & (wave < 9000)
    fluxes = [
        np.trapezoid(np.asarray(old_ssp(wave, {"w_0": 1.0, "sigma": s, "dv": 0.0}, CTX))[sel], np.asarray(wave[sel]))
        for s in (30.0, 150.0, 450.0)
    ]
    np.testing.assert_allclose(fluxes[1:], fluxes[0], rtol=0.01)


def test_normalised_at_norm_wave(old_ssp):
    p = {"w_0": 0.7, "sigma": 150.0, "dv": 0.0}
    window = jnp.linspace(5050.0, 5150.0, 201)
    assert float(jnp.mean(old_ssp(window, p, CTX))) == pytest.approx(0.7, rel=0.01)
    assert float(old_ssp(jnp.array([5100.0]), p, CTX)[0]) == pytest.approx(0.7, rel=0.03)
    # other norm_wave: the weight is then the flux there
    red = host_dsps("red", ages=[10.0], logzsol=[0.0], norm_wave=7000.0, weights="independent")
    window = jnp.linspace(6950.0, 7050.0, 201)
    assert float(jnp.mean(red(window, p, CTX))) == pytest.approx(0.7, rel=0.01)


def test_broadening_matches_numpy_and_single_precision_rows_agree(data_dir):
    """The value path equals a numpy float64 broadening; the float32 Jacobian rows agree to 1e-6 of the peak."""
    grid = host_mod.load_bc03_miles_chabrier()
    sub = host_mod.ssp_subgrid(grid, (0.1, 10.0), (0.0,))
    flam = sub * C_AA_S / grid.wave**2
    flam = flam / flam.max(axis=1, keepdims=True)
    tpl = LogTemplates.from_arrays(grid.wave, flam, 30.0, 800.0, (3000.0, 9000.0))
    lngrid = np.asarray(tpl.lnwave)
    res = np.stack([np.interp(np.exp(lngrid), grid.wave, f) for f in flam])
    freq = np.fft.rfftfreq(tpl.n_fft)
    weights = np.array([0.3, 1.1])
    for sigma in (1.0, 40.0, 250.0, 790.0):
        kern = np.exp(-2.0 * (np.pi * freq * sigma / 30.0) ** 2)
        ref = np.fft.irfft(weights @ np.fft.rfft(res, n=tpl.n_fft, axis=-1) * kern, n=tpl.n_fft)[: lngrid.size]
        got = np.asarray(tpl.broadened(jnp.asarray(weights), jnp.asarray(sigma)))
        assert got.dtype == np.float64
        assert np.max(np.abs(got - ref)) < 1e-12 * np.max(np.abs(ref)), sigma
        rows = np.asarray(tpl.broadened_rows(jnp.asarray(weights), jnp.asarray(sigma), None, (0, 1)))
        assert rows.dtype == np.float32 and rows.shape == (3, tpl.n_fft)
        assert np.max(np.abs(rows[0, : lngrid.size] - ref)) < 1e-6 * np.max(np.abs(ref)), sigma
        assert np.max(np.abs(weights @ rows[1:, : lngrid.size] - ref)) < 1e-6 * np.max(np.abs(ref)), sigma
        mid = np.asarray(jnp.exp(tpl.lnwave[100:-100:7]))
        np.testing.assert_allclose(tpl(mid, weights, sigma), np.interp(np.log(mid), lngrid, ref), atol=1e-6 * ref.max())


def _jacobian_cases(comp):
    """Parameter points (one with the kernel floored) and name subsets for a broadened host."""
    pri = list(comp.priors())
    coeffs = [n for n in pri if n not in ("sigma", "dv")]
    rng = np.random.default_rng(4)
    p = {n: jnp.asarray(rng.uniform(0.05, 0.5)) for n in coeffs} | {"sigma": jnp.asarray(170.0), "dv": jnp.asarray(-37.3)}
    subsets = [tuple(pri), ("dv", "sigma"), (coeffs[3], "dv", coeffs[0]), (coeffs[1],), ("sigma",)]
    # sigma_inst 30 km/s and sigma = 30 km/s: below the templates' resolution, the kernel sits on its floor
    return [(p, CTX), (p | {"sigma": jnp.asarray(30.0)}, EvalContext.constant(30.0, 3800.0, 9200.0))], subsets


@pytest.mark.parametrize("which", ["host", "pca"])
def test_analytic_jacobian_equals_forward_mode(which, request):
    """The host's own Jacobian (used by the Levenberg-Marquardt curvature) equals jax.jacfwd of __call__."""
    comp = request.getfixturevalue(which)
    wave = jnp.concatenate([jnp.geomspace(3400.0, 8400.0, 3000), jnp.array([0.0, 500.0, 30000.0])])
    points, subsets = _jacobian_cases(comp)
    for (p, ctx), names in ((pc, n) for pc in points for n in subsets):
        val, jac = jax.jit(lambda q, c, names=names: comp.jacobian(wave, q, c, names))(p, ctx)
        ref_val, ref_jac = AbstractComponent.jacobian(comp, wave, p, ctx, names)
        assert jac.shape == (wave.size, len(names)) and jac.dtype == np.float64
        peak = float(np.max(np.abs(np.asarray(ref_val))))
        np.testing.assert_allclose(ref_val, comp(wave, p, ctx), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(val, ref_val, rtol=0, atol=1e-6 * peak)  # single-precision rows
        scale = np.maximum(np.max(np.abs(np.asarray(ref_jac)), axis=0), 1e-300)
        # single-precision rows: 1e-6 of each column's scale; the dv column differences neighbouring
        # float32 samples (the interpolant's slope), so it keeps ~5 digits
        tol = np.array([5e-5 if n == "dv" else 1e-6 for n in names])
        assert np.all(np.max(np.abs(np.asarray(jac - ref_jac)), axis=0) <= tol * scale), (p["sigma"], names)
        assert np.all(np.isfinite(jac)) and np.all(jac[-3:] == 0.0)  # zero off the grid
    floored = points[1]
    ks = float(comp.basis.kernel_sigma(floored[0]["sigma"], floored[1]))
    assert ks == host_mod.SIGMA_FLOOR_KMS
    _, jac = comp.jacobian(wave, *floored, ("sigma", "dv"))
    assert np.all(np.asarray(jac[:, 0]) == 0.0) and np.any(np.asarray(jac[:, 1]) != 0.0)
    with pytest.raises(ValueError, match="not parameters"):
        comp.jacobian(wave, points[0][0], CTX, ("amp",))


def test_old_solar_ssp_has_4000A_break(old_ssp):
    y = old_ssp(WAVE, {"w_0": 1.0, "sigma": 150.0, "dv": 0.0}, CTX)
    assert band_mean(WAVE, y, 4050, 4250) / band_mean(WAVE, y, 3750, 3950) > 1.5
    young = host_dsps("young", ages=[0.01], logzsol=[0.0], weights="independent")
    y = young(WAVE, {"w_0": 1.0, "sigma": 150.0, "dv": 0.0}, CTX)
    assert band_mean(WAVE, y, 4050, 4250) / band_mean(WAVE, y, 3750, 3950) < 1.2


def test_sigma_fills_absorption_lines(old_ssp):
    wave = jnp.linspace(3850.0, 5400.0, 15501)
    depths = {}
    for s in (40.0, 120.0, 350.0):
        y = old_ssp(wave, {"w_0": 1.0, "sigma": s, "dv": 0.0}, CTX)
        depths[s] = [line_depth(y, wave, 3925, 3945), line_depth(y, wave, 5160, 5190)]  # Ca K, Mg b
    assert np.all(np.diff(np.array([depths[s] for s in (40.0, 120.0, 350.0)]), axis=0) > 0.02)


def test_vacuum_wavelengths_and_velocity_shift(old_ssp):
    wave = jnp.linspace(3900.0, 3970.0, 7001)
    for dv in (0.0, 300.0):
        y = np.asarray(old_ssp(wave, {"w_0": 1.0, "sigma": 40.0, "dv": dv}, CTX))
        sel = np.asarray((wave > 3925) & (wave < 3950))
        w_min = float(np.asarray(wave)[sel][np.argmin(y[sel])])
        assert w_min == pytest.approx(3934.78 * (1 + dv / C_KMS), abs=0.4)  # Ca K in vacuum
    assert float(air_to_vacuum(3933.66)) == pytest.approx(3934.78, abs=0.02)
    assert float(air_to_vacuum(1500.0)) == 1500.0


def test_instrumental_resolution_enters_kernel(old_ssp):
    wave = jnp.linspace(5100.0, 5250.0, 1501)
    p = {"w_0": 1.0, "sigma": 60.0, "dv": 0.0}
    sharp = line_depth(old_ssp(wave, p, EvalContext.constant(30.0)), wave, 5160, 5190)
    blurred = line_depth(old_ssp(wave, p, EvalContext.constant(250.0)), wave, 5160, 5190)
    assert blurred > sharp + 0.05
    ks = old_ssp.basis.kernel_sigma(jnp.asarray(100.0), EvalContext.constant(80.0))
    assert float(ks) == pytest.approx(np.sqrt(100.0**2 + 80.0**2 - old_ssp.basis.sigma_template_kms**2))
    assert float(old_ssp.basis.kernel_sigma(jnp.asarray(0.0), EvalContext.constant(0.0))) == host_mod.SIGMA_FLOOR_KMS


def test_restrict(host):
    kept = host.restrict(3800.0, 9200.0)  # the same host, with a window of its grid for such spectra
    assert kept.basis.window > 0 and list(kept.priors()) == list(host.priors())
    assert host.restrict(12500.0, 20000.0) is None
    wide = host_dsps("wide", ages=[1.0], logzsol=[0.0], wave_range=(1000.0, 24000.0), weights="independent")
    assert wide.restrict(12500.0, 20000.0) is not None
    assert float(wide(jnp.array([20000.0]), {"w_0": 1.0, "sigma": 100.0, "dv": 0.0}, CTX)[0]) > 0


def test_stellar_mass_and_age(old_ssp, host):
    # one model unit = the mean L_lambda of 1 Msun formed => the weight is the mass
    assert float(old_ssp.stellar_mass({"w_0": 2.0}, old_ssp.lum_norm[0])) == pytest.approx(2.0)
    p = {n: 0.0 for n in host.weights_names()}
    p["w_4"] = 1.0  # 10 Gyr
    assert float(host.light_weighted_log_age(p)) == pytest.approx(1.0)


# ---------------------------------------------------------------- files and grids


def test_user_file_and_bilinear_grid(toy_file):
    h = host_dsps("toy", ssp_file=str(toy_file), ages=[0.1, np.sqrt(0.1)], logzsol=[0.0, 0.25], wave_range=(2000, 9000),
                  weights="independent")
    # flat L_nu => L_lambda ratios equal L_nu ratios; L_nu is linear in (log age, log Z)
    lnu = np.array([10.0 - 1.0 + 2.0 * 1.0, 10.0 - 0.5 + 2.0, 10.0 - 1.0 + 2.5, 10.0 - 0.5 + 2.5])
    np.testing.assert_allclose(np.array(h.lum_norm) / h.lum_norm[0], lnu / lnu[0], rtol=1e-9)
    y = h(jnp.linspace(3000.0, 8000.0, 50), {n: 0.25 for n in h.weights_names()} | {"sigma": 50.0, "dv": 0.0}, CTX)
    np.testing.assert_allclose(y * (jnp.linspace(3000.0, 8000.0, 50) / 5100.0) ** 2, 1.0, rtol=2e-3)


def test_third_party_template_set(toy_file, monkeypatch):
    from agnfit.registry.manager import Registry, make_plugin_manager

    class ToyPlugin:
        @staticmethod
        @hookimpl
        def register_host_templates():
            return {"toy_set": lambda: read_dsps_ssp(toy_file)}

    reg = Registry(make_plugin_manager(load_entry_points=False, extra_plugins=[ToyPlugin()]))
    monkeypatch.setattr("agnfit.registry.get_registry", lambda: reg)
    h = host_dsps("toy", templates="toy_set", ages=[1.0], logzsol=[0.0], weights="independent")
    assert h.n_templates == 1
    with pytest.raises(ConfigError, match="not an SSPGrid"):
        host_dsps("toy", templates="yip2004_galaxy")


@pytest.mark.parametrize("defect", ["missing_key", "bad_shape", "not_hdf5", "unsorted"])
def test_bad_dsps_file_is_input_error(tmp_path, defect):
    lgmet, lg_age, wave = np.array([-2.0, -1.7]), np.array([-1.0, 0.0, 1.0]), np.linspace(1000, 9000, 100)
    flux = np.ones((2, 3, 100))
    path = tmp_path / "bad.h5"
    if defect == "missing_key":
        write_dsps(path, lgmet, lg_age, wave, flux, drop="ssp_lg_age_gyr")
    elif defect == "bad_shape":
        write_dsps(path, lgmet, lg_age, wave, np.ones((3, 2, 100)))
    elif defect == "unsorted":
        write_dsps(path, lgmet, lg_age, wave[::-1], flux)
    else:
        path.write_text("not an hdf5 file")
    with pytest.raises(InputError, match="bad.h5"):
        host_dsps("host", ssp_file=str(path), ages=[1.0], logzsol=[0.0])


@pytest.mark.parametrize(
    "options, match",
    [
        ({"ages": [20.0]}, "ages"),
        ({"ages": [0.0001]}, "ages"),
        ({"ages": [-1.0]}, "positive"),
        ({"logzsol": [1.5]}, "logzsol"),
        ({"norm_wave": 13000.0}, "norm_wave"),
        ({"sigma_range": (500.0, 30.0)}, "sigma_range"),
        ({"ssp_file": "x.h5", "templates": "bc03_miles_chabrier"}, "not both"),
        ({"zsun": 0.019}, "ssp_file"),
        ({"templates": "nope"}, "Available"),
    ],
)
def test_bad_options(data_dir, options, match):
    with pytest.raises((ConfigError, LookupError), match=match):
        host_dsps("host", **options)


# ---------------------------------------------------------------- PCA host


def test_pca_evaluates(pca):
    assert set(pca.priors()) == {"c_0", "c_1", "c_2", "c_3", "c_4", "sigma", "dv"}
    assert pca.priors()["c_0"].support.check(-0.1) == False  # noqa: E712  (c_0 >= 0)
    assert pca.morphology == "extended"
    wave = jnp.linspace(3000.0, 9000.0, 2000)
    f = jax.jit(lambda p: pca(wave, p, CTX))
    grad = jax.jit(jax.grad(lambda q: jnp.sum(pca(wave, q, CTX) ** 2)))
    for seed in range(2):
        p = draw(pca.priors(), jax.random.PRNGKey(seed))
        assert np.all(np.isfinite(f(p)))
        grads = grad(p)
        assert all(np.isfinite(float(g)) for g in grads.values())
    batch = jax.vmap(lambda k: draw(pca.priors(), k))(jax.random.split(jax.random.PRNGKey(3), 3))
    assert jax.vmap(lambda p: pca(wave, p, CTX))(batch).shape == (3, wave.size)
    assert pca.restrict(3800.0, 9200.0) is pca and pca.restrict(9000.0, 12000.0) is None
    assert float(pca(jnp.array([2000.0]), draw(pca.priors(), jax.random.PRNGKey(0)), CTX)[0]) == 0.0


def test_pca_first_eigenspectrum_is_a_galaxy(pca):
    p = {n: 0.0 for n in pca.coeff_names()} | {"c_0": 1.0, "sigma": 50.0, "dv": 0.0}
    y = pca(WAVE, p, CTX)
    assert band_mean(WAVE, y, 5050, 5150) == pytest.approx(1.0, rel=0.01)
    assert band_mean(WAVE, y, 4050, 4250) / band_mean(WAVE, y, 3750, 3950) > 1.3  # 4000 A break
    assert band_mean(WAVE, y, 6000, 6100) > band_mean(WAVE, y, 4000, 4100)  # red
    inside = np.asarray((WAVE > 3600) & (WAVE < 8200))
    assert np.all(np.asarray(y)[inside] > 0)
    assert line_depth(y, WAVE, 5160, 5190) < 0.95  # Mg b absorption


def test_pca_options(data_dir, tmp_path):
    assert host_pca("p3", n_components=3).coeff_names() == ["c_0", "c_1", "c_2"]
    with pytest.raises(ConfigError, match="n_components"):
        host_pca("p", n_components=11)
    with pytest.raises(ConfigError, match="not an EigenBasis"):
        host_pca("p", templates="bc03_miles_chabrier")
    bad = tmp_path / "bad.fits"
    bad.write_text("nothing")
    with pytest.raises(InputError, match="bad.fits"):
        host_pca("p", pca_file=str(bad))

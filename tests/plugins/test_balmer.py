"""Balmer continuum + high-order Balmer lines: continuity at the edge, case-B ratios, widths, shifts, options."""

import csv

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from agnfit.core.component import EvalContext
from agnfit.errors import ConfigError
from agnfit.plugins.balmer import BALMER_EDGE, DEFAULT_LINE_TABLE, balmer_continuum
from agnfit.plugins.broaden import C_KMS
from agnfit.registry import get_registry

TABLES = (
    "balmer/balmer_caseB_T15000_logNe09_n007_n050_sh95.csv",
    "balmer/balmer_caseB_T15000_logNe10_n007_n050_sh95.csv",
    "balmer/balmer_caseB_T15000_logNe09_n007_n400_sh95_k13full_ext.csv",
)
SH95 = TABLES[:2]
CTX = EvalContext.constant(0.0)
PARAM_SETS = [
    # norm, fwhm, dv, te, tau
    (1.0, 1000.0, 0.0, 15000.0, 1.0),
    (0.3, 3000.0, 500.0, 10000.0, 0.3),
    (2.0, 8000.0, -1500.0, 20000.0, 2.0),
    (0.7, 15000.0, 0.0, 5000.0, 0.1),
]


def _draws(priors, n, seed=0):
    key = jax.random.PRNGKey(seed)
    return {k: d.sample(jax.random.fold_in(key, i), (n,)) for i, (k, d) in enumerate(priors.items())}


def _params(norm=1.0, fwhm=3000.0, dv=0.0, te=15000.0, tau=1.0):
    return {k: jnp.asarray(v) for k, v in dict(norm=norm, fwhm=fwhm, dv=dv, te=te, tau=tau).items()}


def _grandi(wave, te, tau):
    """b(lambda) of Grandi (1982) / Dietrich et al. (2002), 1 at the edge, written independently."""
    hck = 6.62607015e-27 * 2.99792458e10 / 1.380649e-16 * 1e8  # h c / k in A K

    def planck(w):
        return w**-5.0 / np.expm1(hck / (w * te))

    return planck(wave) * -np.expm1(-tau * (wave / BALMER_EDGE) ** 3) / (planck(BALMER_EDGE) * -np.expm1(-tau))


def _table(path, data_dir):
    with open(data_dir / path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    return {int(r["n_upper"]): (float(r["lambda_vacuum_angstrom"]), float(r["rel_flux_hbeta"])) for r in rows}


@pytest.fixture(scope="module")
def free(data_dir):
    """One component per table, with te and tau free."""
    return {t: balmer_continuum("bc", line_table=t, te=(5000.0, 20000.0), tau=(0.1, 2.0)) for t in TABLES}


def test_registered_with_physical_defaults(data_dir):
    comp = get_registry().get("component", "balmer_continuum")("bc")
    assert comp.line_table == DEFAULT_LINE_TABLE
    assert (comp.morphology, comp.operation, comp.group) == ("point", "add", "continuum")
    pri = comp.priors()
    assert set(pri) == {"norm", "fwhm", "dv", "tau"}  # te fixed at the tables' 15000 K
    assert comp.te == 15000.0
    assert set(comp.init_values()) == set(pri)
    assert comp.line_lnwave.shape == (44,)  # n = 7 ... 50


@pytest.mark.parametrize("table", TABLES)
def test_jit_vmap_gradients_nonnegative_finite_everywhere(free, table):
    comp = free[table]
    far = np.array([0.0, 1e-3, 5.0, 100.0, 6000.0, 9000.0, 2e4, 1e6])
    wave = jnp.asarray(np.concatenate([np.geomspace(1000.0, 11000.0, 3000), far]))
    ctx = EvalContext.constant(60.0)
    draws = _draws(comp.priors(), 6, seed=4)
    f = np.asarray(jax.jit(jax.vmap(lambda p: comp(wave, p, ctx)))(draws))
    assert f.shape == (6, wave.size) and f.dtype == np.float64
    assert np.all(np.isfinite(f)) and np.all(f >= 0.0)
    assert np.all(f[:, -4:] < 1e-30)  # nothing left far redward of the lines
    grads = jax.jit(jax.vmap(jax.grad(lambda p: jnp.sum(comp(wave, p, ctx) ** 2))))(draws)
    assert set(grads) == {"norm", "fwhm", "dv", "te", "tau"}
    for k, g in grads.items():
        assert np.all(np.isfinite(np.asarray(g))), k


@pytest.mark.parametrize("table", TABLES)
@pytest.mark.parametrize("pset", PARAM_SETS)
def test_continuous_at_the_edge_where_it_equals_norm(free, table, pset):
    comp = free[table]
    norm, _, dv = pset[:3]
    edge = BALMER_EDGE * np.exp(dv / C_KMS)
    wave = jnp.asarray(edge * np.array([1 - 1e-6, 1.0, 1 + 1e-6]))
    f = np.asarray(comp(wave, _params(*pset), EvalContext.constant(65.0)))
    left, mid, right = f / norm
    assert mid == pytest.approx(1.0, rel=1e-6)
    assert left == pytest.approx(right, rel=0.01)
    assert left == pytest.approx(1.0, rel=0.01)


@pytest.mark.parametrize("table", SH95)
@pytest.mark.parametrize("fwhm", [4000.0, 8000.0, 15000.0])
def test_smooth_join_without_bump_or_dip(free, table, fwhm):
    comp = free[table]
    wave = np.linspace(3560.0, 3740.0, 721)
    f = np.asarray(comp(jnp.asarray(wave), _params(1.0, fwhm), CTX))
    assert 0.9 < f.min() and f.max() < 1.1
    assert np.max(np.abs(np.diff(f))) < 0.01  # per 0.25 A


@pytest.mark.parametrize("pset", PARAM_SETS)
def test_continuum_below_the_edge_is_grandi_1982(free, pset):
    norm, fwhm, dv, te, tau = pset
    comp = free[TABLES[0]]
    wave = np.array([1500.0, 2000.0, 2500.0, 3000.0])
    f = np.asarray(comp(jnp.asarray(wave), _params(*pset), CTX))
    expected = norm * _grandi(wave * np.exp(-dv / C_KMS), te, tau)
    assert f == pytest.approx(expected, rel=1e-3)


@pytest.mark.parametrize("table", TABLES)
def test_lines_follow_case_b_ratios(free, table, data_dir):
    lines = _table(table, data_dir)
    comp = free[table]
    (w7, r7), (w8, r8), (w9, r9) = lines[7], lines[8], lines[9]
    f7, f8, f9 = np.asarray(comp(jnp.asarray([w7, w8, w9]), _params(1.0, 1000.0), CTX))
    # peak flux density of a Gaussian in ln(lambda) carrying flux r: r / (sqrt(2 pi) s lambda)
    assert f7 / f8 == pytest.approx((r7 / w7) / (r8 / w8), rel=1e-3)
    assert f8 / f9 == pytest.approx((r8 / w8) / (r9 / w9), rel=1e-3)


@pytest.mark.parametrize("table", TABLES)
@pytest.mark.parametrize("fwhm", [1000.0, 4000.0, 15000.0])
def test_forest_is_the_lines_plus_the_merged_tail(free, table, fwhm, data_dir):
    """The broadened forest against Gaussians per line plus the n**-3 tail as a smoothed box, written out here."""
    from scipy.special import ndtr

    lines = _table(table, data_dir)
    n_max = max(lines)
    wave, ratio = map(np.array, zip(*(lines[n] for n in sorted(lines))))
    y = np.log(np.linspace(3550.0, 4150.0, 2401))
    s = fwhm / (2.0 * np.sqrt(2.0 * np.log(2.0))) / C_KMS
    gauss = ratio[:, None] * np.exp(-0.5 * ((y - np.log(wave)[:, None]) / s) ** 2) / (np.sqrt(2 * np.pi) * s)
    red = np.log(BALMER_EDGE) - np.log1p(-4.0 / (n_max + 0.5) ** 2)
    tail = n_max**3 * ratio[-1] / 8.0 * (ndtr((y - np.log(BALMER_EDGE)) / s) - ndtr((y - red) / s))
    expected = gauss.sum(axis=0) + tail
    got = np.asarray(free[table]._lines(jnp.asarray(y), s))
    # sticks shared between grid points 30 km/s apart and read back linearly: two errors of ~(30 / sigma)**2 / 8
    # of the peak (1.2e-3 at FWHM 1000 km/s), plus the ladder's interpolation in sigma
    bound = (30.0 / (s * C_KMS)) ** 2 / 4.0 + 1e-4
    assert np.max(np.abs(got - expected)) < bound * np.max(expected)


def test_broader_fwhm_lowers_the_line_peak(free):
    comp = free[TABLES[0]]
    wave = jnp.asarray(np.linspace(3900.0, 4050.0, 601))
    peaks = [float(jnp.max(comp(wave, _params(1.0, f), CTX))) for f in (1000.0, 2000.0, 4000.0)]
    assert np.all(np.diff(peaks) < 0)


def test_instrumental_resolution_broadens_the_lines(free):
    comp = free[TABLES[0]]
    w7 = jnp.asarray([3971.2359])
    sharp = float(comp(w7, _params(1.0, 1000.0), EvalContext.constant(0.0))[0])
    blurred = float(comp(w7, _params(1.0, 1000.0), EvalContext.constant(300.0))[0])
    assert blurred < sharp


@pytest.mark.parametrize("dv", [-900.0, 400.0, 1700.0])
def test_dv_shifts_lines_and_edge(free, dv):
    comp = free[TABLES[0]]
    w7 = 3971.2359
    centroid = []
    for v in (0.0, dv):  # H-epsilon, in a window of +-6 sigma around where it should be
        wave = w7 * np.exp(np.arange(-2550.0, 2551.0, 1.0) / C_KMS + v / C_KMS)
        f = np.asarray(comp(jnp.asarray(wave), _params(1.0, 1000.0, v), CTX))
        centroid.append(np.trapezoid(f * np.log(wave), wave) / np.trapezoid(f, wave))
    assert C_KMS * (centroid[1] - centroid[0]) == pytest.approx(dv, abs=1.0)
    assert C_KMS * (centroid[0] - np.log(w7)) == pytest.approx(0.0, abs=2.0)
    edge = jnp.asarray([BALMER_EDGE * np.exp(dv / C_KMS)])
    assert float(comp(edge, _params(0.5, 3000.0, dv), CTX)[0]) == pytest.approx(0.5, rel=1e-6)


def test_te_and_tau_fixed_or_free(data_dir):
    fixed = balmer_continuum("bc", te=12000.0, tau=0.8)
    assert set(fixed.priors()) == {"norm", "fwhm", "dv"}
    free = balmer_continuum("bc", te=[6000.0, 18000.0], tau=(0.2, 1.5))
    pri = free.priors()
    assert (float(pri["te"].low), float(pri["te"].high)) == (6000.0, 18000.0)
    assert (float(pri["tau"].low), float(pri["tau"].high)) == (0.2, 1.5)
    wave = jnp.asarray([2500.0])
    p = _params()
    hot = float(balmer_continuum("bc", te=20000.0, tau=0.8)(wave, p, CTX)[0])
    cool = float(balmer_continuum("bc", te=8000.0, tau=0.8)(wave, p, CTX)[0])
    assert hot == pytest.approx(_grandi(2500.0, 20000.0, 0.8), rel=1e-3)
    assert cool == pytest.approx(_grandi(2500.0, 8000.0, 0.8), rel=1e-3)
    assert float(fixed(wave, p, CTX)[0]) == pytest.approx(_grandi(2500.0, 12000.0, 0.8), rel=1e-3)


def test_other_options_have_effects(data_dir):
    comp = balmer_continuum("bc", fwhm_range=(2000.0, 9000.0), dv_range=[-300.0, 300.0], norm_scale=0.2)
    pri = comp.priors()
    assert (float(pri["fwhm"].low), float(pri["fwhm"].high)) == (2000.0, 9000.0)
    assert (float(pri["dv"].low), float(pri["dv"].high)) == (-300.0, 300.0)
    assert float(pri["norm"].scale) == 0.2
    long = balmer_continuum("bc", line_table=TABLES[2])
    assert long.line_lnwave.shape == (394,)
    w = jnp.asarray([3660.0])
    assert float(long(w, _params(), CTX)[0]) != pytest.approx(float(comp(w, _params(), CTX)[0]), rel=1e-3)


def test_unknown_line_table_lists_the_registered_ones(data_dir):
    with pytest.raises(ConfigError) as err:
        balmer_continuum("bc", line_table="balmer/no_such_table.csv")
    for t in TABLES:
        assert t in str(err.value)


def test_user_line_table_file(data_dir, tmp_path):
    with open(data_dir / DEFAULT_LINE_TABLE, newline="") as fh:
        rows = list(csv.DictReader(fh))
    path = tmp_path / "short.csv"
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows[:14])  # n = 7 ... 20
    comp = balmer_continuum("bc", line_table=str(path))
    assert comp.line_lnwave.shape == (14,)
    edge = jnp.asarray([BALMER_EDGE])
    assert float(comp(edge, _params(0.4), CTX)[0]) == pytest.approx(0.4, rel=1e-6)
    bad = tmp_path / "bad.csv"
    bad.write_text("n_upper,lambda\n7,3971\n")
    with pytest.raises(ConfigError):
        balmer_continuum("bc", line_table=str(bad))


@pytest.mark.parametrize(
    "options",
    [
        {"te": -5.0},
        {"te": (20000.0, 5000.0)},
        {"tau": "thick"},
        {"fwhm_range": (100.0,)},
        {"dv_range": (1.0, -1.0)},
        {"norm_scale": 0.0},
    ],
)
def test_bad_options_are_config_errors(data_dir, options):
    with pytest.raises(ConfigError):
        balmer_continuum("bc", **options)


def test_restrict(free):
    comp = free[TABLES[0]]
    assert comp.restrict(5000.0, 7000.0) is None
    assert comp.restrict(3000.0, 4000.0) is comp
    assert comp.restrict(1200.0, 2500.0) is comp  # the continuum extends blueward
    assert comp.restrict(4100.0, 6000.0) is comp  # broad wings of H-epsilon


def test_normal_cdf_matches_scipy_with_its_derivative():
    import jax
    import scipy.special as sp

    from agnfit.plugins.profiles import ndtr

    x = np.linspace(-12.0, 12.0, 20001)
    np.testing.assert_allclose(np.asarray(ndtr(jnp.asarray(x))), sp.ndtr(x), rtol=0, atol=1e-15)
    tail = x < -3.0  # relative accuracy where the CDF is small
    np.testing.assert_allclose(np.asarray(ndtr(jnp.asarray(x[tail]))), sp.ndtr(x[tail]), rtol=1e-13)
    g = np.asarray(jax.vmap(jax.grad(ndtr))(jnp.asarray(x)))
    np.testing.assert_allclose(g, np.exp(-0.5 * x**2) / np.sqrt(2 * np.pi), rtol=0, atol=1e-9)

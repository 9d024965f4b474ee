"""Result figures from a hand-built FitResult: files written, readable, and skipped when empty."""

import logging

import numpy as np
import pytest
from matplotlib.image import imread

from agnfit.core.derived import summarize
from agnfit.core.result import FitResult
from agnfit.plots import PlotOptions, corner_samples, plot_psf, plot_result
from agnfit.plotting import component_roles

Z = 0.25
C_KMS = 299792.458
BANDS = ["sdss2010-u", "sdss2010-g", "sdss2010-r", "sdss2010-i", "sdss2010-z"]


def _gauss(w, w0, fwhm_kms, amp):
    sig = w0 * fwhm_kms / C_KMS / 2.3548
    return amp * np.exp(-0.5 * ((w - w0) / sig) ** 2)


def _components(w):
    """Additive components (1e-17 erg/s/cm^2/A) and a multiplicative calibration on rest grid ``w``."""
    host = 3.0 * (0.35 + 0.65 / (1 + np.exp(-(w - 4000.0) / 60.0))) * (1 - _gauss(w, 5175.0, 900.0, 0.15))
    feii = sum(_gauss(w, w0, 2000.0, 0.5) for w0 in (4520.0, 4560.0, 4630.0, 5190.0, 5270.0, 5320.0))
    broad = _gauss(w, 4862.68, 4200.0, 6.0) + _gauss(w, 6564.61, 3800.0, 18.0) + _gauss(w, 4341.68, 4000.0, 2.0)
    narrow = sum(_gauss(w, w0, 400.0, a) for w0, a in ((5008.24, 9.0), (4960.30, 3.0), (4862.68, 1.0),
                                                        (6564.61, 3.0), (6585.27, 1.5), (6718.29, 0.8)))
    return {
        "power_law": 8.0 * (w / 5100.0) ** -1.6,
        "feii_optical": feii,
        "host": host,
        "broad_lines": broad,
        "narrow_lines": narrow,
        "poly": 1.0 + 0.03 * (w - w.mean()) / np.ptp(w),
    }


def _photometry(rng, w, comps, with_psf_space):
    from agnfit.plugins.filters import band_grid

    wave_eff, mags = [], []
    for b in BANDS:
        g, r = band_grid(b)
        wave_eff.append(np.trapezoid(r * g, g) / np.trapezoid(r, g))
    psf_wave = np.linspace(3000.0, 11000.0, 800)
    rest = psf_wave / (1 + Z)
    pc = {k: np.interp(rest, w, v) for k, v in comps.items() if k != "poly"}
    pc["host"] *= 0.3
    psf = sum(pc.values())
    wave_eff = np.array(wave_eff)
    fnu = np.interp(wave_eff, psf_wave, psf) * 1e-17 * wave_eff**2 / 2.99792458e18
    mags = -2.5 * np.log10(fnu) - 48.6
    out = {
        "bands": list(BANDS), "kept": np.array([False, True, True, True, True]),
        "mag_obs": mags + rng.normal(0, 0.03, 5), "mag_err": np.full(5, 0.03), "mag_model": mags, "wave_eff": wave_eff,
    }
    if with_psf_space:
        out["psf_wave"] = psf_wave
        out["psf_model"] = psf
        out.update({f"psf_component:{k}": v for k, v in pc.items()})
    return out


def make_result(n_chain=2, n_draw=250, photometry=True, psf_space=True, seed=1) -> FitResult:
    """A FitResult shaped like ``agnfit.fit.fit`` output for a z=0.25 quasar with host and lines."""
    rng = np.random.default_rng(seed)
    w = np.geomspace(3150.0, 7900.0, 2600)
    comps = _components(w)
    model = sum(v for k, v in comps.items() if k != "poly") * comps["poly"]
    err = 0.25 + 0.03 * model
    mask = np.ones(w.size, bool)
    mask[(w > 4455) & (w < 4470)] = False
    shape = (n_chain, n_draw)
    host_norm = rng.normal(3.0, 0.2, shape)
    samples = {
        "power_law.norm": rng.normal(8.0, 0.3, shape), "power_law.alpha": rng.normal(-1.6, 0.05, shape),
        "host.norm": host_norm, "psf.eta": rng.uniform(0.2, 0.4, shape), "psf.delta_m": rng.normal(0.05, 0.02, shape),
        "likelihood.frac_jitter": rng.uniform(0, 0.01, shape),
    }
    n_all = n_chain * n_draw
    n_der = min(n_all, 300)
    idx = np.linspace(0, n_all - 1, n_der).astype(int)
    hn = host_norm.reshape(-1)[idx]
    fwhm = rng.normal(4200.0, 150.0, n_der)
    l5100 = 10 ** rng.normal(44.3, 0.02, n_der)
    derived_samples = {
        "host_fraction.5100": hn / (hn + 8.0), "host_fraction_psf.5100": 0.3 * hn / (0.3 * hn + 8.0),
        "psf.scale": 10 ** (-0.4 * samples["psf.delta_m"].reshape(-1)[idx]), "L5100": l5100,
        "broad_lines.Hb.fwhm": fwhm, "log_mbh.VP06_Hbeta": 6.91 + 0.5 * np.log10(l5100 / 1e44) + 2 * np.log10(fwhm / 1e3),
    }
    if n_all == 1:
        derived_samples = {k: v[:1] for k, v in derived_samples.items()}
    config = {"components": {"power_law": {"type": "power_law"}, "feii_optical": {"type": "feii"},
                             "host": {"type": "host_dsps"}, "broad_lines": {"type": "broad_lines"},
                             "narrow_lines": {"type": "narrow_lines"}, "poly": {"type": "legendre_poly", "degree": 3}}}
    spectrum = {"wave_rest": w, "wave": w * (1 + Z), "flux": model + rng.normal(0, 1, w.size) * err, "err": err,
                "mask": mask, "model": model}
    spectrum.update({f"component:{k}": v for k, v in comps.items()})
    flat = {k: v.reshape(-1) for k, v in samples.items()}
    return FitResult(
        name="spec-0000-50000-0001", config=config,
        info={"z": Z, "flux_unit": 1e-17, "chi2_reduced": 1.03, "converged": True, "backend": "nuts"},
        params=summarize(flat), point={k: float(np.median(v)) for k, v in flat.items()}, samples=samples,
        derived=summarize(derived_samples), derived_samples=derived_samples, diagnostics={},
        spectrum=spectrum, photometry=_photometry(rng, w, comps, psf_space) if photometry else {},
    )


@pytest.fixture(scope="module")
def result():
    return make_result()


def test_plot_result_writes_png_and_pdf(result, tmp_path):
    paths = plot_result(result, tmp_path / "figs" / result.name)
    names = sorted(p.name for p in paths)
    assert names == sorted(f"{result.name}_{k}.{f}" for k in ("spectrum", "psf", "corner") for f in ("png", "pdf"))
    for p in paths:
        assert p.stat().st_size > 10_000
        if p.suffix == ".png":
            img = imread(p)
            assert img.ndim == 3 and img.shape[0] > 300 and img.shape[1] > 300
            assert img[..., :3].std() > 0.05  # not blank
        else:
            assert p.read_bytes()[:5] == b"%PDF-"


def test_map_only_result_skips_corner_and_says_so(tmp_path, caplog):
    res = make_result(n_chain=1, n_draw=1, photometry=False)
    with caplog.at_level(logging.WARNING):
        paths = plot_result(res, tmp_path / "map", options=PlotOptions(formats=("png",)))
    assert [p.name for p in paths] == ["map_spectrum.png"]  # no photometry, no spread: only the spectrum
    assert "MAP-only" in caplog.text


def test_options_without_residuals_zooms_or_psf_space(result, tmp_path):
    opts = PlotOptions(plot_residual=False, plot_psf_space=False, zoom_windows=(), formats=("png",),
                       corner_params=("power_law.alpha", "*.eta"))
    paths = plot_result(result, tmp_path / "bare", options=opts)
    assert len(paths) == 3 and all(imread(p).size for p in paths)


def test_unknown_kind_is_an_error(result, tmp_path):
    with pytest.raises(ValueError, match="spectrum"):
        plot_result(result, tmp_path / "x", kinds=("sed",))


def test_corner_defaults_and_alignment(result):
    s = corner_samples(result)
    assert list(s)[:4] == ["host_fraction.5100", "host_fraction_psf.5100", "psf.eta", "psf.delta_m"]
    assert "broad_lines.Hb.fwhm" in s and "power_law.alpha" in s and len(s) == 6
    assert len({v.size for v in s.values()}) == 1
    # the thinned derived samples line up with the thinned parameter samples they came from
    both = corner_samples(result, names=("host.norm", "host_fraction.5100"))
    hn, fh = both["host.norm"], both["host_fraction.5100"]
    np.testing.assert_allclose(fh, hn / (hn + 8.0))


def test_component_roles(result):
    roles = {r.name: r for r in component_roles(result)}
    assert roles["poly"].multiplicative and not roles["host"].multiplicative
    assert roles["power_law"].role == "agn" and roles["feii_optical"].role == "feii"
    assert roles["broad_lines"].color != roles["narrow_lines"].color


def test_psf_ignores_placeholder_magnitudes_of_dropped_bands():
    res = make_result(n_chain=1, n_draw=1, psf_space=False)
    res.photometry["mag_obs"][0], res.photometry["mag_err"][0] = 0.0, 1.0  # what a dropped band may carry
    faint, bright = plot_psf(res).axes[0].get_ylim()
    assert 15 < bright < faint < 25

"""The new-survey guide's example (examples/new_survey_desi.py): reader round trip and a recovered fit."""

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

import agnfit
from agnfit.errors import InputError

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "new_survey_desi.py"


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("new_survey_desi", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


def _flat_observation(example, setup):
    wave = setup.wave
    spec = agnfit.Spectrum(wave, np.full(wave.size, 5.0), np.full(wave.size, 0.5), setup.z, flux_unit=1e-17)
    spec.mask[100:110] = False
    phot = agnfit.Photometry(example.LS_BANDS["S"], np.array([18.6, 18.3, 18.0]), np.full(3, 0.02))
    return spec, phot


def test_reader_round_trip_with_a_resolution_matrix(example, tmp_path):
    setup = example.Setup()
    spec, phot = _flat_observation(example, setup)
    path = tmp_path / "obj.fits"
    example.write_desilike(path, spec, phot, setup)
    back = example.read_desilike(path)
    np.testing.assert_array_equal(back.wave, spec.wave)
    np.testing.assert_allclose(back.flux[back.mask], spec.flux[spec.mask])
    assert back.n_good == spec.n_good and not back.mask[100:110].any()
    assert back.z == setup.z and back.ebv == setup.ebv and back.flux_unit == 1e-17
    # the Gaussian rows of the matrix give back the resolving power away from the two ends
    inner = back.lsf_sigma_kms[10:-10]
    np.testing.assert_allclose(inner, setup.sigma_kms, rtol=0.03)
    assert np.median(back.lsf_sigma_kms) == pytest.approx(setup.sigma_kms, rel=0.005)
    assert back.photometry.bands == example.LS_BANDS["S"]
    np.testing.assert_allclose(back.photometry.mags, phot.mags, atol=1e-9)
    np.testing.assert_allclose(back.photometry.errs, phot.errs, rtol=1e-9)


def test_reader_names_the_file_it_cannot_read(example, tmp_path):
    bad = tmp_path / "not-a-survey-file.fits"
    from astropy.io import fits

    fits.PrimaryHDU().writeto(bad)
    with pytest.raises(InputError, match="not-a-survey-file.fits"):
        example.read_desilike(bad)


def test_small_example_recovers_the_simulated_object(example, tmp_path):
    report = example.main(tmp_path, small=True)
    assert (tmp_path / "desilike-1.fits").is_file() and (tmp_path / "desilike-1.h5").is_file()
    assert json.loads((tmp_path / "summary.json").read_text()) == json.loads(json.dumps(report))
    assert report["kept_bands"] == list(example.LS_BANDS["S"])
    assert report["converged"]
    assert 0.9 < report["chi2_reduced"] < 1.1
    assert report["lsf_sigma_kms"]["read"] == pytest.approx(report["lsf_sigma_kms"]["true"], rel=1e-6)
    fh = report["host_fraction_5100"]
    assert fh["fit"] == pytest.approx(fh["true"], abs=0.05)
    hb = report["broad_hb_fwhm"]
    assert hb["fit"] == pytest.approx(hb["true"], rel=0.1)
    np.testing.assert_allclose(report["eta"]["fit"], report["eta"]["true"], atol=0.1)
    # the per-band etas keep their order: less host light in the redder, sharper bands
    assert report["eta"]["fit"][0] > report["eta"]["fit"][1] > report["eta"]["fit"][2]
    assert report["delta_m"]["fit"] == pytest.approx(report["delta_m"]["true"], abs=0.05)
    assert np.all(np.abs(report["mag_residual"]) < 0.05)

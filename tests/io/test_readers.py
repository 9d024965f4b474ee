"""Spectrum readers: SDSS files (real example), DESI coadds and SDSS spSpec/spPlate
(synthetic files with known content), generic tables, Quantity/specutils inputs, errors."""

import numpy as np
import pytest
from astropy import units as u
from astropy.io import fits
from astropy.table import Table

from agnfit.core.data import C_KMS, Spectrum
from agnfit.errors import InputError
from agnfit.io import DEFAULT_AND_MASK_BITS, read_spectrum
from agnfit.io.desi import resolution_sigma_pix
from agnfit.io.sdss import SPPIXMASK, and_mask_value

CALIBFLUX = np.array([31.45, 84.98, 159.66, 242.62, 298.32])
FLAM = u.erg / u.s / u.cm**2 / u.AA


def nmgy(mags):
    return 10 ** (-0.4 * (np.asarray(mags) - 22.5))


# --------------------------------------------------------------------------- SDSS spec


@pytest.fixture(scope="module")
def sdss_spec(sdss_example):
    return read_spectrum(sdss_example)


def test_sdss_spec_values(sdss_spec, sdss_example):
    s = sdss_spec
    assert s.name == "0332-52367-0639"
    assert s.z == pytest.approx(0.1006, abs=2e-4)
    assert s.ra == pytest.approx(184.0307, abs=1e-4) and s.dec == pytest.approx(-2.2383, abs=1e-4)
    assert s.flux_unit == 1e-17
    assert s.meta["plate"] == 332 and s.meta["mjd"] == 52367 and s.meta["fiber"] == 639
    assert s.meta["file"] == str(sdss_example)
    with fits.open(sdss_example) as f:
        c = f[1].data
        loglam, flux, ivar = (np.asarray(c[k], float) for k in ("loglam", "flux", "ivar"))
    np.testing.assert_allclose(np.log10(s.wave), loglam, atol=2e-6)
    np.testing.assert_allclose(np.diff(np.log10(s.wave)), 1e-4, rtol=1e-9)
    good = s.mask
    assert (~good).sum() < 0.05 * good.size and not good[ivar <= 0].any()
    np.testing.assert_allclose(s.err[good], 1 / np.sqrt(ivar[good]), rtol=1e-6)
    np.testing.assert_allclose(s.flux[good], flux[good], rtol=1e-6)


def test_sdss_photometry_and_lsf(sdss_spec):
    p = sdss_spec.photometry
    assert p.bands == ("sdss2010-u", "sdss2010-g", "sdss2010-r", "sdss2010-i", "sdss2010-z")
    np.testing.assert_allclose(nmgy(p.mags), CALIBFLUX, rtol=2e-4)
    assert p.valid.all() and np.all(p.errs > 0)
    lsf = sdss_spec.lsf_sigma_kms
    assert lsf.shape == sdss_spec.wave.shape and np.all(lsf > 0)
    assert 55 < np.median(lsf) < 70  # wdisp ~0.86 px of 69.03 km/s
    assert 40 < lsf.min() and lsf.max() < 90


def test_sdss_and_mask_bits_and_z_override(sdss_example, sdss_spec):
    everything = read_spectrum(sdss_example, and_mask_bits="all")
    ivar_only = read_spectrum(sdss_example, and_mask_bits=None, z=0.2, name="x")
    assert everything.n_good < 0.7 * sdss_spec.n_good  # fibre-level bits are set on most pixels
    assert ivar_only.n_good >= sdss_spec.n_good
    assert ivar_only.z == 0.2 and ivar_only.name == "x"
    assert and_mask_value(DEFAULT_AND_MASK_BITS) == sum(1 << SPPIXMASK[b] for b in DEFAULT_AND_MASK_BITS)
    assert and_mask_value(["BRIGHTSKY", 4]) == (1 << 23) | (1 << 4)
    with pytest.raises(InputError, match="SPPIXMASK"):
        read_spectrum(sdss_example, and_mask_bits=["NOT_A_BIT"])


def test_registered_name_and_passthrough(sdss_spec):
    s = read_spectrum("sdss/spec-0332-52367-0639.fits")
    assert s.name == sdss_spec.name
    assert read_spectrum(s) is s
    assert read_spectrum(s, z=0.3).z == 0.3


def _log_header(n, c0=3.58, c1=1e-4, **cards):
    h = fits.Header()
    h["COEFF0"], h["COEFF1"] = c0, c1
    for k, v in cards.items():
        h[k] = v
    return h


def test_sdss_dr7_spspec(tmp_path):
    n = 400
    image = np.zeros((4, n), np.float32)
    image[0] = 5.0
    image[2] = 0.5
    image[2, 10] = 0.0  # no noise estimate -> masked
    image[3, 20] = 1 << SPPIXMASK["BRIGHTSKY"]
    image[3, 30] = 1 << SPPIXMASK["MANYBADCOLUMNS"]  # fibre-level bit: kept
    h = _log_header(n, Z=0.25, RAOBJ=10.5, DECOBJ=-3.25, PLATEID=266, MJD=51602, FIBERID=13)
    path = tmp_path / "spSpec-51602-0266-013.fit"
    fits.PrimaryHDU(image, h).writeto(path)
    s = read_spectrum(path)
    assert s.z == 0.25 and s.ra == 10.5 and s.name == "0266-51602-0013"
    np.testing.assert_allclose(s.wave, 10 ** (3.58 + 1e-4 * np.arange(n)))
    assert not s.mask[10] and not s.mask[20] and s.mask[30] and s.n_good == n - 2
    assert s.lsf_sigma_kms is None and s.photometry is None


def test_sdss_spplate(tmp_path):
    nfib, n = 6, 300
    flux = np.tile(np.arange(1, nfib + 1, dtype=np.float32)[:, None], (1, n))
    ivar = np.full((nfib, n), 4.0, np.float32)
    hdus = [fits.PrimaryHDU(flux, _log_header(n, PLATEID=266, MJD=51630)), fits.ImageHDU(ivar),
            fits.ImageHDU(np.zeros((nfib, n), np.int32)), fits.ImageHDU(np.zeros((nfib, n), np.int32)),
            fits.ImageHDU(np.full((nfib, n), 1.0, np.float32)),
            fits.BinTableHDU(Table({"RA": np.arange(nfib) + 100.0, "DEC": np.zeros(nfib)}))]
    path = tmp_path / "spPlate-0266-51630.fits"
    fits.HDUList(hdus).writeto(path)
    s = read_spectrum(path, fiber=3, z=0.1)
    assert s.name == "0266-51630-0003" and s.ra == 102.0
    np.testing.assert_allclose(s.flux, 3.0)
    np.testing.assert_allclose(s.err, 0.5)
    np.testing.assert_allclose(s.lsf_sigma_kms, 1e-4 * np.log(10) * C_KMS)
    with pytest.raises(InputError, match="fiber="):
        read_spectrum(path, z=0.1)
    with pytest.raises(InputError, match="z="):
        read_spectrum(path, fiber=3)


# --------------------------------------------------------------------------- DESI

ARMS = {"B": (3600.0, 5930.0, 1.0), "R": (5660.0, 7720.0, 1.3), "Z": (7520.0, 9824.0, 1.6)}  # A, A, sigma px
NDIAG = 11


def gaussian_kernel(sigma_pix, ndiag=NDIAG):
    offsets = ndiag // 2 - np.arange(ndiag)
    kernel = np.exp(-0.5 * (offsets / sigma_pix) ** 2)
    return offsets, kernel / kernel.sum()


def kernel_sigma(sigma_pix):
    """The rms width (pixels) of the Gaussian truncated to NDIAG diagonals (1.6 px -> 1.595 px)."""
    offsets, kernel = gaussian_kernel(sigma_pix)
    return np.sqrt((kernel * offsets**2).sum())


def gaussian_resolution(sigma_pix, nwave):
    """Diagonals (NDIAG, nwave) of a resolution matrix whose rows are Gaussians of sigma_pix."""
    return np.tile(gaussian_kernel(sigma_pix)[1][:, None], (1, nwave)).astype(np.float32)


def write_desi(path, targets, redshifts=True):
    """A DESI-like coadd: per-arm HDUs, FIBERMAP and (optionally) REDSHIFTS."""
    ntarg = len(targets)
    hdus = [fits.PrimaryHDU(header=fits.Header({"SURVEY": "main", "PROGRAM": "dark"}))]
    for arm, (lo, hi, sig) in ARMS.items():
        wave = np.arange(lo, hi + 0.4, 0.8)
        n = wave.size
        flux = np.full((ntarg, n), {"B": 1.0, "R": 2.0, "Z": 3.0}[arm], np.float32)
        ivar = np.full((ntarg, n), {"B": 1.0, "R": 3.0, "Z": 2.0}[arm], np.float32)
        mask = np.zeros((ntarg, n), np.int32)
        if arm == "B":
            mask[:, 100] = 1
        res = np.stack([gaussian_resolution(sig, n)] * ntarg)
        hdus += [fits.ImageHDU(wave, name=f"{arm}_WAVELENGTH"), fits.ImageHDU(flux, name=f"{arm}_FLUX"),
                 fits.ImageHDU(ivar, name=f"{arm}_IVAR"), fits.ImageHDU(mask, name=f"{arm}_MASK"),
                 fits.ImageHDU(res, name=f"{arm}_RESOLUTION")]
    fm = Table({
        "TARGETID": np.array([t["tid"] for t in targets], np.int64),
        "TARGET_RA": [t["ra"] for t in targets], "TARGET_DEC": [t["dec"] for t in targets],
        "PHOTSYS": [t["photsys"] for t in targets],
        **{f"FLUX_{b}": np.array([t["flux"][i] for t in targets], np.float32) for i, b in enumerate("GRZ")},
        **{f"FLUX_IVAR_{b}": np.full(ntarg, 100.0, np.float32) for b in "GRZ"},
    })
    hdus.append(fits.BinTableHDU(fm, name="FIBERMAP"))
    zt = fits.BinTableHDU(Table({"TARGETID": fm["TARGETID"], "Z": [t["z"] for t in targets],
                                 "ZWARN": np.zeros(ntarg, np.int64)}), name="REDSHIFTS")
    if redshifts:
        hdus.append(zt)
    fits.HDUList(hdus).writeto(path)
    return zt


TARGETS = [
    {"tid": 39627652595714901, "ra": 150.1, "dec": 2.2, "photsys": "S", "flux": (10.0, 20.0, 30.0), "z": 1.5},
    {"tid": 39627652595714999, "ra": 151.0, "dec": 3.0, "photsys": "N", "flux": (5.0, 6.0, 7.0), "z": 0.7},
]


@pytest.fixture(scope="module")
def desi_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("desi") / "coadd-main-dark-10032.fits"
    write_desi(path, TARGETS)
    return path


def test_desi_select_and_metadata(desi_file):
    s = read_spectrum(desi_file, targetid=TARGETS[1]["tid"])
    assert s.name == f"desi-{TARGETS[1]['tid']}" and s.z == pytest.approx(0.7)
    assert s.ra == pytest.approx(151.0) and s.dec == pytest.approx(3.0) and s.flux_unit == 1e-17
    assert s.meta["targetid"] == TARGETS[1]["tid"] and s.meta["index"] == 1 and s.meta["photsys"] == "N"
    assert s.photometry.bands == ("BASS-g", "BASS-r", "MzLS-z")
    s0 = read_spectrum(desi_file, index=0, z=2.0)
    assert s0.z == 2.0 and s0.meta["targetid"] == TARGETS[0]["tid"]
    assert s0.photometry.bands == ("decam2014-g", "decam2014-r", "decam2014-z")
    np.testing.assert_allclose(nmgy(s0.photometry.mags), TARGETS[0]["flux"], rtol=1e-5)
    with pytest.raises(InputError, match="targetid="):
        read_spectrum(desi_file)
    with pytest.raises(InputError, match="not in the file"):
        read_spectrum(desi_file, targetid=12345)


def test_desi_stitching(desi_file):
    s = read_spectrum(desi_file, index=0)
    assert np.all(np.diff(s.wave) > 0)
    np.testing.assert_allclose(np.diff(s.wave), 0.8, atol=1e-6)
    assert s.wave[0] == pytest.approx(3600.0) and s.wave[-1] == pytest.approx(9824.0)
    only_b = s.wave < 5660.0
    br = (s.wave >= 5660.0 - 0.01) & (s.wave <= 5930.0 + 0.01)
    only_r = (s.wave > 5930.0 + 0.01) & (s.wave < 7520.0 - 0.01)
    rz = (s.wave >= 7520.0 - 0.01) & (s.wave <= 7720.0 + 0.01)
    np.testing.assert_allclose(s.flux[only_b & s.mask], 1.0)
    np.testing.assert_allclose(s.flux[only_r], 2.0)
    np.testing.assert_allclose(s.flux[br], (1 * 1 + 2 * 3) / 4)  # inverse-variance weights 1 and 3
    np.testing.assert_allclose(s.err[br], 1 / np.sqrt(4.0))
    np.testing.assert_allclose(s.flux[rz], (2 * 3 + 3 * 2) / 5)
    assert not s.mask[100] and s.mask.sum() == s.mask.size - 1  # B_MASK pixel


def test_desi_lsf_from_gaussian_resolution(desi_file):
    s = read_spectrum(desi_file, index=0)
    assert kernel_sigma(1.0) == pytest.approx(1.0, rel=1e-5)
    for lo, hi, sig in ((3700, 5600, 1.0), (6000, 7400, 1.3), (7800, 9700, 1.6)):
        sel = (s.wave > lo) & (s.wave < hi)
        expected = C_KMS * kernel_sigma(sig) * 0.8 / s.wave[sel]
        np.testing.assert_allclose(s.lsf_sigma_kms[sel], expected, rtol=1e-5)
    br = (s.wave > 5670) & (s.wave < 5920)
    w_b, w_r = 1.0, 3.0  # inverse variances of the B and R arms
    expected = C_KMS * 0.8 / s.wave[br] * (w_b * kernel_sigma(1.0) + w_r * kernel_sigma(1.3)) / (w_b + w_r)
    np.testing.assert_allclose(s.lsf_sigma_kms[br], expected, rtol=1e-5)


def test_resolution_rows_follow_dia_convention():
    """Row moments of R, with R built dense and stored in scipy's DIA layout."""
    import scipy.sparse

    n, h = 200, 6
    sig = np.linspace(0.8, 2.2, n)
    d = np.arange(n)[None, :] - np.arange(n)[:, None]  # column - row
    dense = np.exp(-0.5 * (d / sig[:, None]) ** 2) * (np.abs(d) <= h)
    dense /= dense.sum(axis=1, keepdims=True)
    dia = scipy.sparse.dia_matrix(dense)
    order = np.argsort(dia.offsets)[::-1]  # canonical h ... -h
    assert list(dia.offsets[order]) == list(range(h, -h - 1, -1))
    got = resolution_sigma_pix(dia.data[order])
    mean = (dense * d).sum(axis=1)
    expected = np.sqrt((dense * d**2).sum(axis=1) - mean**2)
    np.testing.assert_allclose(got, expected, rtol=1e-10)


def test_desi_redshift_from_sibling_redrock(tmp_path):
    path = tmp_path / "coadd-sv1-bright-7.fits"
    zt = write_desi(path, TARGETS[:1], redshifts=False)
    with pytest.raises(InputError, match="z="):
        read_spectrum(path)
    fits.HDUList([fits.PrimaryHDU(), zt]).writeto(tmp_path / "redrock-sv1-bright-7.fits")
    s = read_spectrum(path)
    assert s.z == pytest.approx(1.5) and s.meta["redshift_file"].endswith("redrock-sv1-bright-7.fits")


# --------------------------------------------------------------------------- tables


def _toy(n=300):
    wave = np.linspace(4000.0, 7000.0, n)
    flux = 10.0 + np.sin(wave / 100.0)
    err = np.full(n, 0.5)
    return wave, flux, err


def test_fits_table_with_units_ivar_and_header_z(tmp_path):
    wave, flux, err = _toy()
    t = Table({"WAVELENGTH": wave / 10 * u.nm, "FLUX": flux * 1e-17 * FLAM,
               "IVAR": 1 / err**2 * (1e-17 * FLAM) ** -2})
    path = tmp_path / "spectrum.fits"
    fits.HDUList([fits.PrimaryHDU(header=fits.Header({"REDSHIFT": 0.42})), fits.table_to_hdu(t)]).writeto(path)
    s = read_spectrum(path)
    assert s.z == pytest.approx(0.42) and s.meta["format"] == "table"
    np.testing.assert_allclose(s.wave, wave)
    np.testing.assert_allclose(s.flux * s.flux_unit, flux * 1e-17)
    np.testing.assert_allclose(s.err * s.flux_unit, err * 1e-17)


def test_fits_table_loglam_without_units(tmp_path):
    wave, flux, err = _toy()
    path = tmp_path / "loglam.fits"
    Table({"loglam": np.log10(wave), "flux": flux, "ivar": 1 / err**2}).write(path)
    s = read_spectrum(path, z=0.1)
    np.testing.assert_allclose(s.wave, wave)
    np.testing.assert_allclose(s.err, err)
    assert s.flux_unit == 1e-17
    assert read_spectrum(path, z=0.1, flux_unit=1e-15).flux_unit == 1e-15


def test_ascii_tables(tmp_path):
    wave, flux, err = _toy()
    commented = tmp_path / "spec.txt"
    np.savetxt(commented, np.c_[wave, flux, err], header="lambda flux sigma")
    bare = tmp_path / "spec.dat"
    np.savetxt(bare, np.c_[wave, flux, err])
    for path in (commented, bare):
        s = read_spectrum(path, z=0.5)
        np.testing.assert_allclose(s.wave, wave)
        np.testing.assert_allclose(s.flux, flux)
        np.testing.assert_allclose(s.err, err)
    csv = tmp_path / "spec.csv"
    Table({"wave": wave, "flux": flux, "error": err}).write(csv)
    assert read_spectrum(csv, z=0.5).n_good == wave.size


def test_ecsv_f_nu_converted(tmp_path):
    wave, flux, err = _toy()
    fnu = (flux * 1e-17 * FLAM).to(u.mJy, equivalencies=u.spectral_density(wave * u.AA))
    t = Table({"wave": wave * u.AA, "flux": fnu, "err": fnu * 0.05})
    t.meta["z"] = 0.33
    path = tmp_path / "fnu.ecsv"
    t.write(path)
    s = read_spectrum(path)
    assert s.z == pytest.approx(0.33)
    np.testing.assert_allclose(s.flux * s.flux_unit, flux * 1e-17, rtol=1e-10)
    np.testing.assert_allclose(s.err * s.flux_unit, flux * 1e-17 * 0.05, rtol=1e-10)


def test_table_columns_by_name_and_missing(tmp_path):
    wave, flux, err = _toy()
    t = Table({"WL": wave, "F": flux, "E": err, "BAD": np.r_[1, np.zeros(wave.size - 1)]})
    s = read_spectrum(t, z=0.1, columns={"wave": "WL", "flux": "F", "err": "E", "mask": "BAD"})
    assert not s.mask[0] and s.n_good == wave.size - 1
    path = tmp_path / "noerr.fits"
    Table({"wave": wave, "flux": flux}).write(path)
    with pytest.raises(InputError, match=r"no err column.*ivar"):
        read_spectrum(path, z=0.1)


# --------------------------------------------------------------------------- Quantity / specutils


def test_quantity_tuple():
    wave, flux, err = _toy()
    s = read_spectrum((wave / 1e4 * u.um, flux * 1e-17 * FLAM, err * 1e-17 * FLAM), z=0.2)
    np.testing.assert_allclose(s.wave, wave)
    np.testing.assert_allclose(s.flux * s.flux_unit, flux * 1e-17)
    plain = read_spectrum((wave, flux), ivar=1 / err**2, z=0.2)
    np.testing.assert_allclose(plain.err, err)
    assert plain.flux_unit == 1e-17


def test_specutils_spectrum():
    specutils = pytest.importorskip("specutils")
    from astropy.nddata import InverseVariance, StdDevUncertainty

    cls = getattr(specutils, "Spectrum", None) or specutils.Spectrum1D
    wave, flux, err = _toy()
    flam = flux * 1e-17 * FLAM
    spec = cls(spectral_axis=wave / 1e4 * u.um, flux=flam.to(u.W / u.m**2 / u.um),
               uncertainty=InverseVariance((err * 1e-17 * FLAM).to_value(u.W / u.m**2 / u.um) ** -2),
               redshift=0.7)
    s = read_spectrum(spec)
    assert s.z == pytest.approx(0.7) and isinstance(s, Spectrum)
    np.testing.assert_allclose(s.wave, wave)
    np.testing.assert_allclose(s.flux * s.flux_unit, flux * 1e-17, rtol=1e-10)
    np.testing.assert_allclose(s.err * s.flux_unit, err * 1e-17, rtol=1e-10)

    freq = (wave * u.AA).to(u.GHz, equivalencies=u.spectral())
    fnu = flam.to(u.Jy, equivalencies=u.spectral_density(wave * u.AA))
    mask = np.zeros(wave.size, bool)
    mask[5] = True
    spec = cls(spectral_axis=freq[::-1], flux=fnu[::-1], uncertainty=StdDevUncertainty(0.1 * fnu.value[::-1]),
               mask=mask[::-1])
    s = read_spectrum(spec, z=0.3)
    np.testing.assert_allclose(s.wave, wave, rtol=1e-12)
    np.testing.assert_allclose((s.flux * s.flux_unit)[s.mask], (flux * 1e-17)[s.mask], rtol=1e-10)
    assert not s.mask[5] and s.n_good == wave.size - 1


# --------------------------------------------------------------------------- errors


def test_missing_file_and_unknown_formats(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_spectrum(tmp_path / "missing.fits")
    junk = tmp_path / "junk.fits"
    junk.write_bytes(b"\x00\x01not a fits file at all" * 20)
    with pytest.raises(InputError, match="junk.fits"):
        read_spectrum(junk)
    binary = tmp_path / "junk.bin"
    binary.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(InputError, match="junk.bin"):
        read_spectrum(binary)
    image = tmp_path / "image.fits"
    fits.PrimaryHDU(np.zeros((5, 5))).writeto(image)
    with pytest.raises(InputError, match="unknown FITS layout"):
        read_spectrum(image)
    with pytest.raises(InputError, match="cannot read a"):
        read_spectrum(42)
    with pytest.raises(InputError, match="unknown format"):
        read_spectrum(image, format="nonsense")


def test_bad_options_are_input_errors(sdss_example, desi_file):
    with pytest.raises(InputError, match="does not take"):
        read_spectrum(sdss_example, targetid=3)
    with pytest.raises(InputError, match="either targetid= or index="):
        read_spectrum(desi_file, targetid=TARGETS[0]["tid"], index=0)
    with pytest.raises(InputError, match="outside"):
        read_spectrum(sdss_example, z=-1.0)

"""A new survey in agnfit: a DESI-like spectrum fitted with Legacy Survey grz PSF photometry.

The guide ``docs/guide/new_survey.md`` walks through this file. Nothing in
agnfit changes; the survey needs

1. a reader from its file layout to an ``agnfit.Spectrum`` (wavelengths,
   flux, errors, mask, redshift, Galactic E(B-V), the instrumental resolution
   per pixel) with its PSF photometry as an ``agnfit.Photometry``
   (:func:`read_desilike`);
2. a config that names the survey's bands (speclite ships the DECam grz
   curves of the Legacy Surveys) and an aperture model with one extended-light
   fraction per band (agnfit's registered ``eta_per_band``).

There is no DESI file among agnfit's reference data, so the input is simulated
with ``agnfit.simulate`` from known parameters, written in the survey's layout
(:func:`write_desilike`) and read back, and the fit is compared with the truth.

    python examples/new_survey_desi.py [OUTDIR] [--small]

``--small`` uses 2 A pixels and a constant resolving power (a faster fit);
the default is DESI's 0.8 A grid with a resolution matrix.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import jax.numpy as jnp
import numpy as np
from astropy.io import fits

import agnfit
from agnfit.errors import InputError
from agnfit.io.desi import resolution_sigma_pix

C_KMS = 299792.458
FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))
FLUX_UNIT = 1e-17  # erg/s/cm^2/A per file flux unit, as in DESI
#: Legacy Surveys grz by PHOTSYS: "S" = DECaLS/DES (DECam), "N" = BASS (g, r) + MzLS (z)
LS_BANDS = {"S": ("decam2014-g", "decam2014-r", "decam2014-z"), "N": ("BASS-g", "BASS-r", "MzLS-z")}
N_DIAG = 11  # diagonals of the stored resolution matrix, as in DESI

# The fit: AGN power law, host SSP mixture, broad and narrow Balmer lines, [O III] and [N II];
# PSF photometry in DECam grz with one eta per band.
CONFIG_TOML = """
[data]
deredden = true                    # E(B-V) from the file (the survey's SFD value)

[components.pl]
type = "power_law"
wave0 = 5100.0

[components.host]
type = "host_dsps"
ages = [1.0, 10.0]                 # Gyr
logzsol = [0.0]
wave_range = [2500.0, 10000.0]     # rest A: covers the spectrum and the z band at z = 0.15

[components.broad]
type = "broad_lines"
lines = ["Hb", "Ha"]

[components.narrow]
type = "narrow_lines"
lines = ["Hb", "OIII_5007", "Ha", "NII_6583"]

[aperture]
type = "eta_per_band"              # psf.eta_0, eta_1, eta_2 for g, r, z, and one psf.delta_m

[photometry]
bands = ["decam2014-g", "decam2014-r", "decam2014-z"]
coverage = 0.85                    # DESI ends at 9824 A, where DECam z still has ~10 % of its response
extra_scatter = false              # three magnitudes cannot constrain an extra scatter term

[likelihood]
frac_jitter = false                # simulated errors are exact; switch the jitter terms on for real data
add_jitter = false

[priors]
# DESI spectra are corrected for the fiber losses of a point source, so the gray
# fiber-to-PSF offset is small; with three bands and three etas it must be constrained.
"psf.delta_m" = { dist = "Normal", loc = 0.0, scale = 0.03 }
"""

#: the simulated object (amplitudes in 1e-17 erg/s/cm^2/A, widths in km/s)
TRUTH = {
    "pl.norm": 10.0, "pl.alpha": -1.5,
    "host.norm": 11.0, "host.logit_age_0": 0.0, "host.logit_age_1": 0.98,  # 3 + 8 at 1 and 10 Gyr
    "host.sigma": 160.0, "host.dv": 0.0,
    "broad.Hb_flux": 900.0, "broad.Hb_fwhm": 4500.0, "broad.Hb_dv": 0.0,
    "broad.Ha_flux": 2800.0, "broad.Ha_fwhm": 4200.0, "broad.Ha_dv": 0.0,
    "narrow.Hb_flux": 40.0, "narrow.OIII_5007_flux": 300.0, "narrow.Ha_flux": 130.0, "narrow.NII_6583_flux": 100.0,
    "psf.eta_0": 0.6, "psf.eta_1": 0.45, "psf.eta_2": 0.3,  # better seeing in redder bands: less host light
    "psf.delta_m": 0.02,
}


@dataclasses.dataclass(frozen=True)
class Setup:
    """How the DESI-like observation is simulated and stored.

    Attributes:
        z: redshift.
        wave_min, wave_max: observed range (A, vacuum); DESI covers 3600-9824 A.
        pixel_a: linear pixel size (A); DESI's is 0.8 A.
        resolving_power: R = lambda / FWHM, constant (DESI: ~2000 in the blue to ~5000 in the red).
        resolution_matrix: store the resolution as a matrix (else as a constant R keyword).
        snr: median signal-to-noise ratio per pixel.
        ebv: Galactic E(B-V) (mag) applied to spectrum and photometry.
        mag_err: grz magnitude errors (mag).
        seed: noise seed.
    """

    z: float = 0.15
    wave_min: float = 3600.0
    wave_max: float = 9824.0
    pixel_a: float = 0.8
    resolving_power: float = 3000.0
    resolution_matrix: bool = True
    snr: float = 10.0
    ebv: float = 0.03
    mag_err: float = 0.02
    seed: int = 2

    @property
    def wave(self) -> np.ndarray:
        return np.arange(self.wave_min, self.wave_max + 0.5 * self.pixel_a, self.pixel_a)

    @property
    def sigma_kms(self) -> float:
        """Gaussian sigma (km/s) of the line-spread function: c / (R * 2.355)."""
        return C_KMS / (self.resolving_power * FWHM_PER_SIGMA)


SMALL = Setup(pixel_a=2.0, resolution_matrix=False, snr=15.0)


# ---------------------------------------------------------------- the survey's file layout
def gaussian_resolution(wave, sigma_kms: float, ndiag: int = N_DIAG) -> np.ndarray:
    """A resolution matrix of Gaussian rows, in DESI's DIA layout (ndiag, n_wave).

    ``data[k, j] = R[j - o_k, j]`` with offsets ``o_k = ndiag//2 - k``; row i
    of R is a Gaussian of sigma ``wave_i * sigma_kms / c`` A, sampled at the
    pixel centres and normalised to unit sum.
    """
    wave = np.asarray(wave, float)
    n, half = wave.size, ndiag // 2
    offsets = half - np.arange(ndiag)
    sigma_pix = wave * sigma_kms / C_KMS / np.gradient(wave)
    rows = np.exp(-0.5 * (offsets[None, :] / sigma_pix[:, None]) ** 2)  # (n, ndiag): row i, offset o
    rows /= rows.sum(axis=1, keepdims=True)
    data = np.zeros((ndiag, n))
    for k, o in enumerate(offsets):
        j = np.arange(n)
        i = j - o
        ok = (i >= 0) & (i < n)
        data[k, j[ok]] = rows[i[ok], k]
    return data


def write_desilike(path, spec: agnfit.Spectrum, phot: agnfit.Photometry, setup: Setup) -> None:
    """Write one object in the survey's layout.

    HDU 0 header: TARGETID, Z, EBV (SFD, mag). ``SPECTRUM`` table: WAVELENGTH (A,
    vacuum), FLUX (1e-17 erg/s/cm^2/A), IVAR, MASK (0 = good); header RESPOWER
    when the resolution is a constant R. ``RESOLUTION`` image (ndiag, n_wave):
    the resolution matrix in DIA layout, when stored. ``PHOTOMETRY`` table:
    FLUX_G/R/Z and FLUX_IVAR_G/R/Z (nanomaggies, not dereddened) and PHOTSYS.
    """
    primary = fits.PrimaryHDU()
    primary.header.update({"TARGETID": 1, "Z": spec.z, "EBV": setup.ebv, "SURVEY": "desi-like"})
    ivar = np.where(spec.mask, 1.0 / spec.err**2, 0.0)
    cols = [fits.Column("WAVELENGTH", "D", "Angstrom", array=spec.wave),
            fits.Column("FLUX", "D", "1e-17 erg/(s cm2 Angstrom)", array=spec.flux),
            fits.Column("IVAR", "D", array=ivar), fits.Column("MASK", "J", array=(~spec.mask).astype(np.int32))]
    table = fits.BinTableHDU.from_columns(cols, name="SPECTRUM")
    hdus = [primary, table]
    if setup.resolution_matrix:
        hdus.append(fits.ImageHDU(gaussian_resolution(spec.wave, setup.sigma_kms), name="RESOLUTION"))
    else:
        table.header["RESPOWER"] = setup.resolving_power
    nmgy = 10.0 ** (-0.4 * (phot.mags - 22.5))
    nmgy_err = nmgy * phot.errs * np.log(10.0) / 2.5
    pcols = [fits.Column(f"FLUX_{b}", "D", array=[f]) for b, f in zip("GRZ", nmgy)]
    pcols += [fits.Column(f"FLUX_IVAR_{b}", "D", array=[1.0 / e**2]) for b, e in zip("GRZ", nmgy_err)]
    pcols.append(fits.Column("PHOTSYS", "1A", array=["S"]))
    hdus.append(fits.BinTableHDU.from_columns(pcols, name="PHOTOMETRY"))
    fits.HDUList(hdus).writeto(path, overwrite=True)


def lsf_sigma_kms(hdul, wave) -> np.ndarray:
    """Instrumental Gaussian sigma (km/s) per pixel: from the resolution matrix, else from RESPOWER."""
    names = {h.name for h in hdul}
    if "RESOLUTION" in names:
        sigma_pix = resolution_sigma_pix(hdul["RESOLUTION"].data)
        return C_KMS * sigma_pix * np.gradient(wave) / wave
    r = hdul["SPECTRUM"].header.get("RESPOWER")
    if r is None:
        raise InputError("the file has neither a RESOLUTION matrix nor a RESPOWER keyword")
    return np.full(wave.size, C_KMS / (float(r) * FWHM_PER_SIGMA))


def read_desilike(path) -> agnfit.Spectrum:
    """Read one object of the survey's layout (see :func:`write_desilike`) into an agnfit Spectrum.

    The Spectrum carries the grz PSF photometry (``spectrum.photometry``), the
    per-pixel LSF and the Galactic E(B-V); agnfit validates and masks the rest.
    """
    path = Path(path)
    try:
        with fits.open(path) as hdul:
            head = hdul[0].header
            t = hdul["SPECTRUM"].data
            wave = np.asarray(t["WAVELENGTH"], float)
            flux, ivar = np.asarray(t["FLUX"], float), np.asarray(t["IVAR"], float)
            good = (np.asarray(t["MASK"]) == 0) & (ivar > 0)
            lsf = lsf_sigma_kms(hdul, wave)
            p = hdul["PHOTOMETRY"].data[0]
            photsys = str(p["PHOTSYS"]).strip() or "S"
            fluxes = [p[f"FLUX_{b}"] for b in "GRZ"]
            ivars = [p[f"FLUX_IVAR_{b}"] for b in "GRZ"]
            z, ebv, targetid = float(head["Z"]), float(head["EBV"]), int(head["TARGETID"])
    except (OSError, KeyError, IndexError, InputError) as exc:
        raise InputError(f"{path}: not a DESI-like survey file ({type(exc).__name__}: {exc})") from None
    err = 1.0 / np.sqrt(np.where(good, ivar, 1.0))  # masked pixels keep a placeholder error
    phot = agnfit.Photometry.from_nanomaggies(LS_BANDS[photsys], fluxes, ivar=ivars)
    return agnfit.Spectrum(wave, flux, err, z, mask=good, lsf_sigma_kms=lsf, ebv=ebv, flux_unit=FLUX_UNIT,
                           name=f"desilike-{targetid}", photometry=phot, meta={"file": str(path), "photsys": photsys})


# ---------------------------------------------------------------- simulation and the fit
def simulate_observation(config, setup: Setup):
    """(Spectrum, Photometry) of :data:`TRUTH` observed as ``setup`` describes."""
    obs = agnfit.Observation(z=setup.z, wave=setup.wave, snr=setup.snr, lsf_sigma_kms=setup.sigma_kms,
                             ebv=setup.ebv, mag_err=setup.mag_err, flux_unit=FLUX_UNIT, seed=setup.seed)
    return agnfit.simulate(config, TRUTH, obs)


def true_host_fraction(config, setup: Setup, wave: float = 5100.0) -> float:
    """host / (host + AGN continuum) of :data:`TRUTH` at rest ``wave`` (A); only needed because the input is simulated."""
    from agnfit.core.component import EvalContext
    from agnfit.core.names import local_params
    from agnfit.simulate import true_model

    _, model = true_model(config, agnfit.Observation(z=setup.z, wave=setup.wave), with_photometry=True)
    ctx, w = EvalContext.constant(setup.sigma_kms), jnp.array([wave])
    host, agn = (float(model.component(c)(w, local_params(c, TRUTH), ctx)[0]) for c in ("host", "pl"))
    return host / (host + agn)


def summary(res: agnfit.FitResult, config, setup: Setup, spec: agnfit.Spectrum) -> dict:
    """Recovered quantities next to the truth (medians of the fit)."""
    med = res.value
    return {
        "kept_bands": res.info["kept_bands"],
        "converged": bool(res.info["converged"]),
        "chi2_reduced": float(res.info["chi2_reduced"]),
        "lsf_sigma_kms": {"read": float(np.median(spec.lsf_sigma_kms)), "true": setup.sigma_kms},
        "host_fraction_5100": {"fit": med("host_fraction.5100"), "true": true_host_fraction(config, setup)},
        "broad_hb_fwhm": {"fit": med("broad.Hb.fwhm"), "true": TRUTH["broad.Hb_fwhm"]},
        "eta": {"fit": [med(f"psf.eta_{i}") for i in range(3)], "true": [TRUTH[f"psf.eta_{i}"] for i in range(3)]},
        "delta_m": {"fit": med("psf.delta_m"), "true": TRUTH["psf.delta_m"]},
        "mag_residual": (res.photometry["mag_model"] - res.photometry["mag_obs"]).tolist(),
    }


def main(out_dir, small: bool = False) -> dict:
    """Simulate, write, read back and fit one DESI-like object; results and a summary go to ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    setup = SMALL if small else Setup()
    config = agnfit.load_config(CONFIG_TOML)
    sim_spec, sim_phot = simulate_observation(config, setup)
    path = out / "desilike-1.fits"
    write_desilike(path, sim_spec, sim_phot, setup)

    spec = read_desilike(path)
    res = agnfit.fit(spec, config)  # the photometry comes with the spectrum
    res.save(out)  # <out>/<name>.h5 and a catalogue row
    report = summary(res, config, setup, spec)
    (out / "summary.json").write_text(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--small"]
    result = main(Path(args[0]) if args else Path("out/new_survey_desi"), small="--small" in sys.argv)
    print(json.dumps(result, indent=2))

"""The familiar tutorial flow on the SDSS example spectrum spec-0332-52367-0639.

1. fiber-only fit, 2. fit with PSF photometry (the SDSS ugriz imaging fluxes in
the file), 3. a comparison table, 4. figures (PNG + PDF) in the output directory.

    python examples/sdss_example.py [OUTDIR]

The spectrum comes from the data registry (a local copy under $AGNFIT_DATA_DIR,
else downloaded from the SDSS archive). With your own object, fetch the
spectrum and PSF magnitudes with astroquery, e.g.::

    from astroquery.sdss import SDSS
    sp = SDSS.get_spectra(plate=332, mjd=52367, fiberID=639)[0]
    ph = SDSS.query_crossid(coord, photoobj_fields=["psfMag_u", ..., "psfMagErr_z"])
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import agnfit


def summary_row(label: str, q: agnfit.QSOFit) -> str:
    r = q.result
    s = r.spectrum
    good = s["mask"]
    resid = (s["flux"] - s["model"])[good]
    wrms = np.sqrt(np.sum(resid**2 / s["err"][good] ** 2) / np.sum(1 / s["err"][good] ** 2))
    return (f"{label:14s} {r.info['chi2_reduced']:8.3f} {wrms:8.3f} {q.frac_host_4200:8.3f} {q.frac_host_5100:8.3f} "
            f"{q.delta_m_psf:8.3f} {q.eta_psf:8.3f} {q.scale_psf:8.3f}")


def main(out: Path) -> None:
    spec = agnfit.read_spectrum("sdss/spec-0332-52367-0639.fits")
    phot = spec.photometry
    err = np.where(spec.mask, spec.err, np.inf)
    q = agnfit.QSOFit(spec.wave, spec.flux, err, spec.z, ra=spec.ra, dec=spec.dec, filename="fiber", output_path=out)
    q.fit(deredden=True, fit_method="optax", decompose_host=True, save_fig=True, save_result=True)
    fiber = summary_row("fiber only", q)
    p = agnfit.QSOFit(spec.wave, spec.flux, err, spec.z, ra=spec.ra, dec=spec.dec, filename="psf", output_path=out)
    p.fit(deredden=True, fit_method="optax+laplace", decompose_host=True, use_psf_phot=True, psf_mags=phot.mags,
          psf_mag_errs=phot.errs, psf_bands=phot.bands, save_fig=True, save_result=True,
          kwargs_plot={"plot_residual": True, "plot_psf_space": True})
    print(f"{'fit':14s} {'chi2/pix':>8s} {'wrms':>8s} {'fh4200':>8s} {'fh5100':>8s} {'dm':>8s} {'eta':>8s} {'s':>8s}")
    print(fiber)
    print(summary_row("fiber + PSF", p))
    print(f"PSF fit: delta_m = {p.delta_m_psf:.3f} +- {p.delta_m_psf_err:.3f}, eta = {p.eta_psf:.3f} +- {p.eta_psf_err:.3f}, "
          f"bands used: {p.psf_bands}")
    print(f"broad FWHM: Hbeta {q.broad_lines__Hb__fwhm:.0f} km/s, Halpha {q.broad_lines__Ha__fwhm:.0f} km/s (fiber-only fit)")
    print(f"figures and results in {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "out/sdss_example"))

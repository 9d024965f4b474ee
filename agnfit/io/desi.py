"""Reader for DESI coadd files (``coadd-*.fits``).

Layout read here (one image row per target in every per-arm HDU):

``<ARM>_WAVELENGTH`` (nwave,), ``<ARM>_FLUX`` / ``<ARM>_IVAR`` / ``<ARM>_MASK`` (nspec, nwave),
``<ARM>_RESOLUTION`` (nspec, ndiag, nwave)
    for each arm (``B``, ``R``, ``Z``; also a camera-combined ``BRZ``):
    vacuum wavelengths in A, flux in 1e-17 erg/s/cm^2/A, inverse variance,
    a pixel mask (non-zero = bad) and the resolution matrix as its diagonals.
``FIBERMAP``
    ``TARGETID, TARGET_RA, TARGET_DEC, FLUX_G/R/Z, FLUX_IVAR_G/R/Z``
    (Legacy Surveys fluxes in nanomaggies, not dereddened) and ``PHOTSYS``.
``REDSHIFTS`` (optional)
    ``TARGETID, Z, ZWARN, SPECTYPE``. Without it the redshift comes from the
    ``redrock-*.fits`` file next to the coadd (or ``redrock=<path>``), or ``z=``.

Stitching: the arms are put on one increasing grid. DESI arms share one
linear 0.8 A grid, so overlap pixels coincide (matched to 1e-3 A) and are
combined with inverse-variance weights (flux = sum(w f)/sum(w), ivar = sum(w)
over the arms' good pixels). Arms on different grids interleave.

LSF: the resolution matrix R is stored as ``data[k, j] = R[j - o_k, j]`` with
offsets ``o_k = h - k``, ``h = ndiag // 2`` (scipy's DIA layout). Row ``i`` of
R is the kernel that turns a model sampled on the grid into pixel ``i``; its
second moment about its mean, in pixels, times the local pixel width
``dlambda`` gives sigma in A and ``sigma_kms = c * sigma_A / lambda``. For a
row sampled from a Gaussian of sigma ``s`` pixels (``s`` >~ 0.7) this is ``s``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..core.data import C_KMS, Photometry
from ..errors import InputError
from .common import build_spectrum, check_options, fill_bad, pop_overrides, reading

log = logging.getLogger(__name__)

#: erg/s/cm^2/A per DESI flux unit.
DESI_FLUX_UNIT = 1e-17
#: Legacy Surveys grz filters by PHOTSYS: "S" = DECaLS/DES (DECam), "N" = BASS (g, r) + MzLS (z).
LS_BANDS = {"S": ("decam2014-g", "decam2014-r", "decam2014-z"), "N": ("BASS-g", "BASS-r", "MzLS-z")}
#: wavelengths closer than this (A) are the same pixel when arms are stitched.
MATCH_TOL = 1e-3

DESI_WHAT = "a DESI coadd file (<ARM>_WAVELENGTH/_FLUX/_IVAR HDUs and a FIBERMAP table)"


def arm_names(hdul) -> list[str]:
    """Arm prefixes (``"B"``, ``"R"``, ``"Z"``, ...) with wavelength, flux and ivar HDUs."""
    names = {h.name.upper() for h in hdul}
    arms = [n[: -len("_WAVELENGTH")] for n in names if n.endswith("_WAVELENGTH")]
    return [a for a in arms if {f"{a}_FLUX", f"{a}_IVAR"} <= names]


def is_desi(hdul) -> bool:
    """True for a DESI coadd layout: a FIBERMAP table and at least one complete arm."""
    return "FIBERMAP" in {h.name.upper() for h in hdul} and bool(arm_names(hdul))


def resolution_sigma_pix(rdata) -> np.ndarray:
    """Per-pixel Gaussian sigma (pixels) from a resolution matrix in DIA layout.

    Args:
        rdata: ``(ndiag, nwave)`` diagonals, offsets ``ndiag//2 ... -ndiag//2``.

    Returns:
        sqrt of the second central moment of each row of R (pixels); rows
        with no positive weight are interpolated from their neighbours.
    """
    rdata = np.asarray(rdata, float)
    ndiag, n = rdata.shape
    offsets = ndiag // 2 - np.arange(ndiag)
    cols = np.arange(n)[None, :] + offsets[:, None]
    inside = (cols >= 0) & (cols < n)
    w = np.where(inside, np.take_along_axis(rdata, np.clip(cols, 0, n - 1), axis=1), 0.0)
    norm = w.sum(axis=0)
    ok = np.isfinite(norm) & (norm > 0)
    safe = np.where(ok, norm, 1.0)
    mean = (w * offsets[:, None]).sum(axis=0) / safe
    var = (w * offsets[:, None] ** 2).sum(axis=0) / safe - mean**2
    ok &= np.isfinite(var) & (var > 0)
    return fill_bad(np.sqrt(np.clip(var, 0.0, None)), ok)


def _select(fibermap, path, targetid, index) -> int:
    tids = np.asarray(fibermap["TARGETID"]).astype(np.int64)
    if targetid is not None and index is not None:
        raise InputError(f"{path}: pass either targetid= or index=, not both")
    if targetid is not None:
        hits = np.flatnonzero(tids == int(targetid))
        if hits.size == 0:
            raise InputError(f"{path}: TARGETID {targetid} is not in the file; it holds {tids.size} "
                             f"target(s), e.g. {tids[:5].tolist()}")
        return int(hits[0])
    if index is not None:
        if not -tids.size <= int(index) < tids.size:
            raise InputError(f"{path}: index={index} is out of range; the file holds {tids.size} spectra")
        return int(index) % tids.size
    if tids.size == 1:
        return 0
    raise InputError(f"{path}: the file holds {tids.size} spectra; pass targetid=<TARGETID> "
                     f"(e.g. {tids[:5].tolist()}) or index=<row>")


def _read_arm(hdul, arm: str, i: int) -> dict:
    """One arm of target row ``i``: wave (A), flux, ivar, good mask and LSF sigma (km/s)."""
    wave = np.asarray(hdul[f"{arm}_WAVELENGTH"].data, float)
    flux = np.asarray(hdul[f"{arm}_FLUX"].data[i], float)
    ivar = np.asarray(hdul[f"{arm}_IVAR"].data[i], float)
    if wave.ndim != 1 or flux.shape != wave.shape or ivar.shape != wave.shape:
        raise InputError(f"arm {arm}: wavelength {wave.shape}, flux {flux.shape} and ivar {ivar.shape} disagree")
    names = {h.name.upper() for h in hdul}
    good = np.isfinite(ivar) & (ivar > 0) & np.isfinite(flux)
    if f"{arm}_MASK" in names:
        good &= np.asarray(hdul[f"{arm}_MASK"].data[i]) == 0
    lsf = np.full(wave.size, np.nan)
    if f"{arm}_RESOLUTION" in names:
        sigma_pix = resolution_sigma_pix(hdul[f"{arm}_RESOLUTION"].data[i])
        lsf = C_KMS * sigma_pix * np.gradient(wave) / wave
    return {"wave": wave, "flux": flux, "ivar": np.where(good, ivar, 0.0), "good": good, "lsf": lsf}


def stitch(arms: list[dict]) -> dict:
    """Combine arms onto one increasing wavelength grid (inverse-variance weights in overlaps).

    Each arm is a dict of equal-length arrays ``wave`` (A), ``flux``, ``ivar``
    (0 where bad), ``good`` and ``lsf`` (km/s, NaN if unknown). Returns
    ``wave, flux, err, mask, lsf`` (``lsf`` None when no arm has one).
    """
    cat = {k: np.concatenate([a[k] for a in arms]) for k in ("wave", "flux", "ivar", "good", "lsf")}
    key = np.round(cat["wave"] / MATCH_TOL).astype(np.int64)
    _, first, inv = np.unique(key, return_index=True, return_inverse=True)
    n = first.size
    w = np.where(cat["good"], cat["ivar"], 0.0)
    sw = np.bincount(inv, w, n)
    swf = np.bincount(inv, w * np.where(cat["good"], cat["flux"], 0.0), n)
    good = sw > 0
    safe = np.where(good, sw, 1.0)
    has_lsf = np.isfinite(cat["lsf"])
    lsf = None
    if has_lsf.any():
        lsf_w = np.where(has_lsf, w, 0.0)
        lsf_num = np.bincount(inv, lsf_w * np.where(has_lsf, cat["lsf"], 0.0), n)
        lsf_den = np.bincount(inv, lsf_w, n)
        plain = np.bincount(inv, np.where(has_lsf, cat["lsf"], 0.0), n) / np.maximum(np.bincount(inv, has_lsf, n), 1)
        lsf = np.where(lsf_den > 0, lsf_num / np.where(lsf_den > 0, lsf_den, 1.0), plain)
        lsf = fill_bad(lsf, np.bincount(inv, has_lsf, n) > 0)
    return {"wave": cat["wave"][first], "flux": np.where(good, swf / safe, 0.0),
            "err": np.where(good, 1.0 / np.sqrt(safe), 1.0), "mask": good, "lsf": lsf}


def _redshift_table(hdul, path, redrock):
    """The REDSHIFTS table: in the coadd, in ``redrock`` (a path), or in the sibling redrock file."""
    from astropy.io import fits

    if "REDSHIFTS" in {h.name.upper() for h in hdul}:
        return hdul["REDSHIFTS"].data, str(path)
    if redrock is False:
        return None, None
    if redrock is None:
        p = Path(str(path))
        if not p.name.startswith("coadd"):
            return None, None
        redrock = p.with_name("redrock" + p.name[len("coadd"):])
        if not redrock.is_file():
            return None, None
    with reading(redrock, "a DESI redrock file with a REDSHIFTS table"):
        if not Path(str(redrock)).is_file():
            raise InputError(f"{redrock}: no such redrock file")
        with fits.open(redrock, memmap=False) as rr:
            return rr["REDSHIFTS"].data.copy(), str(redrock)


def _redshift(table, targetid) -> dict:
    if table is None:
        return {}
    hits = np.flatnonzero(np.asarray(table["TARGETID"]).astype(np.int64) == targetid)
    if hits.size == 0:
        return {}
    row = table[int(hits[0])]
    names = {n.upper(): n for n in table.columns.names}
    out = {"z": float(row[names["Z"]])}
    for key in ("ZWARN", "SPECTYPE", "ZERR"):
        if key in names:
            v = row[names[key]]
            if isinstance(v, bytes):
                v = v.decode()
            out[key.lower()] = v.strip() if isinstance(v, str) else float(v)
    return out


def ls_photometry(fibermap, i: int) -> tuple[Photometry | None, str]:
    """Legacy Surveys grz photometry of fibermap row ``i`` (nanomaggies -> AB mag) and its PHOTSYS."""
    names = {n.upper(): n for n in fibermap.columns.names}
    photsys = "S"
    if "PHOTSYS" in names:
        v = fibermap[names["PHOTSYS"]][i]
        v = (v.decode() if isinstance(v, bytes) else str(v)).strip().upper()
        photsys = v if v in LS_BANDS else "S"
    need = [f"FLUX_{b}" for b in "GRZ"] + [f"FLUX_IVAR_{b}" for b in "GRZ"]
    if not set(need) <= set(names):
        return None, photsys
    flux = np.array([fibermap[names[f"FLUX_{b}"]][i] for b in "GRZ"], float)
    ivar = np.array([fibermap[names[f"FLUX_IVAR_{b}"]][i] for b in "GRZ"], float)
    if not np.any((flux > 0) & (ivar > 0)):
        return None, photsys
    return Photometry.from_nanomaggies(LS_BANDS[photsys], flux, ivar=ivar), photsys


def read_desi(hdul, path, options: dict):
    """Read one target of a DESI coadd file (see the module docstring).

    Options: ``targetid`` or ``index`` (needed when the file holds more than
    one target), ``redrock`` (path of the redshift file, or False to not
    look for one), and the Spectrum overrides (``z``, ``name``, ...).
    """
    opts = dict(options)
    overrides = pop_overrides(opts)
    check_options(opts, ("targetid", "index", "redrock"), "a DESI coadd file")
    with reading(path, DESI_WHAT):
        fibermap = hdul["FIBERMAP"].data
        i = _select(fibermap, path, opts.get("targetid"), opts.get("index"))
        targetid = int(fibermap["TARGETID"][i])
        arms = sorted(arm_names(hdul), key=lambda a: float(np.min(hdul[f"{a}_WAVELENGTH"].data)))
        if "BRZ" in arms and len(arms) > 1:
            arms = ["BRZ"]
        parts = [_read_arm(hdul, arm, i) for arm in arms]
        photometry, photsys = ls_photometry(fibermap, i)
        fm_names = {n.upper(): n for n in fibermap.columns.names}
        ra = float(fibermap[fm_names["TARGET_RA"]][i]) if "TARGET_RA" in fm_names else None
        dec = float(fibermap[fm_names["TARGET_DEC"]][i]) if "TARGET_DEC" in fm_names else None
        header = hdul[0].header
        table, zfile = _redshift_table(hdul, path, opts.get("redrock"))
    spec = stitch(parts)
    zinfo = _redshift(table, targetid)
    meta = {"file": str(path), "format": "desi-coadd", "targetid": targetid, "index": i, "arms": arms,
            "photsys": photsys, "survey": header.get("SURVEY"), "program": header.get("PROGRAM"),
            "redshift_file": zfile if zinfo else None}
    meta.update({k: v for k, v in zinfo.items() if k != "z"})
    log.info("%s: target %d, arms %s, %d of %d stitched pixels good", path, targetid, arms,
             int(spec["mask"].sum()), spec["mask"].size)
    fields = dict(wave=spec["wave"], flux=spec["flux"], err=spec["err"], mask=spec["mask"],
                  lsf_sigma_kms=spec["lsf"], z=zinfo.get("z"), ra=ra, dec=dec, flux_unit=DESI_FLUX_UNIT,
                  name=f"desi-{targetid}", photometry=photometry, meta=meta)
    return build_spectrum(fields, overrides, path)

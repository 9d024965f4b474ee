"""Bad input at every public boundary: a fixed, seeded set of cases, each handled or not.

    AGNFIT_OFFLINE=1 python benchmarks/bench_bad_input.py

Each case feeds one entry point (``Spectrum``, ``Photometry``, ``read_spectrum``,
``load_config``, ``fit``, ``simulate``, ``write_catalogue``) input from one of the
categories of README's "Errors and fallbacks" and records what came back:

==========  ====================================================================
error       a documented agnfit exception (``agnfit.errors``) with a message
fallback    a result with finite values and a stated fallback: an
            ``AgnfitWarning`` or a WARNING line from an ``agnfit`` logger
silent      a result without any warning: the bad input went unnoticed
escaped     any other exception (a bare NumPy/JAX/astropy/OS error)
==========  ====================================================================

A case is *handled* when it ends in ``error`` or ``fallback``; a *silent NaN*
is a result marked good (a converged fit, a validated spectrum) holding NaN.
Prints one table per category, a summary, and the line
``N cases, N handled, 0 silent NaN``; the exit status is 1 when a case is not
handled. Only a few cases run ``fit()``; they share one small configuration
(a power law, MAP), so the model compiles once (plus once with photometry).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import io
import logging
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

SEED = 20240611
BASE = {"data": {"deredden": False}, "components": {"pl": {"type": "power_law"}},
        "inference": [{"type": "map", "max_steps": 200}]}
BANDS = ["sdss2010-u", "sdss2010-g"]


@dataclasses.dataclass
class Case:
    category: str
    name: str
    entry: str
    call: object  # () -> result
    outcome: str = ""
    detail: str = ""
    silent_nan: bool = False


class _Records(logging.Handler):
    """Collects WARNING (and worse) records of the agnfit loggers."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def _has_nan(result) -> bool:
    """NaN in a result that is marked good (see the module docstring)."""
    import agnfit

    if isinstance(result, agnfit.Spectrum):
        return not (np.all(np.isfinite(result.flux)) and np.all(np.isfinite(result.err[result.mask])))
    if isinstance(result, agnfit.Photometry):
        return not np.all(np.isfinite(result.mags[result.valid]))
    if isinstance(result, agnfit.FitResult):
        if not result.converged:
            return False
        vals = [s["median"] for s in result.params.values()] + list(result.point.values())
        return not np.all(np.isfinite(vals)) or not np.all(np.isfinite(result.spectrum["model"]))
    if isinstance(result, tuple):
        return any(_has_nan(r) for r in result if r is not None)
    return False


def run_case(case: Case) -> None:
    """Call ``case.call`` and classify the outcome (mutates ``case``)."""
    from agnfit.errors import AgnfitError, AgnfitWarning

    handler = _Records()
    logger = logging.getLogger("agnfit")
    logger.addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                result = case.call()
            except AgnfitError as exc:
                case.outcome, case.detail = "error", f"{type(exc).__name__}: {exc}"
                return
            except Exception as exc:  # noqa: BLE001 - the point is to catch what escapes
                case.outcome, case.detail = "escaped", f"{type(exc).__name__}: {exc}"
                return
        notes = [str(w.message) for w in caught if issubclass(w.category, AgnfitWarning)] + handler.messages
        case.silent_nan = _has_nan(result)
        case.outcome = "fallback" if notes else "silent"
        case.detail = notes[0] if notes else "no warning"
    finally:
        logger.removeHandler(handler)


# ---------------------------------------------------------------- inputs


def clean_spectrum(rng, n=500, lo=3800.0, hi=9200.0):
    """A power-law spectrum with 1 % noise: wave (A), flux, err."""
    wave = np.linspace(lo, hi, n)
    flux = (wave / 5000.0) ** -1.5
    err = 0.01 * np.ones(n)
    return wave, flux + rng.normal(0.0, 0.01, n), err


def with_nan(a, idx, value=np.nan):
    a = np.array(a, float)
    a[idx] = value
    return a


def _files(tmp: Path, rng) -> dict:
    """Malformed spectrum files, by case name."""
    from astropy.io import fits
    from astropy.table import Table

    wave, flux, err = clean_spectrum(rng, 200)
    good = tmp / "good-table.fits"
    Table({"wave": wave, "flux": flux, "err": err}).write(good)
    raw = good.read_bytes()
    text = "\n".join(f"{w:.2f} {f:.4f} {e:.3f}" for w, f, e in zip(wave, flux, err))
    files = {
        "empty .fits": ("empty.fits", b""),
        "empty .txt": ("empty.txt", b""),
        "random bytes .fits": ("noise.fits", rng.bytes(4000)),
        "random bytes .csv": ("noise.csv", rng.bytes(4000)),
        "truncated FITS": ("cut.fits", raw[: len(raw) // 2]),
        "FITS header only": ("header.fits", raw[:2880]),
        "FITS content named .txt": ("table.txt", raw),
        "text content named .fits": ("text.fits", text.encode()),
        "text rows of unequal length": ("ragged.txt", ("wave flux err\n" + text + "\n4000 1\n").encode()),
        "text with a word among numbers": ("word.txt", ("wave flux err\n" + text.replace("1.0", "one", 1)).encode()),
        "CSV of words": ("words.csv", b"wave,flux,err\na,b,c\nd,e,f\n"),
        "HDF5 file as a spectrum": ("spec.h5", b"\x89HDF\r\n\x1a\n" + rng.bytes(500)),
    }
    out = {}
    for name, (fname, content) in files.items():
        (tmp / fname).write_bytes(content)
        out[name] = tmp / fname
    no_err = tmp / "no-err.fits"
    Table({"wave": wave, "flux": flux}).write(no_err)
    out["FITS table without an error column"] = no_err
    text_col = tmp / "text-col.fits"
    Table({"wave": wave, "flux": np.array([str(f) for f in flux]), "err": err}).write(text_col)
    out["FITS table with a text flux column"] = text_col
    spspec = fits.PrimaryHDU(np.ones((4, 100)))
    spspec.header.update(COEFF0=3.58, COEFF1=1e-4, Z="abc")
    spspec.writeto(tmp / "spSpec-bad.fit")
    out["spSpec with Z = 'abc' and no z="] = tmp / "spSpec-bad.fit"
    out["a directory"] = tmp
    out["a path that does not exist"] = tmp / "missing.fits"
    out["_good"] = good
    return out


@contextlib.contextmanager
def offline_without_data():
    """AGNFIT_DATA_DIR pointing at an empty directory, AGNFIT_OFFLINE=1 (restored afterwards)."""
    saved = {k: os.environ.get(k) for k in ("AGNFIT_DATA_DIR", "AGNFIT_OFFLINE", "AGNFIT_CACHE_DIR")}
    with tempfile.TemporaryDirectory() as empty:
        os.environ.update(AGNFIT_DATA_DIR=empty, AGNFIT_OFFLINE="1", AGNFIT_CACHE_DIR=empty)
        try:
            yield
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


def _offline(call):
    def run():
        with offline_without_data():
            return call()
    return run


def cases(tmp: Path) -> list[Case]:
    """The fixed case list (seeded)."""
    import agnfit
    from agnfit import Photometry, Spectrum, fit, load_config, read_spectrum

    rng = np.random.default_rng(SEED)
    w, f, e = clean_spectrum(rng)
    n = w.size
    base = load_config(BASE)
    phot_cfg = load_config({**BASE, "photometry": {"bands": BANDS}})
    files = _files(tmp, rng)
    out: list[Case] = []

    def add(category, name, entry, call):
        out.append(Case(category, name, entry, call))

    def spec(**kw):
        return lambda: Spectrum(**{"wave": w, "flux": f, "err": e, "z": 0.1, **kw})

    def cfg(**sections):
        return {**copy.deepcopy(BASE), **sections}

    c = "NaN/inf flux or error"
    add(c, "7 NaN flux pixels", "Spectrum", spec(flux=with_nan(f, slice(0, 7))))
    add(c, "+inf and -inf flux", "Spectrum", spec(flux=with_nan(with_nan(f, 3, np.inf), 9, -np.inf)))
    add(c, "NaN errors", "Spectrum", spec(err=with_nan(e, [5, 50, 77])))
    add(c, "NaN flux as (wave, flux, err) arrays", "read_spectrum",
        lambda: read_spectrum((w, with_nan(f, slice(10, 20)), e), z=0.1))
    add(c, "NaN flux, then fit", "fit", lambda: fit(Spectrum(w, with_nan(f, slice(0, 25)), e, 0.1), base))

    c = "zero/negative/inf errors"
    add(c, "zero errors", "Spectrum", spec(err=with_nan(e, slice(0, 4), 0.0)))
    add(c, "negative errors", "Spectrum", spec(err=with_nan(e, [1, 2], -0.01)))
    add(c, "infinite errors", "Spectrum", spec(err=with_nan(e, [8], np.inf)))
    add(c, "every error zero", "Spectrum", spec(err=np.zeros(n)))
    add(c, "negative photometric error", "Photometry", lambda: Photometry(BANDS, [19.0, 18.5], [0.02, -0.1]))

    c = "all masked"
    add(c, "mask all False", "Spectrum", spec(mask=np.zeros(n, bool)))
    add(c, "every flux NaN", "Spectrum", spec(flux=np.full(n, np.nan)))
    add(c, "every inverse variance 0", "read_spectrum", lambda: read_spectrum((w, f), ivar=np.zeros(n), z=0.1))
    add(c, "wave_range window with no pixel", "fit",
        lambda: fit(Spectrum(w, f, e, 0.1), cfg(data={"deredden": False, "wave_range": [100.0, 200.0]})))

    c = "non-monotonic/duplicated wavelengths"
    order = rng.permutation(n)
    dup = np.r_[w[:50], w[49:-1]]
    add(c, "reversed", "Spectrum", spec(wave=w[::-1]))
    add(c, "shuffled", "Spectrum", spec(wave=w[order]))
    add(c, "one duplicated wavelength", "Spectrum", spec(wave=dup))
    add(c, "shuffled, sort=True", "Spectrum", spec(wave=w[order], flux=f[order], err=e[order], sort=True))
    add(c, "duplicated, sort=True", "Spectrum", spec(wave=dup, sort=True))

    c = "mismatched lengths"
    add(c, "flux one pixel short", "Spectrum", spec(flux=f[:-1]))
    add(c, "err longer", "Spectrum", spec(err=np.r_[e, e[:3]]))
    add(c, "mask of another length", "Spectrum", spec(mask=np.ones(n - 5, bool)))
    add(c, "LSF array of another length", "Spectrum", spec(lsf_sigma_kms=np.full(7, 60.0)))
    add(c, "3 bands, 2 magnitudes", "Photometry", lambda: Photometry(BANDS + ["sdss2010-r"], [19.0, 18.0], [0.1] * 3))
    add(c, "(wave, flux, err) of different lengths", "read_spectrum", lambda: read_spectrum((w, f[:-3], e), z=0.1))

    c = "wavelength units"
    add(c, "log10(A)", "Spectrum", spec(wave=np.log10(w)))
    add(c, "micron", "Spectrum", spec(wave=w / 1e4))
    add(c, "nm", "Spectrum", spec(wave=w / 10.0))
    add(c, "negative wavelengths", "Spectrum", spec(wave=w - 5000.0))
    add(c, "a NaN wavelength", "Spectrum", spec(wave=with_nan(w, 10)))
    add(c, "astropy Quantity passed to Spectrum", "Spectrum", lambda: _quantity_spectrum(w, f, e))

    c = "bad z"
    for z in (-0.1, 30.0, np.nan, np.inf, "abc", None):
        add(c, f"z = {z!r}", "Spectrum", spec(z=z))
    add(c, "file without a redshift, no z=", "read_spectrum", lambda: read_spectrum(files["_good"]))

    c = "no line in range"
    uv = {"uv": {"type": "feii", "template": "vw01_uv"}}
    add(c, "only an out-of-range component", "fit", lambda: fit(Spectrum(w, f, e, 0.0), cfg(components=uv)))
    add(c, "out-of-range component dropped, fit goes on", "fit",
        lambda: fit(Spectrum(w, f, e, 0.0), cfg(components={**uv, "pl": {"type": "power_law"}})))
    add(c, "z = 2.5 leaves optical Fe II out", "fit",
        lambda: fit(Spectrum(w, f, e, 2.5), cfg(components={"op": {"type": "feii", "template": "bg92_optical"}})))

    c = "photometry sentinels"
    for mags, errs, label in (([-9999.0, 18.0], [0.1, 0.1], "-9999"), ([99.0, 18.0], [0.1, 0.1], "99"),
                              ([np.nan, 18.0], [0.1, 0.1], "NaN magnitude"), ([18.0, 18.0], [0.0, 0.1], "zero error"),
                              ([99.0, -9999.0], [0.1, 0.1], "every band a sentinel")):
        add(c, label, "Photometry", lambda m=mags, s=errs: Photometry(BANDS, m, s))
    add(c, "every band a sentinel, then fit", "fit",
        lambda: fit(Spectrum(w, f, e, 0.1), phot_cfg, Photometry(BANDS, [99.0, -9999.0], [0.1, 0.1])))

    c = "uncovered band"
    red = clean_spectrum(rng, 400, 5600.0, 9200.0)
    add(c, "u and g outside a 5600-9200 A spectrum", "fit",
        lambda: fit(Spectrum(*red, 0.1), phot_cfg, Photometry(BANDS, [19.0, 18.6], [0.02, 0.02])))

    c = "unknown band"
    add(c, "config band 'sdss2010-rr'", "fit",
        lambda: fit(Spectrum(w, f, e, 0.1), cfg(photometry={"bands": ["sdss2010-rr"]})))
    add(c, "photometry band the config does not list", "fit",
        lambda: fit(Spectrum(w, f, e, 0.1), phot_cfg, Photometry(["sdss2010-r"], [18.0], [0.02])))

    c = "unknown plugin name"
    add(c, "component 'powerlaw'", "load_config", lambda: load_config(cfg(components={"pl": {"type": "powerlaw"}})))
    add(c, "inference 'nutz'", "load_config", lambda: load_config(cfg(inference=[{"type": "nutz"}])))
    add(c, "aperture 'psf'", "load_config", lambda: load_config(cfg(aperture={"type": "psf"})))
    add(c, "photometric system 'nope'", "load_config",
        lambda: load_config(cfg(photometry={"system": "nope", "bands": ["sdss2010-r"]})))

    c = "bad prior override"
    for label, prior in (("unknown parameter", {"pl.nope": {"dist": "Normal", "loc": 0, "scale": 1}}),
                         ("unknown distribution", {"pl.alpha": {"dist": "Nrmal", "loc": 0, "scale": 1}}),
                         ("negative scale", {"pl.alpha": {"dist": "Normal", "loc": 0, "scale": -1}}),
                         ("text argument", {"pl.alpha": {"dist": "Normal", "loc": "a", "scale": 1}}),
                         ("not a table", {"pl.alpha": 3.0})):
        add(c, label, "fit", lambda p=prior: fit(Spectrum(w, f, e, 0.1), cfg(priors=p)))

    c = "config values"
    for label, section in (("unknown key", {"data": {"rvv": 3.1}}), ("buckets = 'abc'", {"data": {"buckets": "abc"}}),
                           ("one-edged wave_range", {"data": {"wave_range": [5000.0]}}),
                           ("negative E(B-V)", {"data": {"ebv": -0.1}}),
                           ("coverage = 3", {"photometry": {"coverage": 3}}),
                           ("unknown M_BH calibration", {"derived": {"mbh_calibrations": ["nope"]}}),
                           ("malformed TOML", None)):
        add(c, label, "load_config", (lambda: load_config("[[[")) if section is None
            else (lambda s=section: load_config(cfg(**s))))

    c = "DSPS file with wrong keys"
    import h5py

    with h5py.File(tmp / "ssp-wrong-keys.h5", "w") as h:
        h["ssp_wave"] = np.arange(10.0)
    (tmp / "ssp-not-hdf5.h5").write_bytes(b"not an HDF5 file")
    for fname in ("ssp-wrong-keys.h5", "ssp-not-hdf5.h5"):
        add(c, fname, "fit", lambda p=tmp / fname: fit(
            Spectrum(w, f, e, 0.1), cfg(components={"host": {"type": "host_dsps", "ssp_file": str(p)}})))

    c = "missing data file offline"
    add(c, "SFD dust map for ra/dec", "fit", _offline(lambda: fit(
        Spectrum(w, f, e, 0.1, ra=150.0, dec=2.0), cfg(data={"deredden": True}))))
    add(c, "registered spectrum by name", "read_spectrum",
        _offline(lambda: read_spectrum("sdss/spec-0332-52367-0639.fits")))
    add(c, "default DSPS SSP file", "fit",
        _offline(lambda: fit(Spectrum(w, f, e, 0.1), cfg(components={"host": {"type": "host_dsps"}}))))

    c = "malformed files"
    for name, path in files.items():
        if not name.startswith("_"):
            z = {} if "no z=" in name else {"z": 0.1}
            add(c, name, "read_spectrum", lambda p=path, kw=z: read_spectrum(p, **kw))
    add(c, "columns= that is not a dict", "read_spectrum", lambda: read_spectrum(files["_good"], z=0.1, columns=1))
    add(c, "format= unknown", "read_spectrum", lambda: read_spectrum(files["_good"], z=0.1, format="csv2"))

    c = "wrong types and shapes"
    add(c, "complex flux", "Spectrum", spec(flux=f.astype(complex)))
    add(c, "text errors", "Spectrum", spec(err=e.astype(str)))
    add(c, "2-D flux", "Spectrum", spec(flux=np.stack([f, f])))
    add(c, "boolean flux", "Spectrum", spec(flux=f > 1))
    add(c, "band list given as one string", "Photometry", lambda: Photometry("sdss2010-r", [18.0], [0.1]))
    add(c, "array instead of a Spectrum", "fit", lambda: fit(w, base))
    add(c, "vector parameter", "simulate", lambda: agnfit.simulate(BASE, {"pl.norm": np.ones(3)}))

    c = "mixed catalogue"
    rows = [_row("a", "0.1.0"), _row("b", "0.1.0"), _row("c", "0.0.9")]
    add(c, "two agnfit versions, mixed='warn'", "write_catalogue", lambda: _catalogue(rows, tmp / "cat-w", "warn"))
    add(c, "two agnfit versions, mixed='error'", "write_catalogue", lambda: _catalogue(rows, tmp / "cat-e", "error"))
    return out


def _quantity_spectrum(w, f, e):
    import astropy.units as u

    from agnfit import Spectrum

    return Spectrum(w * u.nm, f, e, 0.1)


def _row(name, version):
    return {"name": name, "z": 0.1, "agnfit_version": version, "schema_version": 1, "config_hash": "abc"}


def _catalogue(rows, path, mixed):
    from agnfit.io.catalogue import write_catalogue

    return write_catalogue(rows, path, mixed=mixed)


# ---------------------------------------------------------------- report


def report(all_cases: list[Case], seconds: float) -> int:
    width = max(len(c.name) for c in all_cases)
    by_cat: dict = {}
    for case in all_cases:
        by_cat.setdefault(case.category, []).append(case)
    for cat, cs in by_cat.items():
        print(f"\n== {cat} ({len(cs)} cases)")
        for case in cs:
            flag = "  SILENT NaN" if case.silent_nan else ""
            detail = " ".join(case.detail.split())
            print(f"  {case.name:<{width}}  {case.entry:<15} {case.outcome:<8}{flag}  {detail[:90]}")
    print(f"\n{'category':<38} cases  error  fallback  silent  escaped  silent NaN")
    for cat, cs in by_cat.items():
        counts = [sum(c.outcome == k for c in cs) for k in ("error", "fallback", "silent", "escaped")]
        print(f"{cat:<38} {len(cs):>5}  {counts[0]:>5}  {counts[1]:>8}  {counts[2]:>6}  {counts[3]:>7}  "
              f"{sum(c.silent_nan for c in cs):>10}")
    n = len(all_cases)
    handled = sum(c.outcome in ("error", "fallback") for c in all_cases)
    silent_nan = sum(c.silent_nan for c in all_cases)
    print(f"\n({seconds:.1f} s, seed {SEED})")
    print(f"{n} cases, {handled} handled, {silent_nan} silent NaN")
    return 0 if handled == n and silent_nan == 0 else 1


def main() -> int:
    os.environ.setdefault("AGNFIT_OFFLINE", "1")
    root = Path(__file__).resolve().parents[1]
    if "AGNFIT_DATA_DIR" not in os.environ and (root.parent / "shared" / "data").is_dir():
        os.environ["AGNFIT_DATA_DIR"] = str(root.parent / "shared" / "data")
    import agnfit  # noqa: F401  (float64 on, before any array is built)

    logging.basicConfig(level=logging.ERROR, stream=io.StringIO())  # records are counted, not printed
    logging.getLogger("agnfit").setLevel(logging.WARNING)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        all_cases = cases(Path(tmp))
        for case in all_cases:
            run_case(case)
    return report(all_cases, time.perf_counter() - t0)


if __name__ == "__main__":
    sys.exit(main())

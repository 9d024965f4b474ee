"""The cases of ``bench_bad_input.py``: a fixed, seeded list per category of README's "Errors and fallbacks".

Each case is ``(category, name, entry point, call)``; the call builds its bad
input and passes it to one public entry point. The fits share one small
configuration (:data:`BASE`, a power law fitted by MAP) so the benchmark
compiles little.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import os
import tempfile
from pathlib import Path

import numpy as np

SEED = 20240611
BASE = {"data": {"deredden": False}, "components": {"pl": {"type": "power_law"}},
        "inference": [{"type": "map", "max_steps": 200}]}
BANDS = ["sdss2010-u", "sdss2010-g"]


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
    """``call`` run under :func:`offline_without_data`."""

    def run():
        with offline_without_data():
            return call()
    return run


def _quantity_spectrum(w, f, e):
    import astropy.units as u

    from agnfit import Spectrum

    return Spectrum(w * u.nm, f, e, 0.1)


def _row(name, version):
    return {"name": name, "z": 0.1, "agnfit_version": version, "schema_version": 1, "config_hash": "abc"}


def _catalogue(rows, path, mixed):
    from agnfit.io.catalogue import write_catalogue

    return write_catalogue(rows, path, mixed=mixed)


@dataclasses.dataclass
class Kit:
    """What every group of cases draws on: a clean spectrum, configs, malformed files, the case list."""

    tmp: Path
    rng: np.random.Generator
    w: np.ndarray
    f: np.ndarray
    e: np.ndarray
    base: object
    phot_cfg: object
    files: dict
    out: list = dataclasses.field(default_factory=list)

    def add(self, category: str, name: str, entry: str, call) -> None:
        self.out.append((category, name, entry, call))

    def spec(self, **kw):
        """A call that builds a Spectrum of the clean spectrum with ``kw`` replaced."""
        from agnfit import Spectrum

        return lambda: Spectrum(**{"wave": self.w, "flux": self.f, "err": self.e, "z": 0.1, **kw})

    @staticmethod
    def cfg(**sections) -> dict:
        """:data:`BASE` with whole sections replaced."""
        return {**copy.deepcopy(BASE), **sections}


def spectrum_cases(k: Kit) -> None:
    """Spectrum, Photometry and in-memory read_spectrum: values, lengths, units, redshifts."""
    from agnfit import Photometry, Spectrum, fit, read_spectrum

    add, spec, cfg = k.add, k.spec, k.cfg
    w, f, e, n, rng, base, files = k.w, k.f, k.e, k.w.size, k.rng, k.base, k.files

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



def fit_cases(k: Kit) -> None:
    """fit() with components or bands the data cannot support (the few cases that compile)."""
    from agnfit import Photometry, Spectrum, fit

    add, cfg = k.add, k.cfg
    w, f, e, phot_cfg, rng = k.w, k.f, k.e, k.phot_cfg, k.rng

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



def config_cases(k: Kit) -> None:
    """Configurations: plugin names, priors, values, SSP files, reference data offline."""
    from agnfit import Spectrum, fit, load_config, read_spectrum

    add, cfg = k.add, k.cfg
    w, f, e, tmp = k.w, k.f, k.e, k.tmp

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



def file_cases(k: Kit) -> None:
    """Malformed spectrum files."""
    from agnfit import read_spectrum

    add, files = k.add, k.files

    c = "malformed files"
    for name, path in files.items():
        if not name.startswith("_"):
            z = {} if "no z=" in name else {"z": 0.1}
            add(c, name, "read_spectrum", lambda p=path, kw=z: read_spectrum(p, **kw))
    add(c, "columns= that is not a dict", "read_spectrum", lambda: read_spectrum(files["_good"], z=0.1, columns=1))
    add(c, "format= unknown", "read_spectrum", lambda: read_spectrum(files["_good"], z=0.1, format="csv2"))



def type_cases(k: Kit) -> None:
    """Wrong types and shapes at the boundaries, and catalogues of mixed provenance."""
    import agnfit
    from agnfit import Photometry, fit

    add, spec = k.add, k.spec
    w, f, e, base, tmp = k.w, k.f, k.e, k.base, k.tmp

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


def all_cases(tmp: Path) -> list[tuple]:
    """Every case, in a fixed order, with inputs drawn from one seeded generator."""
    from agnfit import load_config

    rng = np.random.default_rng(SEED)
    w, f, e = clean_spectrum(rng)
    kit = Kit(tmp, rng, w, f, e, load_config(BASE), load_config({**BASE, "photometry": {"bands": BANDS}}),
              _files(tmp, rng))
    for group in (spectrum_cases, fit_cases, config_cases, file_cases, type_cases):
        group(kit)
    return kit.out

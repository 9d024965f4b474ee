"""Hypothesis strategies for malformed spectra, photometry and spectrum files.

Shared by the property tests (``test_fuzz_hypothesis.py``). Every strategy
mixes plausible input with the ways real input goes wrong: NaN/inf, sentinels,
wrong units, wrong dtypes and shapes, truncated or corrupted files, missing or
mistyped columns, garbage text, wrong file extensions.
"""

from __future__ import annotations

import io

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

SPECIAL = [np.nan, np.inf, -np.inf, 0.0, -1.0, 1e-300, 1e300, -9999.0, 99.0]
BANDS = ["sdss2010-u", "sdss2010-g", "sdss2010-r", "sdss2010-i", "sdss2010-z", "decam2014-g", "sdss2010-rr", "nope"]


# ---------------------------------------------------------------- arrays


@st.composite
def mostly(draw, good, *bad, tenths_bad: int = 1):
    """``good`` most of the time, one of ``bad`` in about ``tenths_bad`` draws out of ten.

    (``st.one_of`` would pick each alternative about equally often; real input is mostly right.)
    Rare branches here are the *high* integers: hypothesis draws 0 more often than
    uniformly, and shrinks towards it, so minimal failing examples prefer the good input.
    """
    if bad and draw(st.integers(0, 9)) >= 10 - tenths_bad:
        return draw(st.one_of(*bad))
    return draw(good)


@st.composite
def with_specials(draw, base: np.ndarray) -> np.ndarray:
    """``base`` with a few entries replaced by NaN, inf, zero, sentinels or extreme values."""
    a = np.array(base, dtype=float)
    if a.size and draw(st.booleans()):
        idx = draw(st.lists(st.integers(0, a.size - 1), max_size=5))
        for i in idx:
            a[i] = draw(st.sampled_from(SPECIAL))
    return a


def odd_values(n: int):
    """Things that are not a length-n real vector: other dtypes, shapes, lengths, types."""
    return st.one_of(
        hnp.arrays(st.sampled_from([np.bool_, np.complex128, np.int16, np.float32]), n),
        hnp.arrays(np.float64, st.sampled_from([(n, 2), (), (max(n - 1, 0),), (n + 3,)])),
        st.just(np.array(["a"] * n)),
        st.lists(st.one_of(st.none(), st.floats(), st.text(max_size=2)), min_size=n, max_size=n),
        st.sampled_from([None, "abc", 3.0, {}, object()]),
    )


@st.composite
def wave_grids(draw, n: int) -> np.ndarray:
    """A wavelength grid that is right (A, increasing) or wrong in one of the usual ways."""
    lo = draw(st.floats(900.0, 9000.0))
    span = draw(st.floats(10.0, 20000.0))
    w = lo + span * np.linspace(0.0, 1.0, n)
    kind = draw(mostly(st.just("angstrom"), st.sampled_from(
        ["log10", "micron", "nm", "reversed", "duplicated", "shuffled", "negative", "nan", "int"]), tenths_bad=4))
    if kind == "log10":
        w = np.log10(w)
    elif kind == "micron":
        w = w / 1e4
    elif kind == "nm":
        w = w / 10.0
    elif kind == "reversed":
        w = w[::-1].copy()
    elif kind == "duplicated" and n > 2:
        w[n // 2] = w[n // 2 - 1]
    elif kind == "shuffled":
        w = np.asarray(draw(st.permutations(list(w))))
    elif kind == "negative" and n:
        w = w - w[n // 2]
    elif kind == "nan" and n:
        w[draw(st.integers(0, n - 1))] = np.nan
    elif kind == "int":
        w = np.round(w).astype(np.int64)
    return w


def flux_like(n: int, positive: bool = False):
    """Flux or error arrays of length n: smooth, noisy, extreme, with specials; sometimes not arrays at all.

    ``positive`` makes the plausible ones positive (errors), before the specials go in.
    """
    shapes = st.one_of(
        st.floats(1e-3 if positive else -1e3, 1e3).map(lambda c: np.full(n, c)),
        st.floats(1e-30, 1e30).map(lambda s: s * (1.0 + 0.1 * np.sin(np.arange(n)))),
        hnp.arrays(np.float64, n, elements=st.floats(0.0 if positive else None, width=64)),
    )
    return mostly(shapes.flatmap(with_specials), odd_values(n))


def scalars():
    """Scalar arguments (z, ebv, ra, flux_unit, ...): numbers, specials, text, None, arrays."""
    return st.one_of(
        st.floats(-1.0, 10.0), st.sampled_from([np.nan, np.inf, -1.0, 0.0, 1e-17, "0.1", "abc", None, True]),
        st.just(np.float32(0.5)), st.just(np.ones(2)),
    )


@st.composite
def spectrum_kwargs(draw) -> dict:
    """Keyword arguments for ``Spectrum(...)``, most of them plausible, many of them broken."""
    n = draw(mostly(st.integers(10, 60), st.integers(0, 9)))
    kw = {"wave": draw(mostly(wave_grids(n), odd_values(n))),
          "flux": draw(flux_like(n)), "err": draw(flux_like(n, positive=True)),
          "z": draw(mostly(st.floats(0.0, 3.0), scalars()))}
    if draw(st.booleans()):
        kw["mask"] = draw(mostly(st.one_of(hnp.arrays(np.bool_, n), hnp.arrays(np.int8, n)), odd_values(n)))
    if draw(st.booleans()):
        kw["lsf_sigma_kms"] = draw(mostly(st.one_of(st.floats(0, 200), hnp.arrays(np.float64, n, elements=st.floats(0, 200))), st.floats(-10, 0), odd_values(n)))
    for key in ("ebv", "ra", "dec", "flux_unit"):
        if draw(st.integers(0, 5)) == 5:
            kw[key] = draw(mostly(st.floats(0.0, 1.0), scalars(), tenths_bad=5))
    if draw(st.booleans()):
        kw["sort"] = True
    if draw(st.integers(0, 5)) == 5:
        kw["photometry"] = draw(st.sampled_from([[1, 2], "sdss2010-r", 3.0]))
    return kw


@st.composite
def photometry_args(draw) -> tuple:
    """``(bands, mags, errs)`` for ``Photometry``: sentinels, NaN, bad errors, wrong lengths and types."""
    nb = draw(st.integers(0, 6))
    bands = draw(mostly(
        st.lists(st.sampled_from(BANDS), min_size=nb, max_size=nb, unique=True),
        st.lists(st.sampled_from(BANDS), min_size=nb, max_size=nb),
        st.sampled_from(["sdss2010-r", None, 5, [None, "sdss2010-g"], ("a", 1)]),
    ))
    mags = draw(mostly(
        st.lists(mostly(st.floats(10, 30), st.sampled_from([-9999.0, 99.0, np.nan, np.inf]), tenths_bad=2),
                 min_size=nb, max_size=nb).map(np.asarray),
        odd_values(nb)))
    errs = draw(mostly(
        st.lists(mostly(st.floats(0.001, 1), st.sampled_from([0.0, np.nan, -1.0]), tenths_bad=2),
                 min_size=nb, max_size=nb).map(np.asarray),
        odd_values(nb)))
    return bands, mags, errs


# ---------------------------------------------------------------- files


def _fits_bytes(hdus) -> bytes:
    from astropy.io import fits

    buf = io.BytesIO()
    fits.HDUList(hdus).writeto(buf)
    return buf.getvalue()


#: numpy dtype of each numeric FITS column format
COLUMN_DTYPES = {"E": np.float32, "D": np.float64, "J": np.int32}


@st.composite
def fits_columns(draw, names, n: int):
    """FITS table columns named ``names``, each of a random format, length ``n`` (values may be broken)."""
    from astropy.io import fits

    cols = []
    for name in names:
        fmt = draw(mostly(st.sampled_from(["E", "D"]), st.sampled_from(["J", "L", "8A"]), tenths_bad=2))
        if fmt == "8A":
            arr = np.array(draw(st.lists(st.text("ab1. ", max_size=8), min_size=n, max_size=n)) or [], dtype="U8")
        elif fmt == "L":
            arr = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
        else:
            base = 3.55 + 1e-4 * np.arange(n) if name.lower() == "loglam" else (
                3800.0 + 2.0 * np.arange(n) if name.lower().startswith(("wave", "lam")) else np.ones(n))
            arr = draw(with_specials(base))
            if fmt == "J":  # integers cannot hold the NaN/inf specials
                arr = np.nan_to_num(arr, nan=0, posinf=0, neginf=0).clip(-2**31, 2**31 - 1)
            arr = arr.astype(COLUMN_DTYPES[fmt])
        cols.append(fits.Column(name=name, format=fmt, array=arr))
    return cols


@st.composite
def sdss_like_file(draw) -> bytes:
    """An SDSS spec-*.fits lookalike (COADD + SPECOBJ), with columns dropped, renamed or mistyped."""
    from astropy.io import fits

    n = draw(mostly(st.integers(10, 40), st.integers(0, 9)))
    names = ["loglam", "flux", "ivar", "and_mask", "wdisp"]
    names = [nm for nm in names if draw(st.integers(0, 12)) < 12]
    if draw(st.integers(0, 8)) == 8:
        names = [nm.upper() if draw(st.booleans()) else nm + "_x" for nm in names]
    coadd = fits.BinTableHDU.from_columns(draw(fits_columns(names, n)), name="COADD")
    z = draw(mostly(st.floats(0, 3), st.floats(-1, 9), st.sampled_from([np.nan, np.inf])))
    specobj = fits.BinTableHDU.from_columns([fits.Column(name="Z", format="E", array=np.array([z], np.float32)),
                                            fits.Column(name="PLUG_RA", format="D", array=np.array([10.0]))],
                                            name="SPECOBJ")
    return _fits_bytes([fits.PrimaryHDU(), coadd, specobj][: draw(st.integers(2, 3))])


@st.composite
def fits_table_file(draw) -> bytes:
    """A FITS binary table with random (often wrong or missing) spectrum columns and Z keyword."""
    from astropy.io import fits

    n = draw(mostly(st.integers(10, 40), st.integers(0, 9)))
    pool = ["wave", "wavelength", "loglam", "flux", "err", "ivar", "sigma", "mask", "foo"]
    names = draw(mostly(st.sampled_from([["wave", "flux", "err"], ["loglam", "flux", "ivar", "mask"]]),
                        st.lists(st.sampled_from(pool), unique=True, max_size=5), tenths_bad=4))
    hdu = fits.BinTableHDU.from_columns(draw(fits_columns(names, n)) or [fits.Column("foo", "E", array=np.ones(n))])
    zkey = draw(mostly(st.floats(0, 3), st.none(), st.floats(-1, 9), st.sampled_from(["abc", "0.2"]), tenths_bad=3))
    if zkey is not None:
        hdu.header["Z"] = zkey
    return _fits_bytes([fits.PrimaryHDU(), hdu])


@st.composite
def spspec_like_file(draw) -> bytes:
    """A DR7 spSpec lookalike: a 2-D primary image with COEFF0/COEFF1 and Z header values (maybe bad)."""
    from astropy.io import fits

    rows, n = draw(st.sampled_from([(4, 30), (5, 12), (4, 0), (3, 20)]))
    img = draw(with_specials(np.ones(rows * n))).reshape(rows, n)
    h = fits.PrimaryHDU(img)
    for key, vals in (("COEFF0", [3.58, "abc", 0.5]), ("COEFF1", [1e-4, 0.0, -1e-4]), ("Z", [0.1, "abc", -5.0])):
        if draw(st.integers(0, 4)) < 4:
            h.header[key] = draw(st.sampled_from(vals))
    return _fits_bytes([h])


TOKENS = ["4000", "4000.5", "1", "0.1", "nan", "inf", "-", "x", "", "1e400", "1,2", "-9999", "0"]


@st.composite
def text_table_file(draw) -> bytes:
    """A text table: a header line (or none) and rows of numbers with bad tokens and ragged rows."""
    sep = draw(st.sampled_from([" ", ",", "\t"]))
    header = draw(st.sampled_from(["wave flux err", "# wave flux err", "wavelength,flux,ivar", "", "a b",
                                   "# %ECSV 1.0", "lambda flux"]))
    n = draw(mostly(st.integers(10, 40), st.integers(0, 9)))
    lines = [header.replace(" ", sep)] if header else []
    for i in range(n):
        row = [f"{3800 + 2 * i}", f"{1.0 + 0.01 * i}", "0.1"]
        if draw(st.integers(0, 15)) == 15:
            row[draw(st.integers(0, 2))] = draw(st.sampled_from(TOKENS))
        if draw(st.integers(0, 30)) == 30:
            row = row[: draw(st.integers(0, 4))]
        lines.append(sep.join(row))
    return "\n".join(lines).encode()


@st.composite
def mutated(draw, files) -> bytes:
    """A file from ``files``, maybe truncated at a random byte or with random bytes overwritten."""
    data = draw(files)
    how = draw(mostly(st.just("as is"), st.sampled_from(["truncate", "flip"]), tenths_bad=5))
    if how == "truncate" and data:
        data = data[: draw(st.integers(0, len(data) - 1))]
    elif how == "flip" and data:
        b = bytearray(data)
        for _ in range(draw(st.integers(1, 8))):
            b[draw(st.integers(0, len(b) - 1))] = draw(st.integers(0, 255))
        data = bytes(b)
    return data


class FileCase:
    """File content and name suffix; its repr stays short so that failing examples stay readable."""

    def __init__(self, content: bytes, suffix: str):
        self.content, self.suffix = content, suffix

    def __repr__(self) -> str:
        return f"FileCase({len(self.content)} bytes starting {self.content[:60]!r}..., suffix={self.suffix!r})"


FITS_SUFFIXES = [".fits", ".fit", ".fits.gz"]
TEXT_SUFFIXES = [".txt", ".csv", ".dat", ".ecsv"]
ODD_SUFFIXES = [".h5", "", ".fits.gz", ".txt", ".fits"]


@st.composite
def spectrum_files(draw) -> FileCase:
    """:class:`FileCase` of a spectrum file gone wrong in one of many ways (or, sometimes, not at all)."""
    kind = draw(st.sampled_from(["sdss", "fits table", "spspec", "text", "garbage"]))
    if kind == "garbage":
        content = draw(st.one_of(st.just(b""), st.binary(max_size=3000),
                                 st.just(b"SIMPLE  =                    T" + b" " * 50)))
        return FileCase(content, draw(st.sampled_from(FITS_SUFFIXES + TEXT_SUFFIXES + ODD_SUFFIXES)))
    files = {"sdss": sdss_like_file(), "fits table": fits_table_file(), "spspec": spspec_like_file(),
             "text": text_table_file()}[kind]
    right = st.sampled_from(TEXT_SUFFIXES if kind == "text" else FITS_SUFFIXES[:2])
    suffix = draw(mostly(right, st.sampled_from(ODD_SUFFIXES), tenths_bad=2))
    return FileCase(draw(mutated(files)), suffix)


@st.composite
def reader_options(draw) -> dict:
    """Keyword arguments for ``read_spectrum``: a redshift or not, a format, and sometimes a stray option."""
    kw = {}
    if draw(st.booleans()):
        kw["z"] = draw(mostly(st.floats(0.0, 3.0), scalars()))
    if draw(st.integers(0, 5)) == 5:
        kw["format"] = draw(st.sampled_from(["sdss-spec", "sdss-spspec", "fits-table", "table", "desi-coadd", "nope"]))
    if draw(st.integers(0, 8)) == 8:
        kw[draw(st.sampled_from(["fiber", "hdu", "columns", "targetid", "bogus"]))] = draw(
            st.sampled_from([1, 0, "x", {"wave": "nope"}, None]))
    return kw

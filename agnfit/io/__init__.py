"""Spectrum readers: files and in-memory spectra to a validated :class:`~agnfit.core.data.Spectrum`.

>>> from agnfit.io import read_spectrum
>>> spec = read_spectrum("sdss/spec-0332-52367-0639.fits")        # doctest: +SKIP
>>> spec = read_spectrum("coadd-main-dark-10032.fits", targetid=39627652595714901)  # doctest: +SKIP

See :mod:`agnfit.io.readers` for the dispatch and one module per layout:
:mod:`~agnfit.io.sdss`, :mod:`~agnfit.io.desi`, :mod:`~agnfit.io.tables`,
:mod:`~agnfit.io.quantity`.
"""

from .readers import FORMATS, read_spectrum
from .sdss import DEFAULT_AND_MASK_BITS, SPPIXMASK

__all__ = ["read_spectrum", "FORMATS", "DEFAULT_AND_MASK_BITS", "SPPIXMASK"]

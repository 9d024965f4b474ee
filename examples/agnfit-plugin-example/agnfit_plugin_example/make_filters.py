"""Write the ``medband`` response tables (ECSV) from :func:`~agnfit_plugin_example.medband.tophat_response`.

The tables shipped in ``filters/`` were written by this script; run it again
after changing the filter definitions::

    python -m agnfit_plugin_example.make_filters [OUTDIR]

OUTDIR defaults to the package's own ``filters/`` folder.
"""

from __future__ import annotations

import sys
from pathlib import Path

from .medband import BANDS, CENTRES_A, EDGE_A, FWHM_A, GROUP, PEAK, tophat_response

DESCRIPTION = (
    "Idealised medium-band filter: top hat of {fwhm:.0f} A FWHM centred at {centre:.0f} A with logistic "
    "edges (scale {edge:.0f} A) and peak throughput {peak}; not the measured curve of any instrument."
)


def write_tables(outdir) -> list[Path]:
    """Write one ``<band>.ecsv`` per medband filter into ``outdir``; returns the paths."""
    from astropy.table import Table

    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    paths = []
    for band, centre in zip(BANDS, CENTRES_A):
        wave, resp = tophat_response(centre)
        meta = {
            "group_name": GROUP,
            "band_name": band.split("-", 1)[1],
            "description": DESCRIPTION.format(fwhm=FWHM_A, centre=centre, edge=EDGE_A, peak=PEAK),
        }
        t = Table({"wavelength": wave, "response": resp.round(8)}, meta=meta)
        t["wavelength"].unit = "Angstrom"
        path = outdir / f"{band}.ecsv"
        t.write(path, format="ascii.ecsv", overwrite=True)
        paths.append(path)
    return paths


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    outdir = Path(argv[0]) if argv else Path(__file__).parent / "filters"
    for p in write_tables(outdir):
        print(p)


if __name__ == "__main__":
    main()

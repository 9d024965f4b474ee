"""The ``agnfit`` command line.

    agnfit plugins                         list every registered plugin with its origin
    agnfit config --default > fit.toml     write the commented default configuration
    agnfit fit SPECTRUM --config fit.toml --out DIR
    agnfit batch INPUT --config fit.toml --out DIR

Exit codes: 0 success, 1 a fit ran but did not converge, 2 bad input or
configuration (an agnfit error, printed without a traceback).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from .errors import AgnfitError

EXIT_OK, EXIT_NOT_CONVERGED, EXIT_ERROR = 0, 1, 2


def cmd_plugins(args) -> int:
    from .registry import get_registry

    entries = get_registry().entries()
    kinds = [args.kind] if args.kind else sorted({e.kind for e in entries})
    for kind in kinds:
        rows = [e for e in entries if e.kind == kind]
        print(f"{kind} ({len(rows)})")
        for e in sorted(rows, key=lambda e: e.name):
            print(f"  {e.name:40s} {e.origin}")
    return EXIT_OK


def cmd_config(args) -> int:
    from .config import load_config
    from .defaults import DEFAULT_TOML

    if args.default:
        sys.stdout.write(DEFAULT_TOML)
        return EXIT_OK
    if args.check:
        cfg = load_config(args.check)
        print(f"{args.check}: valid ({len(cfg.components)} components, {len(cfg.inference)} inference stage(s))")
        return EXIT_OK
    print("nothing to do: use --default or --check FILE", file=sys.stderr)
    return EXIT_ERROR


def cmd_fit(args) -> int:
    from .config import load_config
    from .fit import fit
    from .io import read_spectrum
    from .io.results import save_result

    cfg = load_config(args.config)
    kw = {"z": args.z} if args.z is not None else {}
    spec = read_spectrum(args.spectrum, **kw)
    res = fit(spec, cfg)
    out = Path(args.out)
    paths = save_result(res, out)
    if args.plot:
        from .plots import plot_result

        paths += plot_result(res, out / res.name)
    print(f"{res.name}: {res.info['message']}; chi2_red = {res.info['chi2_reduced']:.3f}")
    for k in sorted(res.derived):
        if k.startswith(("host_fraction", "L", "log_mbh", "psf.")) or k.endswith(".fwhm"):
            s = res.derived[k]
            print(f"  {k:36s} {s['median']:.5g}  [{s['p16']:.5g}, {s['p84']:.5g}]")
    for p in paths:
        print(f"wrote {p}")
    return EXIT_OK if res.converged else EXIT_NOT_CONVERGED


def cmd_batch(args) -> int:
    from .batch import BatchOptions, run_batch

    opts = BatchOptions(out=Path(args.out), config=args.config, batch_size=args.batch_size,
                        scheduler=args.scheduler, workers=args.workers, progress=not args.no_progress,
                        mixed=args.mixed)
    summary = run_batch(args.input, opts)
    print(summary.describe())
    return EXIT_OK if summary.n_failed == 0 else EXIT_NOT_CONVERGED


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="agnfit", description="Quasar/AGN spectral decomposition with PSF photometry.")
    p.add_argument("-v", "--verbose", action="store_true", help="log progress at INFO level")
    sub = p.add_subparsers(dest="command", required=True)

    sp = sub.add_parser("plugins", help="list registered components, filters, backends ... with their origin")
    sp.add_argument("--kind", help="only this kind (component, filter, inference, ...)")
    sp.set_defaults(func=cmd_plugins)

    sp = sub.add_parser("config", help="write the default configuration or check a file")
    sp.add_argument("--default", action="store_true", help="print the commented default TOML")
    sp.add_argument("--check", metavar="FILE", help="validate a TOML configuration")
    sp.set_defaults(func=cmd_config)

    sp = sub.add_parser("fit", help="fit one spectrum file")
    sp.add_argument("spectrum", help="spectrum file (SDSS spec-*.fits, DESI coadd, FITS/ASCII table)")
    sp.add_argument("--config", help="TOML configuration (default: the built-in default model)")
    sp.add_argument("--out", default="agnfit_out", help="output directory")
    sp.add_argument("--z", type=float, help="redshift (overrides the file's)")
    sp.add_argument("--no-plot", dest="plot", action="store_false", help="skip the figures")
    sp.set_defaults(func=cmd_fit)

    sp = sub.add_parser("batch", help="fit many spectra: a directory, a glob or a table of files")
    sp.add_argument("input", help="directory, glob pattern, or a table (CSV/FITS) with a 'file' column")
    sp.add_argument("--config", help="TOML configuration")
    sp.add_argument("--out", default="agnfit_batch", help="output directory (per-object results + catalogue)")
    sp.add_argument("--batch-size", type=int, default=32, help="objects per vmapped batch")
    sp.add_argument("--scheduler", help="Dask scheduler address tcp://host:port, or 'local' for a LocalCluster")
    sp.add_argument("--workers", type=int, default=2, help="workers of the LocalCluster")
    sp.add_argument("--no-progress", action="store_true", help="no progress bar")
    sp.add_argument("--mixed", choices=("warn", "error", "ignore"), default="warn",
                    help="objects fitted by different agnfit versions or configs in one catalogue: "
                         "warn (default), error (write no catalogue) or ignore")
    sp.set_defaults(func=cmd_batch)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except AgnfitError as exc:
        print(f"agnfit: error: {exc}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())

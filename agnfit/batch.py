"""Catalogue runner: fit many spectra, isolate failures, resume, optionally on Dask.

Layout of the output directory::

    DIR/objects/<name>.h5     one result per object, written atomically
    DIR/failures.jsonl        one line per failed object (name, input, error type, message)
    DIR/catalogue.fits        one row per finished object (+ .parquet or .csv)

Rerunning with the same DIR skips every object whose result file exists and
records the same input hash and config (changed inputs are refitted), so a
run killed at any moment loses at most the objects in flight and never
duplicates one. Results record the package version, result schema and
config; when the catalogue is assembled, objects fitted differently (left
over from an older agnfit or an earlier configuration) are reported by group
(``BatchOptions.mixed``: warn, error or ignore; see :mod:`agnfit.io.catalogue`).
"""

from __future__ import annotations

import dataclasses
import glob
import json
import logging
import os
import time
from pathlib import Path

from .errors import AgnfitError, InputError

log = logging.getLogger(__name__)


@dataclasses.dataclass
class BatchOptions:
    """Options of :func:`run_batch`.

    Attributes:
        out: output directory.
        config: Config, dict, TOML path or None (default model).
        batch_size: objects per task (and per vmapped batch).
        scheduler: None (run here), "local" (Dask LocalCluster) or a Dask address tcp://host:port.
        workers: LocalCluster workers.
        progress: show a progress bar (rate, ETA).
        limit: fit at most this many objects (None: all).
        mixed: when the catalogue holds objects fitted by different agnfit
            versions, result schemas or configurations (e.g. results left
            in ``out`` by an earlier run): "warn" (default), "error" (raise
            InputError, write no catalogue) or "ignore".
    """

    out: Path
    config: object = None
    batch_size: int = 32
    scheduler: str | None = None
    workers: int = 2
    progress: bool = True
    limit: int | None = None
    mixed: str = "warn"


@dataclasses.dataclass
class BatchSummary:
    """Counts and wall time (s) of one batch run."""
    n_total: int
    n_done: int
    n_skipped: int
    n_failed: int
    seconds: float
    catalogue: list

    def describe(self) -> str:
        """One line: counts, throughput (objects/s) and where the catalogue is."""
        rate = self.n_done / self.seconds if self.seconds > 0 else float("nan")
        return (f"{self.n_total} objects: {self.n_done} fitted, {self.n_skipped} already done, "
                f"{self.n_failed} failed; {self.seconds:.1f} s ({rate:.2f} objects/s); catalogue: "
                + ", ".join(str(p) for p in self.catalogue))


def list_inputs(source) -> list[dict]:
    """Input records ``{"file": path, "z": optional}`` from a directory, glob, table or list."""
    if isinstance(source, (list, tuple)):
        return [s if isinstance(s, dict) else {"file": str(s)} for s in source]
    src = str(source)
    p = Path(src)
    if p.is_dir():
        files = sorted(str(f) for f in p.iterdir() if f.suffix.lower() in (".fits", ".fit", ".fz", ".gz", ".txt", ".csv", ".dat"))
        return [{"file": f} for f in files]
    if p.is_file() and p.suffix.lower() in (".csv", ".ecsv", ".fits", ".fit") and _is_table_of_files(p):
        from astropy.table import Table

        t = Table.read(p)
        base = p.parent
        rows = []
        for r in t:
            rec = {k: (r[k].item() if hasattr(r[k], "item") else r[k]) for k in t.colnames}
            f = Path(str(rec["file"]))
            rec["file"] = str(f if f.is_absolute() else base / f)
            rows.append(rec)
        return rows
    files = sorted(glob.glob(src))
    if not files:
        raise InputError(f"batch input {src!r} is not a directory, a table with a 'file' column, or a glob matching files")
    return [{"file": f} for f in files]


def _is_table_of_files(p: Path) -> bool:
    try:
        from astropy.table import Table

        return "file" in Table.read(p).colnames
    except Exception:
        return False


def object_name(rec: dict) -> str:
    """The object's name: the input record's ``name``, else the file name without extensions."""
    return rec.get("name") or Path(rec["file"]).name.split(".")[0]


def _read(rec: dict):
    from .io import read_spectrum

    kw = {"z": float(rec["z"])} if rec.get("z") not in (None, "") else {}
    spec = read_spectrum(rec["file"], **kw)
    spec.name = object_name(rec)
    return spec


def _catalogue_items(objdir: Path) -> list[Path]:
    """One entry per saved result: its ``.row.json`` row, or the ``.h5`` itself when the row is missing.

    A run killed between writing an object's result and its row leaves the
    result without a row; the object counts as done on resume, so its row is
    read from the result instead of being lost from the catalogue.
    """
    items = []
    for h5 in sorted(objdir.glob("*.h5")):
        row = h5.with_name(h5.name[: -len(".h5")] + ".row.json")
        items.append(row if row.is_file() else h5)
    return items


def _done(path: Path, digest: str, config_toml: str) -> bool:
    if not path.is_file():
        return False
    try:
        from .config import Config
        from .io.results import load_result

        res = load_result(path)
        cfg = Config.from_dict(res.config, validate_plugins=False).to_toml()
    except Exception:  # an unreadable leftover is refitted, never trusted
        return False
    return res.info.get("data_hash") == digest and cfg == config_toml


def fit_records(records: list[dict], out: str, config_toml: str) -> list[dict]:
    """Fit ``records`` (one task); write each result; return one status per record.

    Runs in the current process or on a Dask worker. Never raises for a bad object.
    """
    from .config import load_config
    from .fit import data_hash, fit
    from .io.results import result_filename, save_result

    cfg = load_config(config_toml)
    objdir = Path(out) / "objects"
    objdir.mkdir(parents=True, exist_ok=True)
    statuses = []
    for rec in records:
        name = object_name(rec)
        t0 = time.perf_counter()
        try:
            spec = _read(rec)
            digest = data_hash(spec, spec.photometry if cfg.photometry["bands"] else None)
            if _done(objdir / f"{result_filename(name)}.h5", digest, config_toml):
                statuses.append({"name": name, "status": "skipped"})
                continue
            res = fit(spec, cfg)
            save_result(res, objdir)
            statuses.append({"name": name, "status": "done", "converged": res.converged,
                             "seconds": time.perf_counter() - t0})
        except (AgnfitError, OSError, ValueError, KeyError, TypeError) as exc:
            statuses.append({"name": name, "status": "failed", "file": rec["file"],
                             "error": type(exc).__name__, "message": str(exc)[:2000]})
    return statuses


def _record_failures(out: Path, statuses: list[dict]) -> None:
    bad = [s for s in statuses if s["status"] == "failed"]
    if not bad:
        return
    with open(out / "failures.jsonl", "a") as fh:
        for s in bad:
            fh.write(json.dumps(s) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def _chunks(seq, n):
    return [seq[i : i + n] for i in range(0, len(seq), n)]


def _client(opts: BatchOptions):
    from dask.distributed import Client, LocalCluster

    if opts.scheduler == "local":
        cluster = LocalCluster(n_workers=opts.workers, threads_per_worker=1, processes=True, dashboard_address=None)
        return Client(cluster), cluster
    return Client(opts.scheduler), None


def run_batch(source, opts: BatchOptions) -> BatchSummary:
    """Fit every input of ``source``; see the module docstring for the output layout."""
    from tqdm.auto import tqdm

    from .config import load_config

    out = Path(opts.out)
    out.mkdir(parents=True, exist_ok=True)
    config_toml = load_config(opts.config).to_toml()
    records = list_inputs(source)
    if opts.limit is not None:
        records = records[: opts.limit]
    tasks = _chunks(records, max(1, opts.batch_size))
    t0 = time.perf_counter()
    statuses: list[dict] = []
    bar = tqdm(total=len(records), unit="obj", disable=not opts.progress, smoothing=0.1)
    if opts.scheduler:
        client, cluster = _client(opts)
        try:
            from dask.distributed import as_completed

            futures = [client.submit(fit_records, t, str(out), config_toml, pure=False) for t in tasks]
            for fut in as_completed(futures):
                st = fut.result()
                _record_failures(out, st)
                statuses += st
                bar.update(len(st))
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    else:
        for t in tasks:
            st = fit_records(t, str(out), config_toml)
            _record_failures(out, st)
            statuses += st
            bar.update(len(st))
    bar.close()
    from .io.results import write_catalogue

    rows = _catalogue_items(out / "objects")
    catalogue = write_catalogue(rows, out / "catalogue", mixed=opts.mixed) if rows else []
    return BatchSummary(
        n_total=len(records),
        n_done=sum(s["status"] == "done" for s in statuses),
        n_skipped=sum(s["status"] == "skipped" for s in statuses),
        n_failed=sum(s["status"] == "failed" for s in statuses),
        seconds=time.perf_counter() - t0,
        catalogue=catalogue,
    )

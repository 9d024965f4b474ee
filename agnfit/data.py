"""The reference-data file registry.

Every external file agnfit reads is registered (through the
``register_data_files`` hook) with its public URL and sha256. :func:`fetch`
resolves a registered relative path to a local file:

1. ``$AGNFIT_DATA_DIR/<path>`` if that variable is set and the file exists
   (the directory mirrors the registry layout; tests and CI point it at a
   local copy);
2. otherwise the download cache (``$AGNFIT_CACHE_DIR``, default
   ``~/.cache/agnfit``), downloading and checking the sha256 on first use,
   unless ``AGNFIT_OFFLINE=1``.

Failures raise :class:`agnfit.errors.DataFileError` naming the file, its URL
and the variable to set.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
from pathlib import Path

from .errors import DataFileError

log = logging.getLogger(__name__)

DATA_DIR_VAR = "AGNFIT_DATA_DIR"
CACHE_DIR_VAR = "AGNFIT_CACHE_DIR"
OFFLINE_VAR = "AGNFIT_OFFLINE"


def data_dir() -> Path | None:
    """The local data copy named by ``AGNFIT_DATA_DIR``, or None."""
    d = os.environ.get(DATA_DIR_VAR)
    return Path(d).expanduser() if d else None


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_DIR_VAR, "~/.cache/agnfit")).expanduser()


def registered_files() -> dict:
    """``{relative_path: (url, sha256)}`` for every registered data file."""
    from .registry import get_registry

    reg = get_registry()
    return {name: reg.get("data_file", name) for name in reg.names("data_file")}


@functools.lru_cache(maxsize=None)
def _sha256(path: str, mtime: float) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _verify(path: Path, sha: str, url: str) -> Path:
    got = _sha256(str(path), path.stat().st_mtime)
    if sha and got != sha:
        raise DataFileError(
            f"{path} fails its checksum (sha256 {got}, expected {sha}); "
            f"delete it and fetch it again from {url}"
        )
    return path


def fetch(relpath: str) -> Path:
    """Local path of registered data file ``relpath`` (downloaded and verified if needed)."""
    files = registered_files()
    if relpath not in files:
        raise DataFileError(f"{relpath!r} is not a registered data file; registered: {sorted(files)}")
    url, sha = files[relpath]
    local = data_dir()
    if local is not None and (local / relpath).is_file():
        return _verify(local / relpath, sha, url)
    where = f"{DATA_DIR_VAR}={local}" if local is not None else f"{DATA_DIR_VAR} is not set"
    if os.environ.get(OFFLINE_VAR, "") not in ("", "0"):
        raise DataFileError(
            f"data file {relpath!r} not found ({where}) and {OFFLINE_VAR} forbids downloading it. "
            f"Get it from {url} and put it at ${DATA_DIR_VAR}/{relpath}, or set {DATA_DIR_VAR} "
            f"to a directory that has it."
        )
    target = cache_dir() / relpath
    if target.is_file():
        return _verify(target, sha, url)
    try:
        import pooch

        log.info("downloading %s from %s", relpath, url)
        path = pooch.retrieve(url, known_hash=f"sha256:{sha}", fname=target.name, path=target.parent, progressbar=False)
    except Exception as exc:  # network, HTTP, checksum: all are the same failure for the user
        raise DataFileError(
            f"could not download data file {relpath!r} from {url} ({type(exc).__name__}: {exc}); "
            f"{where}. Download it by hand into ${DATA_DIR_VAR}/{relpath} or set {DATA_DIR_VAR} "
            f"to a directory with a copy."
        ) from exc
    return Path(path)


def file_path(path_or_name: str | os.PathLike) -> Path:
    """A user file path if it exists, else a registered data file of that name."""
    p = Path(path_or_name).expanduser()
    if p.is_file():
        return p
    return fetch(str(path_or_name))


def configure_dustmaps() -> Path:
    """Point ``dustmaps`` at the SFD maps of the registry; returns its data_dir."""
    ngp = fetch("dust/sfd/SFD_dust_4096_ngp.fits")
    fetch("dust/sfd/SFD_dust_4096_sgp.fits")
    from dustmaps.config import config

    root = ngp.parent.parent.parent  # <root>/dust/sfd/file -> dustmaps' data_dir is <root>/dust
    config["data_dir"] = str(root / "dust")
    return root / "dust"

"""Test set-up: the data registry points at ../shared/data unless AGNFIT_DATA_DIR is set."""

import contextlib
import logging
import os
from pathlib import Path

import jax
import pytest

ROOT = Path(__file__).resolve().parents[1]
_default = ROOT.parent / "shared" / "data"
if "AGNFIT_DATA_DIR" not in os.environ and _default.is_dir():
    os.environ["AGNFIT_DATA_DIR"] = str(_default)
os.environ.setdefault("AGNFIT_OFFLINE", "1")

import agnfit  # noqa: E402,F401  (enables float64 before any test builds arrays)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    d = os.environ.get("AGNFIT_DATA_DIR")
    if not d or not Path(d).is_dir():
        pytest.skip("reference data not available (set AGNFIT_DATA_DIR)")
    return Path(d)


@pytest.fixture(scope="session")
def sdss_example(data_dir) -> Path:
    return data_dir / "sdss" / "spec-0332-52367-0639.fits"


@contextlib.contextmanager
def _compilations():
    """Collect JAX's compilation log messages inside the block, each prefixed with its thread's name."""
    msgs: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record):
            if "Compiling" in record.getMessage():
                msgs.append(f"[{record.threadName}] {record.getMessage()}")

    handler = Collect(level=logging.DEBUG)
    logger = logging.getLogger("jax")
    logger.addHandler(handler)
    old = jax.config.jax_log_compiles
    jax.config.update("jax_log_compiles", True)
    try:
        yield msgs
    finally:
        jax.config.update("jax_log_compiles", old)
        logger.removeHandler(handler)


@pytest.fixture
def compilations():
    """A context manager collecting JAX's "Compiling ..." log messages inside its block."""
    return _compilations

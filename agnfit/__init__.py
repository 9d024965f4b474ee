"""agnfit: quasar/AGN spectral decomposition jointly with PSF photometry, on JAX.

Float64 is enabled on import: the likelihood sums ~10^4 pixels and the
synthetic magnitudes integrate steep filter edges, where float32 loses the
precision that the optimiser and sampler need (dsps also enables it).
"""

import os as _os

# agnfit runs NUTS chains and fit_batch lanes in threads, one per usable core
# (plugins.map.cpu_lanes); XLA's own intra-op thread pool inside each compiled program
# then competes with them for the same cores. Unless the user's XLA_FLAGS already say how
# to thread (or AGNFIT_XLA_INTRA_OP=1), each program runs on one thread. Set before JAX
# creates its CPU client, i.e. effective when agnfit is imported before any JAX computation.
_XLA_ONE_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
_flags = _os.environ.get("XLA_FLAGS", "")
if _os.environ.get("AGNFIT_XLA_INTRA_OP") != "1" and not any(
    k in _flags for k in ("xla_cpu_multi_thread_eigen", "intra_op_parallelism_threads")
):
    _os.environ["XLA_FLAGS"] = f"{_flags} {_XLA_ONE_THREAD}".strip()

import jax as _jax  # noqa: E402

_jax.config.update("jax_enable_x64", True)
# Persistent compilation cache: a new process reuses the compiled fit of a model
# structure. Location: $JAX_COMPILATION_CACHE_DIR, else $AGNFIT_CACHE_DIR/jax, else ~/.cache/agnfit/jax.
if not _jax.config.jax_compilation_cache_dir:
    _jax.config.update(
        "jax_compilation_cache_dir",
        _os.path.join(_os.path.expanduser(_os.environ.get("AGNFIT_CACHE_DIR", "~/.cache/agnfit")), "jax"),
    )
# JAX caches only programs that took >= 1 s to compile by default; a fit is made of
# many sub-second ones too (derived quantities, model spectra), so cache all of them
# unless the user chose a threshold ($JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS).
if "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS" not in _os.environ:
    _jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)

from .errors import (  # noqa: E402
    AgnfitError,
    AgnfitWarning,
    ConfigError,
    ConvergenceWarning,
    DataFileError,
    FitError,
    InputError,
    InputTypeError,
    PluginError,
)
from .config import Config, load_config, save_config, default_config  # noqa: E402
from .core.data import Photometry, Spectrum  # noqa: E402
from .core.result import FitResult  # noqa: E402
from .io import read_spectrum  # noqa: E402
from .fit import fit  # noqa: E402
from .batchfit import fit_batch  # noqa: E402
from .simulate import Observation, simulate  # noqa: E402
from .qsofit import QSOFit, build_default_prior_config  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "AgnfitError",
    "AgnfitWarning",
    "ConfigError",
    "ConvergenceWarning",
    "DataFileError",
    "FitError",
    "InputError",
    "InputTypeError",
    "PluginError",
    "Config",
    "load_config",
    "save_config",
    "default_config",
    "Photometry",
    "Spectrum",
    "FitResult",
    "read_spectrum",
    "fit",
    "fit_batch",
    "Observation",
    "simulate",
    "QSOFit",
    "build_default_prior_config",
]

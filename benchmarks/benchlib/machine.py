"""What machine a benchmark ran on, and how much memory it used.

Timings are only comparable on the same machine, JAX version and platform, so
every script prints this description first.
"""

from __future__ import annotations

import os
import platform
import resource
import sys


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (Linux), else ``platform.processor()``."""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.lower().startswith(("model name", "hardware", "cpu model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def usable_cpus() -> int:
    """CPUs this process may run on (the affinity mask), else the CPU count."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def describe_machine() -> dict:
    """CPU model and count, load, OS, Python, JAX version, platform and devices, agnfit version."""
    import jax

    from importlib import metadata

    try:
        agnfit_version = metadata.version("agnfit")
    except metadata.PackageNotFoundError:
        agnfit_version = "not installed"
    devices = jax.devices()
    return {
        "cpu": cpu_model(),
        "cpus": f"{usable_cpus()} usable of {os.cpu_count()}",
        "load average (1, 5, 15 min)": load_average(),
        "os": f"{platform.system()} {platform.release()} {platform.machine()}",
        "python": sys.version.split()[0],
        "jax": f"{jax.__version__} (jaxlib {getattr(jax.lib, '__version__', '?')}), x64={jax.config.jax_enable_x64}",
        "platform": f"{devices[0].platform}: {', '.join(sorted({d.device_kind for d in devices}))} x{len(devices)}",
        "agnfit": agnfit_version,
    }


def print_header(title: str, extra: dict | None = None) -> None:
    """Print the benchmark title and the machine description as ``# key: value`` lines."""
    print(f"# {title}")
    for k, v in {**describe_machine(), **(extra or {})}.items():
        print(f"# {k}: {v}")
    print(flush=True)


def peak_rss_mib(children: bool = False) -> float:
    """Peak resident set size (MiB) of this process, or of its waited-for children (the largest one)."""
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    kib = resource.getrusage(who).ru_maxrss  # KiB on Linux (bytes on macOS)
    return kib / (1024.0 * 1024.0) if sys.platform == "darwin" else kib / 1024.0


def fresh_compilation_cache(prefix: str = "agnfit-bench-jaxcache-") -> str:
    """Point JAX's persistent compilation cache at a new empty directory, removed at exit.

    Call before JAX is imported, so compilation times are those of a first run
    and a benchmark neither reads nor fills the user's cache.
    """
    import atexit
    import shutil
    import tempfile

    path = tempfile.mkdtemp(prefix=prefix)
    os.environ["JAX_COMPILATION_CACHE_DIR"] = path
    atexit.register(shutil.rmtree, path, True)
    return path

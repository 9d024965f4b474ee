"""Install a plugin distribution the way a user would, into a throw-away folder on sys.path."""

import contextlib
import importlib
import shutil
import subprocess
import sys

from agnfit.registry import manager


@contextlib.contextmanager
def installed_distribution(pkg_dir, workdir, module_prefix: str):
    """pip-install ``pkg_dir`` (from a copy, so the source tree stays clean) under ``workdir``; yield the site folder.

    The registry is rebuilt on entry and exit, and the package's modules are
    forgotten on exit, so other tests see only the built-in plugins.
    """
    src = workdir / "src" / pkg_dir.name
    shutil.copytree(pkg_dir, src, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    target = workdir / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--target", str(target), str(src)],
        check=True, capture_output=True,
    )
    sys.path.insert(0, str(target))
    importlib.invalidate_caches()
    manager.reset_registry()
    try:
        yield target
    finally:
        sys.path.remove(str(target))
        for mod in [m for m in sys.modules if m.startswith(module_prefix)]:
            del sys.modules[mod]
        manager.reset_registry()

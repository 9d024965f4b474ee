"""Sphinx configuration of the agnfit documentation (Markdown pages through MyST).

Build with warnings as errors, as the test suite does::

    sphinx-build -W --keep-going -b html docs docs/_build/html

The configuration reference, the benchmark results and the figures are
generated at build time by ``_ext/agnfit_docgen.py`` into ``_generated/``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))
sys.path.insert(0, str(HERE.parent))
os.environ.setdefault("MPLBACKEND", "Agg")
_data = HERE.parent.parent / "shared" / "data"
if "AGNFIT_DATA_DIR" not in os.environ and _data.is_dir():
    os.environ["AGNFIT_DATA_DIR"] = str(_data)
os.environ.setdefault("AGNFIT_OFFLINE", "1")

import agnfit  # noqa: E402

project = "agnfit"
author = "the agnfit authors"
copyright = "the agnfit authors"
version = release = agnfit.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "agnfit_docgen",
    "docstrings",
]

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "_generated", "_ext", "Thumbs.db", ".DS_Store"]

myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

# jaxtyping annotations (Float[Array, "n"]) make signatures unreadable and
# their forward references unresolvable; the docstrings give shapes and units.
autodoc_typehints = "none"
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "show-inheritance": False}
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_ivar = True
napoleon_attr_annotations = False

# code in included files written elsewhere (benchmark results) may not lex
suppress_warnings = ["misc.highlighting_failure"]

html_theme = "alabaster"
html_title = f"agnfit {release}"
html_static_path: list[str] = []

"""Sphinx extension: writes the generated parts of the documentation before the sources are read.

Into ``docs/_generated/`` (ignored by git and excluded as a source directory;
pages pull the snippets in with MyST's ``include`` directive):

* ``registry.md``: every registered plugin with its options and priors
  (:mod:`registry_doc`);
* ``config_sections.md``, ``default_config.md``, ``extinction_laws.md``,
  ``calibrations.md``, ``bolometric.md``: configuration schema and
  calibrations (:mod:`config_doc`);
* ``figure_spectrum.md``, ``figure_psf.md`` and ``figures/``: the decomposition of a
  simulated spectrum (:mod:`docs_figures`), or a note saying why it could not
  be drawn here (e.g. no reference data offline);
* ``qsofit_keywords.md``, ``qsofit_priors.md``: the ``QSOFit.fit`` keywords
  and their config equivalents (:mod:`qsofit_doc`);
* ``api_<page>.md``: the autodoc blocks of every module of the package, so a
  new module is documented without editing a page;
* ``guides.md``: the toctree of ``guide/*`` (or a note when there is no guide yet);
* ``benchmark_scripts.md``: the scripts in ``benchmarks/`` with their docstrings;
* ``benchmark_results.md``: ``benchmarks/RESULTS.md`` when it exists, with its
  headings moved below the including page's title, or a note that there are
  no recorded results yet.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1]
ROOT = DOCS.parent
OUT = DOCS / "_generated"
RESULTS = ROOT / "benchmarks" / "RESULTS.md"

log = logging.getLogger(__name__)

_HEADING = re.compile(r"^(#{1,6})(\s+.*)$")
_IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)\s]+)([^)]*)\)")
_LINK = re.compile(r"(?<!!)\[([^\]]+)\]\(([^)\s]+)[^)]*\)")


def write(name: str, text: str) -> Path:
    """Write ``_generated/<name>`` atomically, only when its content changes."""
    path = OUT / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_file() and path.read_text() == text:
        return path
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
    return path


def results_markdown(text: str, source_dir: Path) -> str:
    """Benchmark results as a snippet: headings start at level 2, local links become plain text.

    Headings are renumbered from level 2 down without skipping a level, so the
    snippet sits under the page title; images next to the results are copied beside
    the snippet; links to files of the repository (which are not pages of the
    documentation) keep their text and drop the link.
    """
    lines, fenced, stack = [], False, []  # stack: (level in the file, level here) of the open headings
    for line in text.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        m = None if fenced else _HEADING.match(line)
        if not m:
            lines.append(line)
            continue
        level = len(m.group(1))
        while stack and stack[-1][0] >= level:
            stack.pop()
        here = min((stack[-1][1] if stack else 1) + 1, 6)
        stack.append((level, here))
        lines.append("#" * here + m.group(2))
    out = "\n".join(lines)

    def image(m):
        target = m.group(2)
        if re.match(r"^[a-z]+://", target):
            return m.group(0)
        src = (source_dir / target).resolve()
        if not src.is_file():
            return f"*(image {target} not found)*"
        dest = OUT / "benchmarks" / src.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)
        return f"![{m.group(1)}](/_generated/benchmarks/{src.name})"

    def link(m):
        text, target = m.group(1), m.group(2)
        if re.match(r"^([a-z]+://|mailto:|#)", target):
            return m.group(0)
        return f"`{target}`" if text.strip("`") == target else f"{text} (`{target}`)"

    return _LINK.sub(link, _IMAGE.sub(image, out)) + "\n"


def benchmark_scripts_markdown() -> str:
    """A table of ``benchmarks/*.py``: script and the first paragraph of its docstring (read, not imported)."""
    import ast

    from registry_doc import md_text, table

    rows = []
    for path in sorted((ROOT / "benchmarks").glob("*.py")):
        try:
            doc = ast.get_docstring(ast.parse(path.read_text())) or ""
        except SyntaxError:
            doc = ""
        rows.append([f"`benchmarks/{path.name}`", md_text(doc.split("\n\n")[0])])
    if not rows:
        return "There are no benchmark scripts in this version.\n"
    return "\n".join(table(["script", "what it measures"], rows))


def benchmark_snippet() -> str:
    if not RESULTS.is_file():
        return ("No benchmark results are recorded in this version (`benchmarks/RESULTS.md` does not exist); "
                "run the benchmarks below to measure your machine.\n")
    return results_markdown(RESULTS.read_text(), RESULTS.parent)


CAPTIONS = {
    "spectrum": "A simulated quasar with a strong host galaxy at z = 0.1: simulated data (black), the true "
                "total model (red) and each true component, drawn by `agnfit.plotting.plot_spectrum`.",
    "psf": "The same object in PSF space: the aperture model with η = 0.35 and Δm = 0.05 applied to the "
           "true components (middle), the synthetic and the simulated ugriz PSF magnitudes (top) and the "
           "filter curves (bottom), drawn by `agnfit.plotting.plot_psf`.",
}


def figure_snippets() -> dict:
    """``{kind: Markdown}`` for the figures ``spectrum`` and ``psf``: a figure, or why there is none."""
    from docs_figures import make_figures

    try:
        paths = {p.stem.rsplit("_", 1)[-1]: p for p in make_figures(OUT / "figures")}
    except Exception as exc:  # no reference data here, or a broken plot: the page says so instead
        log.warning("documentation figures not drawn: %s: %s", type(exc).__name__, exc)
        note = f"*This figure could not be drawn when the page was built ({type(exc).__name__}: {exc}).*\n"
        return {kind: note for kind in CAPTIONS}
    return {
        kind: "\n".join([f"```{{figure}} /_generated/figures/{paths[kind].name}", ":width: 100%", "", caption, "```", ""])
        for kind, caption in CAPTIONS.items()
    }


def guides_snippet() -> str:
    """A toctree over ``guide/*`` when there is a guide, else a note (an empty glob is a warning)."""
    if not any(p.suffix in (".md", ".rst") for p in (DOCS / "guide").glob("*")):
        return "There are no guides in this version.\n"
    return "```{toctree}\n:maxdepth: 1\n:glob:\n\nguide/*\n```\n"


#: API pages: page -> packages whose modules it documents; "pipeline" also takes the
#: top-level modules and any subpackage not listed here
API_PAGES = {
    "core": ("agnfit.core",),
    "plugins": ("agnfit.plugins",),
    "io": ("agnfit.io",),
    "plotting": ("agnfit.plotting",),
    "pipeline": ("agnfit.registry",),
}


def api_modules() -> dict:
    """``{page: [module names]}``: every module of the installed agnfit, each on one API page."""
    import pkgutil

    import agnfit

    listed = {pkg for pkgs in API_PAGES.values() for pkg in pkgs}
    pages = {page: [] for page in API_PAGES}
    for info in pkgutil.iter_modules(agnfit.__path__, "agnfit."):
        if not info.ispkg:
            pages["pipeline"].append(info.name)
        elif info.name not in listed:
            pages["pipeline"].append(info.name)
    for page, pkgs in API_PAGES.items():
        for pkg in pkgs:
            mod = __import__(pkg, fromlist=["_"])
            pages[page].append(pkg)
            pages[page] += sorted(i.name for i in pkgutil.walk_packages(mod.__path__, pkg + "."))
    return pages


def api_snippet(modules: list) -> str:
    """automodule blocks: members defined in each module (re-exports are documented where they are defined)."""
    out = []
    for name in modules:
        out += [f"## `{name}`", "", "```{eval-rst}", f".. automodule:: {name}", "   :members:",
                "   :ignore-module-all:", "```", ""]
    return "\n".join(out)


def generate(app=None) -> None:
    """Write every generated snippet (Sphinx ``builder-inited`` handler)."""
    import config_doc
    import qsofit_doc
    import registry_doc

    write("registry.md", registry_doc.registry_markdown())
    write("config_sections.md", config_doc.sections_markdown())
    write("default_config.md", config_doc.default_toml_markdown())
    write("extinction_laws.md", config_doc.extinction_laws_markdown())
    write("calibrations.md", config_doc.calibrations_markdown())
    write("bolometric.md", config_doc.bolometric_markdown())
    write("qsofit_keywords.md", qsofit_doc.keywords_markdown())
    write("qsofit_priors.md", qsofit_doc.prior_config_markdown())
    write("benchmark_results.md", benchmark_snippet())
    write("guides.md", guides_snippet())
    for page, modules in api_modules().items():
        write(f"api_{page}.md", api_snippet(modules))
    write("benchmark_scripts.md", benchmark_scripts_markdown())
    for kind, text in figure_snippets().items():
        write(f"figure_{kind}.md", text)


def setup(app):
    app.connect("builder-inited", generate)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}

"""The configuration reference, generated from the plugin registry (Markdown for MyST).

Everything here is read from the running code, so a plugin installed through
the ``agnfit`` entry-point group appears in the documentation the next time it
is built: every kind in ``agnfit.registry.KINDS``, every entry of each kind
with its origin, each factory's options with their defaults (the factory's
signature, which is also what a config is checked against), the option
descriptions from the docstrings (Google-style ``Args:`` / ``Attributes:``
sections of the factory, of an options dataclass it takes, and of the class it
builds), and, for components and aperture models, the priors of an instance
built with the default options.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import re
import typing

#: parameters a factory receives from the configuration machinery, not as options
SKIP = {"component": ("name",), "aperture": ("name", "bands"), "photometric_system": ("bands",)}
#: bands used to build aperture models for the reference (their priors may depend on the band count)
EXAMPLE_BANDS = tuple(f"sdss2010-{b}" for b in "ugriz")

TITLES = {
    "component": "Spectral components",
    "aperture": "Aperture models",
    "photometric_system": "Photometric systems",
    "filter": "Filters",
    "host_template": "Host-galaxy template sets",
    "feii_template": "Fe II templates",
    "inference": "Inference backends",
    "data_file": "Reference data files",
}

_SECTION = re.compile(r"^(\s*)(Args|Arguments|Attributes|Parameters|Options):\s*$")
_ENTRY = re.compile(r"^([A-Za-z_][\w]*(?:\s*,\s*[A-Za-z_][\w]*)*)\s*(?:\([^)]*\))?:\s*(.*)$")
_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|data|attr|obj|exc):`~?([^`]+)`")


# ---------------------------------------------------------------- text helpers


def md_text(text: str) -> str:
    """One-line Markdown from docstring text: RST roles become code, whitespace is collapsed."""
    text = _ROLE.sub(lambda m: "`" + m.group(1).split(".")[-1] + "`", text or "")
    text = re.sub(r"``([^`]+)``", r"`\1`", text)
    return " ".join(text.split()).replace("|", "\\|")


def summary(obj) -> str:
    """First paragraph of an object's docstring, as one Markdown line."""
    doc = inspect.getdoc(obj) or ""
    return md_text(doc.split("\n\n")[0])


def described_names(obj) -> dict:
    """``{name: description}`` from the Google-style sections of ``obj``'s docstring."""
    doc = inspect.getdoc(obj) or ""
    out, key, base = {}, None, None
    for line in doc.splitlines():
        if _SECTION.match(line):
            base, key = None, None
            continue
        if base is None and key is None and line.strip() and not line.startswith(" "):
            continue
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        if base is None:
            base = indent
        if indent < base:
            base, key = None, None
            continue
        m = _ENTRY.match(line.strip()) if indent == base else None
        if m:
            keys = [k.strip() for k in m.group(1).split(",")]
            key = keys
            for k in keys:
                out[k] = m.group(2)
        elif key:
            for k in key:
                out[k] += " " + line.strip()
    return {k: md_text(v) for k, v in out.items()}


def toml_value(v) -> str:
    """A default value as it is written in a TOML config."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v.replace('"', '\\"') + '"'
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k} = {toml_value(x)}" for k, x in v.items()) + "}"
    return repr(v)


def cell_value(v) -> str:
    """A table cell for a default value (``unset`` for None, ``required`` for no default)."""
    if v is inspect.Parameter.empty:
        return "*required*"
    if v is None:
        return "*unset*"
    return "`" + toml_value(v).replace("|", "\\|") + "`"


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    """A Markdown pipe table."""
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out + [""]


def _num(x) -> str:
    try:
        f = float(x)
    except (TypeError, ValueError):
        return str(x)
    return f"{f:g}" if math.isfinite(f) else str(f)


def prior_text(d) -> str:
    """``Normal(loc=-1.5, scale=1)`` for a numpyro distribution; ``Fixed(3)`` for a Delta."""
    name = type(d).__name__
    if name == "Delta":
        return f"Fixed({_num(getattr(d, 'v', '?'))})"
    args = [k for k in getattr(d, "arg_constraints", {}) if hasattr(d, k)]
    return f"{name}(" + ", ".join(f"{k}={_num(getattr(d, k))}" for k in args) + ")"


def prior_rows(priors: dict) -> list[list[str]]:
    """Rows (parameters, prior): parameters with the same prior share a row."""
    groups: dict[str, list[str]] = {}
    for k, d in priors.items():
        groups.setdefault(prior_text(d), []).append(k)
    return [[", ".join(f"`{n}`" for n in names), f"`{text}`"] for text, names in groups.items()]


# ---------------------------------------------------------------- options


def options_class(factory):
    """The options dataclass a factory takes (``options_factory``), or None."""
    inner = getattr(factory, "__wrapped__", None)
    if inner is None:
        return None
    try:
        hints = typing.get_type_hints(inner)
    except Exception:  # unresolvable annotations: no options class to describe
        return None
    return next((h for h in hints.values() if dataclasses.is_dataclass(h)), None)


def referenced_function(factory):
    """The function an ``Args: as :func:`other`` docstring section refers to, or None."""
    m = re.search(r"Args:\s*as\s+:func:`~?([\w.]+)`", inspect.getdoc(factory) or "")
    if not m:
        return None
    module = inspect.getmodule(factory)
    return getattr(module, m.group(1).split(".")[-1], None)


def option_rows(factory, skip, built=None) -> list[list[str]]:
    """Rows (option, default, description) of a factory's keyword options.

    Descriptions come, in increasing priority, from the class it builds, an
    options dataclass it takes, a function its ``Args:`` refers to, and its own docstring.
    """
    try:
        sig = inspect.signature(factory)
    except (TypeError, ValueError):
        return []
    descr = {}
    sources = (type(built) if built is not None else None, options_class(factory), referenced_function(factory), factory)
    for source in sources:
        if source is not None:
            descr.update(described_names(source))
    rows = []
    for p in sig.parameters.values():
        if p.name in skip or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        rows.append([f"`{p.name}`", cell_value(p.default), descr.get(p.name, "")])
    return rows


def _build(kind: str, name: str, factory):
    """An instance with the default options, or the reason it cannot be built here."""
    try:
        if kind == "component":
            return factory(name), None
        if kind == "aperture":
            return factory(bands=EXAMPLE_BANDS), None
        if kind == "inference":
            return factory(), None
    except Exception as exc:  # e.g. a reference file that is not available at build time
        return None, f"{type(exc).__name__}: {md_text(str(exc))[:300]}"
    return None, None


# ---------------------------------------------------------------- sections


def _qualname(obj) -> str:
    t = type(obj)
    return f"{t.__module__}.{t.__qualname__}"


def factory_section(reg, kind: str, name: str) -> list[str]:
    """The reference of one factory-made plugin (component, aperture, system, backend)."""
    factory = reg.get(kind, name)
    built, problem = _build(kind, name, factory)
    out = [f"### `{name}`", "", f"*{reg.origin(kind, name)}*", ""]
    if summary(factory):
        out += [summary(factory), ""]
    if built is not None:
        facts = [f"builds `{_qualname(built)}`"]
        for attr in ("morphology", "operation", "group"):
            if isinstance(getattr(built, attr, None), str):
                facts.append(f"{attr} `{getattr(built, attr)}`")
        out += ["; ".join(facts) + ".", ""]
    rows = option_rows(factory, SKIP.get(kind, ()), built)
    out += table(["option", "default", "description"], rows) if rows else ["No options.", ""]
    if problem:
        out += [f"Not built with its defaults here ({problem}), so its priors are not listed.", ""]
    elif built is not None and hasattr(built, "priors"):
        pri = built.priors()
        if kind == "aperture":
            out += [f"Priors, built for {len(EXAMPLE_BANDS)} bands (`{built.name}.<parameter>`):", ""]
        else:
            out += [f"Priors with the default options (`{name}.<parameter>` when the instance is named `{name}`):", ""]
        out += table(["parameters", "prior"], prior_rows(pri)) if pri else ["No free parameters.", ""]
    return out


def filter_section(reg) -> list[str]:
    """Filters grouped by their speclite group (the part of the name before ``-``)."""
    names = reg.names("filter")
    groups: dict[tuple, list[str]] = {}
    for n in names:
        group, _, band = n.rpartition("-")
        groups.setdefault((group or n, reg.origin("filter", n)), []).append(band or n)
    rows = [[f"`{g}`", " ".join(f"`{b}`" for b in bands), origin] for (g, origin), bands in sorted(groups.items())]
    intro = [f"{len(names)} filters in {len(groups)} groups; a band is named `<group>-<band>`, e.g. `{names[0]}`.", ""]
    return intro + table(["group", "bands", "origin"], rows)


def loader_section(reg, kind: str) -> list[str]:
    """Named loaders (templates, data files): name, origin and what they are."""
    rows = []
    for n in reg.names(kind):
        value = reg.get(kind, n)
        if isinstance(value, tuple) and value and isinstance(value[0], str):
            text = md_text(value[0])  # data files: (url, sha256)
        else:
            text = md_text(getattr(value, "reference", "") or "") or summary(value)
        rows.append([f"`{n}`", text, reg.origin(kind, n)])
    return table(["name", "description", "origin"], rows)


def registry_markdown(reg=None) -> str:
    """The whole generated reference: one section per registered kind."""
    from agnfit.registry import KINDS, get_registry

    reg = reg or get_registry()
    out = []
    for kind, hook in KINDS.items():
        names = reg.names(kind)
        out += [f"## {TITLES.get(kind, kind)}", "", f"Kind `{kind}`, hook `{hook}`: {len(names)} registered.", ""]
        if kind == "filter":
            out += filter_section(reg)
        elif kind in ("component", "aperture", "photometric_system", "inference"):
            for n in names:
                out += factory_section(reg, kind, n)
        else:
            out += loader_section(reg, kind)
    return "\n".join(out) + "\n"

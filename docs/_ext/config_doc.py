"""Generated snippets about the configuration schema and the derived-quantity calibrations.

The section keys and their defaults come from ``agnfit.config.SECTION_KEYS``,
their comments from the commented default TOML (``agnfit.defaults.DEFAULT_TOML``),
the extinction laws from ``agnfit.plugins.dust.LAWS`` and the black-hole mass
calibrations from ``agnfit.plugins.blackhole.CALIBRATIONS``.
"""

from __future__ import annotations

import re

from registry_doc import cell_value, md_text, table

_KEY_LINE = re.compile(r"^#?\s*([A-Za-z_][\w]*)\s*=.*?#\s*(.+)$")


def toml_comments(text: str) -> dict:
    """``{(section, key): comment}`` from ``key = value  # comment`` lines (commented-out keys too)."""
    out, section = {}, ""
    for line in text.splitlines():
        s = line.strip()
        head = re.match(r"^\[+([^\]]+)\]+", s)
        if head:
            section = head.group(1).split(".")[0]
            continue
        m = _KEY_LINE.match(s)
        if m:
            out.setdefault((section, m.group(1)), m.group(2).strip())
    return out


def sections_markdown() -> str:
    """One table per fixed-key section: key, default, comment of the default TOML."""
    from agnfit.config import SECTION_KEYS
    from agnfit.defaults import DEFAULT_TOML

    notes = toml_comments(DEFAULT_TOML)
    out = []
    for sec, keys in SECTION_KEYS.items():
        out += [f"### `[{sec}]`", ""]
        rows = [[f"`{k}`", cell_value(v), md_text(notes.get((sec, k), ""))] for k, v in keys.items()]
        out += table(["key", "default", "meaning"], rows)
    return "\n".join(out) + "\n"


def default_toml_markdown() -> str:
    """The commented default configuration as a TOML code block."""
    from agnfit.defaults import DEFAULT_TOML

    return "```toml\n" + DEFAULT_TOML.rstrip() + "\n```\n"


def extinction_laws_markdown() -> str:
    from agnfit.plugins.dust import LAWS

    return ", ".join(f"`{law}`" for law in LAWS) + "\n"


def calibrations_markdown() -> str:
    """The virial black-hole mass calibrations, as coded."""
    from agnfit.plugins.blackhole import CALIBRATIONS

    rows = []
    for name, c in CALIBRATIONS.items():
        lum = "line luminosity" if c.luminosity == "line" else c.luminosity
        rows.append([f"`{name}`", f"`{c.line}`", lum, f"{c.l0:.0e}", f"{c.a:.3f}", f"{c.b:.2f}", f"{c.c:.2f}", c.reference])
    return "\n".join(table(["name", "line", "luminosity L", "L0 [erg/s]", "a", "b", "c", "reference"], rows))


def bolometric_markdown() -> str:
    """Default bolometric corrections from the ``[derived]`` defaults."""
    from agnfit.config import SECTION_KEYS

    bc = SECTION_KEYS["derived"]["bolometric_corrections"]
    rows = [[f"{float(w):g} Å", f"`Lbol_{float(w):g}`", f"{v:g}"] for w, v in bc.items()]
    return "\n".join(table(["wavelength", "derived name", "BC"], rows))

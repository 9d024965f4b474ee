"""Read agnfit's plain-text docstrings as reStructuredText without losing their layout.

agnfit's docstrings are written to be read in a terminal: Google-style
sections (read by napoleon), inline code in double backquotes, and formulas,
examples and parameter lists as indented blocks. reStructuredText would read
such a block as a block quote or a broken definition list, and ``|x|`` (an
absolute value) as a substitution. Before napoleon sees a docstring, this
``autodoc-process-docstring`` handler

* turns an indented block that is not part of a Google-style section, a list
  item, a definition list or a directive into a literal block (the line that
  introduces it gets a ``::``), so formulas keep their alignment;
* escapes ``|...|`` outside inline code and literal blocks;
* splits an ``Attributes:`` entry naming several attributes (``a, b: ...``)
  into one entry each, since fields take one name;
* keeps napoleon away from attribute, data and property docstrings, which
  napoleon would read as ``type: description`` (agnfit writes prose there).

Nothing in the docstrings' text changes; a block that already follows ``::``
is left alone.
"""

from __future__ import annotations

import re

SECTIONS = (
    "args", "arguments", "attention", "attributes", "caution", "danger", "error", "example", "examples",
    "hint", "important", "keyword args", "keyword arguments", "methods", "note", "notes",
    "other parameters", "parameters", "receive", "receives", "return", "returns", "raise", "raises",
    "references", "see also", "tip", "todo", "warning", "warnings", "warn", "warns", "yield", "yields",
)
_SECTION = re.compile(r"^\s*(" + "|".join(SECTIONS) + r"):\s*$", re.IGNORECASE)
_BULLET = re.compile(r"^\s*(?:[*+-]|\d+[.)]|#\.)\s+")
_CODE = re.compile(r"(``.+?``)")
_BORDER = re.compile(r"^\s*=+(\s+=+)+\s*$")
_ABS = re.compile(r"(?<!\\)\|(?=\S)([^|]*?\S)\|")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _content_indent(line: str) -> int:
    """Where the text of ``line`` starts (after a list bullet, if any)."""
    m = _BULLET.match(line)
    return m.end() if m else _indent(line)


def escape_bars(line: str) -> str:
    """``|x|`` -> ``\\|x\\|`` outside inline code."""
    parts = _CODE.split(line)
    return "".join(p if i % 2 else _ABS.sub(r"\\|\1\\|", p) for i, p in enumerate(parts))


def _opens_literal(prev: str, before_prev: str | None, blank_between: bool) -> bool:
    """Whether a more-indented line after ``prev`` starts a preformatted block."""
    text = prev.strip()
    if text.endswith("::") or text.startswith(".."):
        return False
    if blank_between or text.endswith(":"):
        return True
    # no blank line: a one-line term is a definition list; a longer paragraph cannot be indented into
    return before_prev is not None and before_prev.strip() != "" and _indent(before_prev) == _indent(prev)


def _table_end(lines: list[str], start: int) -> int:
    """Index of the bottom border of the simple table whose top border is ``lines[start]``."""
    for j in range(start + 1, len(lines)):
        if _BORDER.match(lines[j]) and (j + 1 == len(lines) or not lines[j + 1].strip()):
            return j
    return len(lines) - 1


def literal_blocks(lines: list[str]) -> list[str]:
    """``lines`` with preformatted blocks marked as literal blocks and ``|x|`` escaped."""
    out: list[str] = []
    literal_base = None  # text indent of the paragraph that opened the current literal block
    section = None  # indent of the current Google-style section header
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line.strip():
            out.append(line)
            continue
        ind = _indent(line)
        if literal_base is not None and ind > literal_base:
            out.append(line)
            continue
        if literal_base is not None and out[-1].strip():
            out.append("")  # a literal block ends with a blank line
        literal_base = None
        if section is not None and ind <= section:
            section = None
        if _SECTION.match(line):
            section = ind
            out.append(line)
            continue
        if _BORDER.match(line):  # a simple table is copied as it is, bars escaped
            end = _table_end(lines, i - 1)
            out += [escape_bars(x) for x in lines[i - 1 : end + 1]]
            i = end + 1
            continue
        nonblank = [k for k, x in enumerate(out) if x.strip()]
        if section is None and nonblank:
            k_prev = nonblank[-1]
            prev = out[k_prev]
            before = out[k_prev - 1] if k_prev > 0 else None
            blank_between = k_prev != len(out) - 1
            if ind > _content_indent(prev) and _opens_literal(prev, before, blank_between):
                out[k_prev] = prev.rstrip() + (":" if prev.rstrip().endswith(":") else " ::")
                if not blank_between:
                    out.append("")
                literal_base = _content_indent(prev)
                out.append(line)
                continue
        out.append(escape_bars(line))
    return out


_MULTI = re.compile(r"^(\s+)([A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)+)\s*:\s*(.*)$")
_ATTRIBUTES = re.compile(r"^\s*attributes:\s*$", re.IGNORECASE)


def split_attribute_entries(lines: list[str]) -> list[str]:
    """``a, b: text`` entries of ``Attributes:`` sections as one entry per name."""
    out, section, i = [], None, 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if line.strip() and section is not None and _indent(line) <= section:
            section = None
        if _ATTRIBUTES.match(line):
            section = _indent(line)
        m = _MULTI.match(line) if section is not None else None
        if not m:
            out.append(line)
            continue
        body = []
        while i < len(lines) and (not lines[i].strip() or _indent(lines[i]) > len(m.group(1))):
            if not lines[i].strip() and (i + 1 == len(lines) or _indent(lines[i + 1]) <= len(m.group(1))):
                break
            body.append(lines[i])
            i += 1
        for name in (n.strip() for n in m.group(2).split(",")):
            out += [f"{m.group(1)}{name}: {m.group(3)}", *body]
    return out


#: attribute, data and property docstrings as this module leaves them, restored after napoleon
_PROSE: dict = {}


def process_docstring(app, what, name, obj, options, lines: list[str]) -> None:
    """``autodoc-process-docstring`` handler (before napoleon): rewrites ``lines`` in place."""
    lines[:] = literal_blocks(split_attribute_entries(lines))
    if what in ("attribute", "data", "property"):
        _PROSE[(what, name)] = list(lines)


def restore_prose(app, what, name, obj, options, lines: list[str]) -> None:
    """``autodoc-process-docstring`` handler (after napoleon): undoes napoleon on prose attributes."""
    kept = _PROSE.pop((what, name), None)
    if kept is not None:
        lines[:] = kept


def setup(app):
    # before napoleon (priority 500), which turns the Google-style sections into fields
    app.connect("autodoc-process-docstring", process_docstring, priority=400)
    app.connect("autodoc-process-docstring", restore_prose, priority=600)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}

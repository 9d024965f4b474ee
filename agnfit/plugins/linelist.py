"""The default AGN emission-line list and the resolution of user line lists.

Rest wavelengths are the vacuum laboratory values tabulated for the SDSS
quasar composite by Vanden Berk et al. (2001, AJ 122, 549, Table 2). ``SiIV`` stands for the Si IV 1394/1403 + O IV] 1402 blend at
the blend wavelength of that table.

Lines are grouped in *complexes*, the sets that sit in one spectral window
and are usually fitted together (Shen et al. 2011, ApJS 194, 45): narrow
lines of a complex share one width and one velocity shift.

Fixed-ratio doublets: [O III] 5007/4959 = 2.98 (Storey & Zeippen 2000,
MNRAS 312, 813) and [N II] 6583/6548 = 2.96; both pairs share their upper
level, so the ratio is the ratio of the transition probabilities (Osterbrock
& Ferland 2006, *Astrophysics of Gaseous Nebulae and AGN*). Only the stronger
line of a pair carries a flux parameter, when both are in a component.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import NamedTuple

from ..errors import ConfigError
from .profiles import PROFILES


class Line(NamedTuple):
    """One emission line of a component.

    Attributes:
        name: short stable name, used in parameter names (``"Hb"``, ``"OIII_5007"``).
        wave: vacuum rest wavelength (A).
        complex: the complex the line belongs to (``"Hb"``, ``"Ha"``, ``"MgII"``, ...).
        tied_to: name of the stronger line of a fixed-ratio doublet, or None.
        ratio: flux(tied_to) / flux(this line) (only used with ``tied_to``).
        profile: profile name (see :mod:`agnfit.plugins.profiles`).
    """

    name: str
    wave: float
    complex: str
    tied_to: str | None = None
    ratio: float = 1.0
    profile: str = "gaussian"


#: name -> Line, in increasing wavelength
CATALOGUE: dict[str, Line] = {
    ln.name: ln
    for ln in (
        Line("Lya", 1215.67, "Lya"),
        Line("NV", 1240.14, "Lya"),
        Line("SiIV", 1396.76, "SiIV"),
        Line("CIV", 1549.06, "CIV"),
        Line("HeII_1640", 1640.42, "CIV"),
        Line("CIII", 1908.73, "CIII"),
        Line("MgII", 2798.75, "MgII"),
        Line("NeV_3426", 3426.84, "NeV"),
        Line("OII_3727", 3728.48, "OII"),
        Line("NeIII_3869", 3869.85, "NeIII"),
        Line("Hd", 4102.89, "Hd"),
        Line("Hg", 4341.68, "Hg"),
        Line("OIII_4363", 4364.44, "Hg"),
        Line("HeII_4686", 4687.02, "Hb"),
        Line("Hb", 4862.68, "Hb"),
        Line("OIII_4959", 4960.30, "Hb", tied_to="OIII_5007", ratio=2.98),
        Line("OIII_5007", 5008.24, "Hb"),
        Line("HeI_5876", 5877.29, "HeI"),
        Line("OI_6300", 6302.05, "OI"),
        Line("NII_6548", 6549.86, "Ha", tied_to="NII_6583", ratio=2.96),
        Line("Ha", 6564.61, "Ha"),
        Line("NII_6583", 6585.27, "Ha"),
        Line("SII_6716", 6718.29, "Ha"),
        Line("SII_6731", 6732.67, "Ha"),
    )
}

#: lines with a broad (permitted, broad-line region) part
BROAD = ("Lya", "NV", "SiIV", "CIV", "HeII_1640", "CIII", "MgII", "Hd", "Hg", "HeII_4686", "Hb", "HeI_5876", "Ha")

#: lines with a narrow (narrow-line region) part: forbidden lines and the
#: narrow cores of the Balmer lines, Mg II, C IV and Ly alpha
NARROW = (
    "Lya", "CIV", "MgII", "NeV_3426", "OII_3727", "NeIII_3869", "Hd", "Hg", "OIII_4363",
    "Hb", "OIII_4959", "OIII_5007", "OI_6300", "NII_6548", "Ha", "NII_6583", "SII_6716", "SII_6731",
)

#: Balmer lines whose broad widths and shifts ``tie_balmer`` shares
BALMER = ("Ha", "Hb", "Hg", "Hd")

#: the name of the one width and shift of narrow lines with ``shared_kinematics``
SHARED = "shared"

#: names reserved for the shared Balmer parameters and the shared narrow kinematics
RESERVED = ("balmer", SHARED)

DEFAULT_LINES = {"broad": BROAD, "narrow": NARROW}

CUSTOM_KEYS = ("name", "wave", "complex")
_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")

ERR_NOT_A_LINE = (
    "{where}: unknown line {item!r}. Valid {kind} line names: {valid}. "
    "For another line give a table {{name = ..., wave = <rest A, vacuum>, complex = ...}}"
)
ERR_NO_PART = (
    "{where}: line {item!r} has no {kind} part in the default line list. Valid {kind} line names: {valid}. "
    "To fit one anyway give it as a table {{name = ..., wave = ..., complex = ...}}"
)


def _custom_line(item: Mapping, where: str) -> Line:
    unknown = sorted(set(item) - set(CUSTOM_KEYS))
    if unknown or "name" not in item or "wave" not in item:
        raise ConfigError(f"{where}: a custom line is a table with keys {CUSTOM_KEYS} ('complex' optional), got {dict(item)}")
    name = item["name"]
    if not isinstance(name, str) or not _NAME_RE.match(name) or name in RESERVED:
        raise ConfigError(
            f"{where}: custom line name {name!r} must start with a letter and contain only letters, digits "
            f"and '_' (and not be one of {RESERVED})"
        )
    try:
        wave = float(item["wave"])
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: line {name!r}: wave must be a number (rest A), got {item['wave']!r}") from None
    if not (math.isfinite(wave) and wave > 0):
        raise ConfigError(f"{where}: line {name!r}: wave must be a positive rest wavelength in A, got {wave}")
    cx = item.get("complex", name)
    if not isinstance(cx, str) or not _NAME_RE.match(cx):
        raise ConfigError(f"{where}: line {name!r}: complex must be a name (letters, digits, '_'), got {cx!r}")
    return Line(name, wave, cx)


def resolve_lines(kind: str, lines=None, where: str = "lines", profile="gaussian", profiles=None) -> tuple[Line, ...]:
    """The lines of a ``kind`` ("broad" or "narrow") component with their profiles, by wavelength.

    Args:
        kind: "broad" or "narrow"; selects the default list and the valid names.
        lines: None (the default list of that kind) or a list whose items are
            names from the default list or tables ``{name, wave, complex}``
            (rest A, vacuum) for custom lines.
        where: the config location, for error messages.
        profile: the profile of every line (a name in ``profiles.PROFILES``).
        profiles: ``{line: profile}`` for lines whose profile differs.

    Raises:
        ConfigError: an unknown name (the message lists the valid ones), a name
            without a part of this kind, a malformed table, duplicates, an
            empty list, an unknown profile or a profile for an absent line.
    """
    out = _line_list(kind, lines, where)
    if profiles is not None and not isinstance(profiles, Mapping):
        raise ConfigError(f"{where}: profiles must be a table {{line = profile}}, got {profiles!r}")
    profiles = dict(profiles or {})
    names = [ln.name for ln in out]
    unknown = sorted(set(profiles) - set(names))
    if unknown:
        raise ConfigError(f"{where}: profiles given for line(s) {unknown} not in this component; its lines: {names}")
    for key, val in [("profile", profile)] + [(f"profiles.{k}", v) for k, v in profiles.items()]:
        if val not in PROFILES:
            raise ConfigError(f"{where}: {key} must be one of {PROFILES}, got {val!r}")
    return tuple(ln._replace(profile=profiles.get(ln.name, profile)) for ln in out)


def _line_list(kind: str, lines, where: str) -> list[Line]:
    valid = DEFAULT_LINES[kind]
    if lines is None:
        return [CATALOGUE[n] for n in valid]
    if isinstance(lines, (str, Mapping)):
        lines = [lines]
    if not isinstance(lines, (list, tuple)):
        raise ConfigError(f"{where}: lines must be a list of names or tables, got {lines!r}")
    out = []
    for item in lines:
        if isinstance(item, str):
            if item not in CATALOGUE:
                raise ConfigError(ERR_NOT_A_LINE.format(where=where, item=item, kind=kind, valid=list(valid)))
            if item not in valid:
                raise ConfigError(ERR_NO_PART.format(where=where, item=item, kind=kind, valid=list(valid)))
            out.append(CATALOGUE[item])
        elif isinstance(item, Mapping):
            out.append(_custom_line(item, where))
        else:
            raise ConfigError(f"{where}: a line is a name or a table {{name, wave, complex}}, got {item!r}")
    names = [ln.name for ln in out]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ConfigError(f"{where}: line(s) listed more than once: {dup}")
    if not out:
        raise ConfigError(f"{where}: the line list is empty; leave it out to use the default {kind} lines {list(valid)}")
    return sorted(out, key=lambda ln: ln.wave)

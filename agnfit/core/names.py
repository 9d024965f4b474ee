"""The one place that owns parameter naming: ``"<instance name>.<param>"``.

Configs, prior overrides, numpyro sites, results and plots all address a
parameter by its full name; no other module builds or splits such names.
"""

from __future__ import annotations

SEP = "."


def full_name(owner: str, param: str) -> str:
    """Full site name of local parameter ``param`` of component/aperture ``owner``."""
    if SEP in owner:
        raise ValueError(f"instance name {owner!r} must not contain {SEP!r}")
    return f"{owner}{SEP}{param}"


def split_name(name: str) -> tuple[str, str]:
    """Inverse of :func:`full_name`: ``"hbeta_br.fwhm" -> ("hbeta_br", "fwhm")``."""
    owner, sep, param = name.partition(SEP)
    if not sep:
        raise ValueError(f"{name!r} is not a '<component>.<param>' name")
    return owner, param


def local_params(owner: str, params: dict) -> dict:
    """The entries of ``params`` (full names) that belong to ``owner``, by local name."""
    prefix = owner + SEP
    return {k[len(prefix):]: v for k, v in params.items() if k.startswith(prefix)}


def derived_name(*parts: str) -> str:
    """Name of a derived quantity, e.g. ``derived_name("broad_lines", "Hb", "fwhm")``.

    Derived names have three or more parts (or one, for global quantities such
    as ``"L5100"``), so they never collide with two-part parameter names.
    """
    return SEP.join(parts)

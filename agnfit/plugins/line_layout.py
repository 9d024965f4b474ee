"""Parameter layout of an emission-line component: names, roles and per-slot indices.

A component's lines expand to profile *slots* (one per line, or ``n_gauss``
per broad line); :func:`build_layout` maps each slot to the indices of its
flux, width, width ratios, shift and shape parameters in the component's
parameter vector, a pure function of the component's structure (cached).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from ..errors import ConfigError
from . import profiles as prof
from .linelist import BALMER, SHARED


def param_name(base: str, quantity: str, k: int = 0) -> str:
    """Local parameter name of ``quantity`` of line/complex ``base``, profile component ``k`` (0-based)."""
    return f"{base}_{quantity}" if k == 0 else f"{base}_{quantity}_{k + 1}"


class Layout(NamedTuple):
    """Where each profile component ("slot") finds its values in the parameter vector.

    The vector is the parameters in ``names`` order followed by the constants
    0 and 1 (indices ``len(names)`` and ``len(names) + 1``), which stand in
    for absent shape parameters and width ratios.
    """

    names: tuple          # parameter names, vector order
    roles: tuple          # "flux", "fwhm", "fwhm_ratio", "dv", "h3" or "h4", per name
    line: np.ndarray      # (s,) index of the slot's line in the component's ``lines``
    wave: np.ndarray      # (s,) rest wavelength (A)
    flux: np.ndarray      # (s,) index of the flux parameter
    flux_mult: np.ndarray  # (s,) flux multiplier (1 / doublet ratio for a tied line)
    fwhm: np.ndarray      # (s,) index of the first component's FWHM
    ratios: np.ndarray    # (s, n_gauss - 1) indices of width ratios (1 when unused)
    dv: np.ndarray        # (s,) index of the shift
    h3: np.ndarray        # (s,) index of h3 (0 when unused)
    h4: np.ndarray        # (s,) index of h4 (0 when unused)
    lorentz: np.ndarray   # (s,) bool, Lorentzian slot
    hermite: np.ndarray   # (s,) bool, Gauss-Hermite slot


@functools.lru_cache(maxsize=512)
def build_layout(kind: str, lines: tuple, n_gauss: int, tie: str = "") -> Layout:
    """The parameter layout of a component (a pure function of its structure).

    ``tie``: "" (narrow lines share per complex, broad lines are free),
    "balmer" (broad Balmer lines share one set of widths and shifts) or
    "all" (narrow lines share one width and one shift).
    """
    present = {ln.name for ln in lines}
    roles: dict[str, str] = {}  # parameter name -> role, in declaration order
    col = {key: [] for key in ("line", "wave", "flux", "flux_mult", "fwhm", "ratios", "dv", "shape", "lorentz")}

    def declare(name, role):
        if roles.setdefault(name, role) != role:
            raise ConfigError(f"line parameter name {name!r} is ambiguous; rename the custom line that causes it")
        return name

    for i, ln in enumerate(lines):
        if kind == "narrow":
            shared = SHARED if tie == "all" else ln.complex
        else:
            shared = "balmer" if (tie == "balmer" and ln.name in BALMER) else ln.name
        for k in range(n_gauss):
            if ln.tied_to in present:  # the primary declares this flux parameter
                col["flux"].append(param_name(ln.tied_to, "flux", k))
                col["flux_mult"].append(1.0 / ln.ratio)
            else:
                col["flux"].append(declare(param_name(ln.name, "flux", k), "flux"))
                col["flux_mult"].append(1.0)
            col["fwhm"].append(declare(param_name(shared, "fwhm"), "fwhm"))
            col["ratios"].append([declare(param_name(shared, "fwhm_ratio", j), "fwhm_ratio") for j in range(1, k + 1)])
            col["dv"].append(declare(param_name(shared, "dv", k), "dv"))
            col["shape"].append([declare(param_name(ln.name, h, k), h) for h in prof.SHAPE_PARAMS[ln.profile]])
            col["line"].append(i)
            col["wave"].append(ln.wave)
            col["lorentz"].append(ln.profile == "lorentzian")
    names = tuple(roles)
    index = {n: j for j, n in enumerate(names)}
    zero, one = len(names), len(names) + 1

    def idx(key):
        return np.array([index[n] for n in col[key]], dtype=int)

    ratios = [[index[n] for n in r] + [one] * (n_gauss - 1 - len(r)) for r in col["ratios"]]
    return Layout(
        names=names,
        roles=tuple(roles.values()),
        line=np.array(col["line"], dtype=int),
        wave=np.array(col["wave"], dtype=float),
        flux=idx("flux"),
        flux_mult=np.array(col["flux_mult"], dtype=float),
        fwhm=idx("fwhm"),
        ratios=np.array(ratios, dtype=int).reshape(len(ratios), n_gauss - 1),
        dv=idx("dv"),
        h3=np.array([index[sh[0]] if sh else zero for sh in col["shape"]], dtype=int),
        h4=np.array([index[sh[1]] if sh else zero for sh in col["shape"]], dtype=int),
        lorentz=np.array(col["lorentz"], dtype=bool),
        hermite=np.array([bool(sh) for sh in col["shape"]], dtype=bool),
    )


class SlotValues(NamedTuple):
    """Per-slot values (arrays of shape (s,)): integrated flux, intrinsic FWHM (km/s), shift, h3, h4."""

    flux: jnp.ndarray
    fwhm: jnp.ndarray
    dv: jnp.ndarray
    h3: jnp.ndarray
    h4: jnp.ndarray

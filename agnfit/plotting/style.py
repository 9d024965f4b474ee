"""Shared look of the result figures: options, colours, component roles and axis labels.

Colours follow the colour-blind-safe palette of Okabe & Ito (2008, "Color
Universal Design"). Each fitted component is given a *role* (AGN power law,
host, Fe II, Balmer continuum, broad lines, narrow lines, calibration, other)
from its configured type, so the same physical component always has the same
colour in every figure.
"""

from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple

import matplotlib
import numpy as np

C_AA_S = 2.99792458e18  # speed of light, A/s

#: (title, rest-frame lower edge A, upper edge A) of the default zoom panels
DEFAULT_ZOOMS = (
    ("C IV", 1450.0, 1650.0),
    ("Mg II", 2700.0, 2900.0),
    ("H$\\beta$ + [O III]", 4640.0, 5100.0),
    ("H$\\alpha$ + [N II] + [S II]", 6400.0, 6800.0),
)

#: default corner-plot quantities, as shell patterns tried in this order
DEFAULT_CORNER = (
    "host_fraction.5100", "host_fraction_psf.5100", "*.eta", "*.delta_m",
    "*.Hb.fwhm", "*.Ha.fwhm", "*.MgII.fwhm", "*.CIV.fwhm", "*.alpha", "log_mbh.*",
)


@dataclasses.dataclass(frozen=True)
class PlotOptions:
    """What the result figures show.

    Attributes:
        plot_residual: draw the (data - model)/error panel under the spectrum.
        plot_psf_space: draw the PSF-aperture model spectrum (``psf_model``,
            ``psf_component:<name>`` in ``result.photometry``) in the PSF figure.
        zoom_windows: (title, rest lower A, rest upper A) line-complex windows;
            those the spectrum covers by at least ``min_zoom_coverage`` are drawn.
        min_zoom_coverage: fraction (0-1) of a window the data must cover.
        corner_params: names (or shell patterns) of parameters / derived
            quantities for the corner plot; None picks from ``DEFAULT_CORNER``.
        max_corner_params: at most this many quantities in the corner plot.
        formats: file formats written by ``plot_result``.
        dpi: raster resolution (dots per inch) of the PNG files.
    """

    plot_residual: bool = True
    plot_psf_space: bool = True
    zoom_windows: tuple = DEFAULT_ZOOMS
    min_zoom_coverage: float = 0.6
    corner_params: tuple | None = None
    max_corner_params: int = 6
    formats: tuple = ("png", "pdf")
    dpi: int = 150


# Okabe & Ito palette
BLACK, ORANGE, SKY, GREEN, YELLOW, BLUE, VERMILLION, PURPLE = (
    "#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7",
)
MODEL_COLOR = "#C00000"
DATA_COLOR = BLACK
BAND_COLOR = "0.78"

#: role -> (legend label, colour)
ROLES = {
    "agn": ("AGN power law", BLUE),
    "host": ("host galaxy", ORANGE),
    "feii": ("Fe II", GREEN),
    "balmer": ("Balmer continuum", PURPLE),
    "broad": ("broad lines", SKY),
    "narrow": ("narrow lines", "#6A3D9A"),
    "calibration": ("calibration", "0.45"),
    "other": ("", "0.3"),
}
TYPE_ROLE = {
    "power_law": "agn", "broken_power_law": "agn", "host_dsps": "host", "host_pca": "host",
    "feii": "feii", "balmer_continuum": "balmer", "broad_lines": "broad", "narrow_lines": "narrow",
    "legendre_poly": "calibration", "additive_poly": "calibration",
}
#: component types whose arrays are factors, not fluxes
MULTIPLICATIVE_TYPES = ("legendre_poly",)
_KEYWORDS = (("host", "host"), ("gal", "host"), ("fe", "feii"), ("balmer", "balmer"), ("broad", "broad"),
             ("narrow", "narrow"), ("power", "agn"), ("agn", "agn"), ("poly", "calibration"), ("calib", "calibration"))
_LINESTYLES = ("-", "--", "-.", ":")

LINE_LABELS = {
    "Hb": "H$\\beta$", "Ha": "H$\\alpha$", "Hg": "H$\\gamma$", "Hd": "H$\\delta$", "Lya": "Ly$\\alpha$",
    "MgII": "Mg II", "CIV": "C IV", "CIII": "C III]", "SiIV": "Si IV", "NV": "N V",
    "OIII_5007": "[O III] 5007", "OIII_4959": "[O III] 4959", "NII_6583": "[N II] 6583",
}


class Role(NamedTuple):
    """How one component is drawn: its legend label, colour, line style and whether it is a factor."""

    name: str
    role: str
    label: str
    color: str
    linestyle: str
    multiplicative: bool


def component_roles(result) -> list[Role]:
    """Roles of the components with a ``component:<name>`` array, in the order they were fitted.

    The role comes from ``info["component_roles"]`` when the fit recorded it,
    else from the configured type, else from keywords in the type or name.
    A component is multiplicative when ``info["component_operations"]`` says
    ``"multiply"`` or its type is in :data:`MULTIPLICATIVE_TYPES`.
    """
    comps = result.config.get("components", {}) if isinstance(result.config, dict) else {}
    ops = result.info.get("component_operations", {}) or {}
    given = result.info.get("component_roles", {}) or {}
    names = [k.split(":", 1)[1] for k in result.spectrum if k.startswith("component:")]
    out, seen = [], {}
    for name in names:
        ctype = str(comps.get(name, {}).get("type", ""))
        role = given.get(name) or TYPE_ROLE.get(ctype)
        if role is None:
            text = (ctype + " " + name).lower()
            role = next((r for key, r in _KEYWORDS if key in text), "other")
        role = role if role in ROLES else "other"
        mult = ops.get(name, "multiply" if ctype in MULTIPLICATIVE_TYPES else "add") == "multiply"
        label, color = ROLES[role]
        k = seen.get(role, 0)
        seen[role] = k + 1
        if role == "other":
            color = matplotlib.colormaps["tab10"](k % 10)
        style = _LINESTYLES[k % len(_LINESTYLES)] if role != "other" else "-"
        out.append(Role(name, role, f"{label} ({name})" if label else name, color, style, mult))
    return out


def flux_label(flux_unit) -> str:
    """Axis label of f_lambda in units of ``flux_unit`` erg s^-1 cm^-2 A^-1."""
    unit = "erg s$^{-1}$ cm$^{-2}$ Å$^{-1}$"
    try:
        fu = float(flux_unit)
    except (TypeError, ValueError):
        return f"$f_\\lambda$ [{flux_unit}]" if flux_unit else f"$f_\\lambda$ [{unit}]"
    if fu == 1.0:
        return f"$f_\\lambda$ [{unit}]"
    e = math.log10(fu) if fu > 0 else float("nan")
    scale = f"$10^{{{round(e)}}}$" if math.isfinite(e) and abs(e - round(e)) < 1e-9 else f"{fu:.3g}"
    return f"$f_\\lambda$ [{scale} {unit}]"


def title(result) -> str:
    """``"<name>   z = 0.1234"`` (z omitted when unknown)."""
    z = result.info.get("z")
    try:
        return f"{result.name}   $z$ = {float(z):.4f}"
    except (TypeError, ValueError):
        return str(result.name)


def param_label(name: str) -> str:
    """Readable axis label (with units) of a parameter or derived quantity name."""
    parts = name.split(".")
    head, last = parts[0], parts[-1]
    if head in ("host_fraction", "host_fraction_psf") and len(parts) == 2:
        sup = "^\\mathrm{PSF}" if head.endswith("psf") else ""
        return f"$f_\\mathrm{{host}}{sup}$({parts[1]} Å)"
    if head == "log_mbh" and len(parts) == 2:
        return f"$\\log\\,M_\\mathrm{{BH}}/M_\\odot$ ({parts[1]})"
    if head.startswith("L") and len(parts) == 1 and head[1:].replace(".", "").isdigit():
        return f"$\\lambda L_\\lambda$({head[1:]} Å) [erg s$^{{-1}}$]"
    if len(parts) == 3:
        line = LINE_LABELS.get(parts[1], parts[1])
        unit = {"fwhm": "km s$^{-1}$", "sigma": "km s$^{-1}$", "voff_peak": "km s$^{-1}$", "ew": "Å",
                "wave_peak": "Å", "flux": "erg s$^{-1}$ cm$^{-2}$", "luminosity": "erg s$^{-1}$"}.get(last)
        what = {"fwhm": "FWHM", "sigma": "$\\sigma$", "voff_peak": "$v_\\mathrm{peak}$", "ew": "EW"}.get(last, last)
        return f"{what}({line})" + (f" [{unit}]" if unit else "")
    simple = {"eta": "$\\eta$", "delta_m": "$\\Delta m$ [mag]", "scale": "$s$", "alpha": "$\\alpha_\\lambda$"}
    if last in simple and len(parts) == 2:
        return simple[last] + (f" ({head})" if last == "alpha" else "")
    return name


def put_title(ax, text: str, offset: float = 36.0) -> None:
    """Figure title just above ``ax`` (and above its secondary top axis, ``offset`` points up)."""
    ax.annotate(text, xy=(0.0, 1.0), xycoords="axes fraction", xytext=(0.0, offset), textcoords="offset points",
                ha="left", va="bottom", fontsize=12)


def ab_mag(wave_obs, flam_cgs) -> np.ndarray:
    """AB magnitude of f_lambda (erg s^-1 cm^-2 A^-1) at observed wavelength (A); NaN where f <= 0."""
    fnu = np.asarray(flam_cgs, float) * np.asarray(wave_obs, float) ** 2 / C_AA_S
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(fnu > 0, -2.5 * np.log10(fnu) - 48.60, np.nan)


def new_figure(width: float, height: float):
    """A pyplot-free Figure (Agg canvas): safe in threads and without a display."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


RC = {
    "font.size": 10, "axes.labelsize": 10, "axes.titlesize": 10, "legend.fontsize": 8.5,
    "xtick.direction": "in", "ytick.direction": "in", "xtick.top": True, "ytick.right": True,
    "xtick.minor.visible": True, "ytick.minor.visible": True, "axes.linewidth": 0.8,
    "pdf.fonttype": 42, "savefig.bbox": "tight", "savefig.pad_inches": 0.05,
}

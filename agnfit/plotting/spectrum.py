"""The spectrum figure: data, total model and every component, residuals, line-complex zooms.

All panels use rest-frame wavelength (A); the top axis of the main panel
gives the observed wavelength. Fluxes are f_lambda in ``info["flux_unit"]``
erg s^-1 cm^-2 A^-1, dereddened. Additive components are drawn multiplied by
the product of the multiplicative (calibration) factors, so that they add up
to the drawn total model; the factors themselves are not drawn as fluxes.
"""

from __future__ import annotations

import numpy as np

from .style import DATA_COLOR, MODEL_COLOR, RC, PlotOptions, component_roles, flux_label, new_figure, put_title, title

#: the zoom panels show these lines as tick marks when the line list is importable
MARKED_LINES = ("CIV", "HeII_1640", "MgII", "HeII_4686", "Hb", "OIII_4959", "OIII_5007",
                "NII_6548", "Ha", "NII_6583", "SII_6716", "SII_6731")


def spectrum_arrays(result) -> dict:
    """Rest wavelength, data, error, mask, model and the drawn components of ``result``.

    Returns:
        dict with ``wave`` (rest A), ``flux``, ``err``, ``good`` (bool),
        ``model``, ``factor`` (product of multiplicative components, or None)
        and ``components``: list of (Role, array) for additive components,
        already multiplied by ``factor``.
    """
    s = result.spectrum
    z = float(result.info.get("z", 0.0))
    wave = np.asarray(s["wave_rest"] if "wave_rest" in s else np.asarray(s["wave"]) / (1.0 + z), float)
    flux = np.asarray(s["flux"], float)
    err = np.asarray(s.get("err", np.full_like(flux, np.nan)), float)
    good = np.asarray(s.get("mask", np.ones(flux.shape, bool)), bool) & np.isfinite(flux)
    model = np.asarray(s.get("model", np.full_like(flux, np.nan)), float)
    roles = component_roles(result)
    factor = None
    for r in roles:
        if r.multiplicative:
            f = np.asarray(s[f"component:{r.name}"], float)
            factor = f if factor is None else factor * f
    comps = [(r, np.asarray(s[f"component:{r.name}"], float) * (1.0 if factor is None else factor))
             for r in roles if not r.multiplicative]
    return {"wave": wave, "flux": flux, "err": err, "good": good, "model": model, "factor": factor, "components": comps}


def _zoom_windows(wave: np.ndarray, options: PlotOptions) -> list:
    if wave.size < 2:
        return []
    lo, hi = np.nanmin(wave), np.nanmax(wave)
    out = []
    for label, w0, w1 in options.zoom_windows:
        covered = max(0.0, min(hi, w1) - max(lo, w0)) / (w1 - w0)
        if covered >= options.min_zoom_coverage:
            out.append((label, w0, w1))
    return out


def _ylim(arrays, sel, pad: float = 0.08) -> tuple[float, float]:
    vals = np.concatenate([np.asarray(a)[sel] for a in arrays])
    vals = vals[np.isfinite(vals)]
    if vals.size == 0:
        return (0.0, 1.0)
    lo, hi = np.percentile(vals, [0.5, 99.5])
    lo = min(lo, 0.0) if lo > -0.1 * abs(hi) else lo
    span = (hi - lo) or 1.0
    return lo - pad * span, hi + 2 * pad * span


def _draw_data_model(ax, a: dict, sel, lw: float = 0.6) -> None:
    w, f, e, good = a["wave"][sel], a["flux"][sel], a["err"][sel], a["good"][sel]
    shown = np.where(good, f, np.nan)
    ax.fill_between(w, shown - e, shown + e, step="mid", color="0.8", lw=0, label="data $\\pm1\\sigma$")
    ax.step(w, shown, where="mid", color=DATA_COLOR, lw=lw, label="data")
    if (~good).any():
        ax.plot(w[~good], f[~good], ".", color="0.6", ms=2, label="masked pixels")
    for r, c in a["components"]:
        ax.plot(w, c[sel], color=r.color, ls=r.linestyle, lw=1.0, label=r.label)
    ax.plot(w, a["model"][sel], color=MODEL_COLOR, lw=1.3, label="total model")


def _mark_lines(ax, w0: float, w1: float) -> None:
    try:
        from ..plugins.linelist import CATALOGUE
    except ImportError:
        return
    for name in MARKED_LINES:
        line = CATALOGUE.get(name)
        if line is not None and w0 < line.wave < w1:
            ax.axvline(line.wave, color="0.55", lw=0.6, ls=":", zorder=0)


def _main_panel(ax, a: dict, result) -> None:
    _draw_data_model(ax, a, slice(None))
    ax.set_ylim(*_ylim([a["flux"], a["model"]], a["good"]))
    ax.set_xlim(a["wave"][0], a["wave"][-1])
    ax.set_ylabel(flux_label(result.info.get("flux_unit")))
    ax.axhline(0.0, color="0.5", lw=0.5)
    z = float(result.info.get("z", 0.0))
    top = ax.secondary_xaxis("top", functions=(lambda w: w * (1.0 + z), lambda w: w / (1.0 + z)))
    top.set_xlabel("observed wavelength [Å]")
    if a["factor"] is not None:
        names = ", ".join(r.name for r in component_roles(result) if r.multiplicative)
        lo, hi = np.nanmin(a["factor"]), np.nanmax(a["factor"])
        ax.text(0.01, 0.02, f"components shown $\\times$ calibration factor ({names}: {lo:.3f}–{hi:.3f})",
                transform=ax.transAxes, fontsize=7.5, color="0.35", va="bottom")
    chi2 = result.info.get("chi2_reduced")
    if chi2 is not None and np.isfinite(chi2):
        ax.text(0.99, 0.97, f"$\\chi^2_\\nu$ = {float(chi2):.2f}", transform=ax.transAxes, ha="right", va="top")


def _residual_panel(ax, a: dict) -> None:
    with np.errstate(divide="ignore", invalid="ignore"):
        res = np.where(a["good"], (a["flux"] - a["model"]) / a["err"], np.nan)
    ax.step(a["wave"], res, where="mid", color=DATA_COLOR, lw=0.5)
    for y, ls in ((0.0, "-"), (-1.0, "--"), (1.0, "--")):
        ax.axhline(y, color=MODEL_COLOR if y == 0 else "0.5", lw=0.8, ls=ls)
    finite = res[np.isfinite(res)]
    lim = min(max(np.percentile(np.abs(finite), 99.0) * 1.2, 3.0), 10.0) if finite.size else 5.0
    ax.set_ylim(-lim, lim)
    ax.set_ylabel("(data $-$ model)/$\\sigma$")


def _zoom_panel(ax, a: dict, window, result) -> None:
    label, w0, w1 = window
    sel = (a["wave"] >= w0) & (a["wave"] <= w1)
    _draw_data_model(ax, a, sel, lw=0.8)
    _mark_lines(ax, w0, w1)
    ax.set_xlim(w0, w1)
    ax.set_ylim(*_ylim([a["flux"][sel], a["model"][sel]], a["good"][sel]))
    ax.set_title(label, fontsize=9, pad=3)
    ax.set_xlabel("rest-frame wavelength [Å]")


def plot_spectrum(result, options: PlotOptions | None = None):
    """Figure of the fitted spectrum of ``result`` (a matplotlib Figure), or None without spectrum arrays."""
    import matplotlib

    options = options or PlotOptions()
    if "flux" not in result.spectrum:
        return None
    a = spectrum_arrays(result)
    zooms = _zoom_windows(a["wave"], options)
    with matplotlib.rc_context(RC):
        ratios = [3.2] + ([1.0] if options.plot_residual else []) + ([2.0] if zooms else [])
        fig = new_figure(11.0, 2.2 * sum(ratios) / 1.7 + 0.6)
        outer = fig.add_gridspec(len(ratios), 1, height_ratios=ratios, hspace=0.0)
        main = fig.add_subplot(outer[0])
        _main_panel(main, a, result)
        bottom = main
        if options.plot_residual:
            bottom = fig.add_subplot(outer[1], sharex=main)
            _residual_panel(bottom, a)
            main.tick_params(labelbottom=False)
        bottom.set_xlabel("rest-frame wavelength [Å]")
        if zooms:
            inner = outer[-1].subgridspec(2, len(zooms), height_ratios=[0.32, 1.0], wspace=0.22)
            for i, win in enumerate(zooms):
                _zoom_panel(fig.add_subplot(inner[1, i]), a, win, result)
        handles, labels = main.get_legend_handles_labels()
        main.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, borderaxespad=0.0)
        put_title(main, title(result))
    return fig

"""The PSF-space figure: observed and synthetic PSF magnitudes, model spectra, filter curves.

Magnitudes are AB, wavelengths observed-frame A. The upper panel shows the
observed PSF magnitudes (filled: used in the fit; open grey: dropped, e.g.
for poor spectral coverage) with their errors, the synthetic magnitudes of
the model through the aperture model, and, when the fit stored them, the
PSF-aperture model spectrum (``psf_wave`` observed A, ``psf_model`` and
``psf_component:<name>`` in ``info["flux_unit"]`` erg s^-1 cm^-2 A^-1) as
AB magnitude per wavelength, next to the fiber (spectrum) model. The strip
below shows every band's response normalised to a peak of 1.
"""

from __future__ import annotations

import logging

import matplotlib
import numpy as np
from matplotlib.ticker import MaxNLocator

from .style import DATA_COLOR, MODEL_COLOR, RC, PlotOptions, ab_mag, component_roles, flux_label, new_figure, put_title, title

log = logging.getLogger(__name__)

#: magnitudes at or below this (AB) are taken as placeholders, not measurements, for dropped bands
MIN_PLAUSIBLE_MAG = 5.0


def _band_colors(waves) -> list:
    cmap = matplotlib.colormaps["turbo"]
    w = np.asarray(waves, float)
    ok = np.isfinite(w)
    if not ok.any() or np.ptp(w[ok]) == 0:
        return [cmap(0.5)] * len(w)
    t = np.where(ok, (w - np.nanmin(w)) / np.ptp(w[ok]), 0.5)
    return [cmap(0.1 + 0.8 * x) for x in t]


def _filter_curve(band: str):
    """(observed A, response / max) of ``band``, or None when the filter is unknown here."""
    try:
        from ..plugins.filters import band_grid

        w, r = band_grid(band)
    except Exception as exc:  # unknown filter or registry unavailable: the figure still draws the magnitudes
        log.info("no filter curve for %s (%s)", band, exc)
        return None
    r = np.asarray(r, float)
    return np.asarray(w, float), r / r.max() if r.max() > 0 else r


def _aperture_text(result) -> str:
    """``Delta m`` and ``eta`` summaries (median, 16/84 percentiles) when the fit has them."""
    out = []
    for suffix, label, unit in ((".delta_m", "$\\Delta m$", " mag"), (".eta", "$\\eta$", "")):
        for table in (result.derived, result.params):
            key = next((k for k in table if k.endswith(suffix) and k.count(".") == 1), None)
            if key is not None:
                s = table[key]
                m, lo, hi = s["median"], s["median"] - s["p16"], s["p84"] - s["median"]
                out.append(f"{label} = {m:.3f}$^{{+{hi:.3f}}}_{{-{lo:.3f}}}${unit}")
                break
    return "\n".join(out)


def _has_psf_space(ph: dict, options: PlotOptions) -> bool:
    return bool(options.plot_psf_space) and "psf_wave" in ph and "psf_model" in ph


def _model_mags(ax, result, flux_unit: float, options: PlotOptions) -> None:
    """Fiber (spectrum) model and, when stored, PSF-space model as AB magnitude per wavelength."""
    s, ph = result.spectrum, result.photometry
    if "model" in s and "wave" in s:
        ax.plot(s["wave"], ab_mag(s["wave"], np.asarray(s["model"]) * flux_unit), color="0.6", lw=0.8,
                label="fiber model (spectrum)")
    if _has_psf_space(ph, options):
        w = np.asarray(ph["psf_wave"], float)
        ax.plot(w, ab_mag(w, np.asarray(ph["psf_model"]) * flux_unit), color=MODEL_COLOR, lw=1.0,
                label="PSF-space model")


def _decomposition(ax, result) -> None:
    """PSF-space model and its additive components in flux units against observed wavelength."""
    ph = result.photometry
    w = np.asarray(ph["psf_wave"], float)
    total = np.asarray(ph["psf_model"], float)
    for r in component_roles(result):
        key = f"psf_component:{r.name}"
        if key in ph and not r.multiplicative:
            ax.plot(w, ph[key], color=r.color, ls=r.linestyle, lw=1.0, label=r.label)
    ax.plot(w, total, color=MODEL_COLOR, lw=1.3)
    good = total[np.isfinite(total)]
    if good.size:
        ax.set_ylim(min(0.0, np.percentile(good, 0.5)), 1.15 * np.percentile(good, 99.5))
    ax.axhline(0.0, color="0.5", lw=0.5)
    ax.yaxis.set_major_locator(MaxNLocator(5, prune="upper"))
    ax.set_ylabel(flux_label(result.info.get("flux_unit")).replace("$f_\\lambda$", "$f_\\lambda^\\mathrm{PSF}$"))
    ax.tick_params(labelbottom=False)


def _magnitudes(ax, ph: dict) -> tuple[float, float]:
    bands = list(ph["bands"])
    n = len(bands)
    wave = np.asarray(ph.get("wave_eff", np.full(n, np.nan)), float)
    kept = np.asarray(ph.get("kept", np.ones(n, bool)), bool)
    obs, err = np.asarray(ph["mag_obs"], float), np.asarray(ph.get("mag_err", np.zeros(n)), float)
    model = np.asarray(ph.get("mag_model", np.full(n, np.nan)), float)
    # a dropped band may carry a placeholder (e.g. 0 mag) instead of its magnitude: only real ones are drawn
    real = np.isfinite(obs) & np.isfinite(err) & (kept | (obs > MIN_PLAUSIBLE_MAG))
    for i in np.nonzero(real)[0]:
        ax.errorbar(wave[i], obs[i], yerr=err[i], fmt="o" if kept[i] else "s", ms=5 if kept[i] else 7,
                    mfc=DATA_COLOR if kept[i] else "white", mec=DATA_COLOR if kept[i] else "0.5",
                    ecolor=DATA_COLOR if kept[i] else "0.5", capsize=2, zorder=5)
    for i in np.nonzero(~kept & ~real & np.isfinite(wave))[0]:
        ax.axvline(wave[i], color="0.6", lw=0.8, ls=":", zorder=1)
    ax.plot(wave, model, "D", ms=10, mfc="none", mec=MODEL_COLOR, mew=1.5, zorder=4, label="synthetic PSF mag (model)")
    ax.plot([], [], "o", color=DATA_COLOR, ms=5, label="observed PSF mag (fitted)")
    if (~kept & real).any():
        ax.plot([], [], "s", mfc="white", mec="0.5", ms=7, label="observed PSF mag (dropped)")
    if (~kept & ~real).any():
        ax.plot([], [], color="0.6", lw=0.8, ls=":", label="dropped band (no magnitude)")
    shown = real & np.isfinite(obs)
    vals = np.concatenate([obs[shown] + err[shown], obs[shown] - err[shown], model[np.isfinite(model)]])
    if vals.size == 0:
        return 25.0, 15.0
    return float(vals.max() + 0.4), float(vals.min() - 0.4)


def plot_psf(result, options: PlotOptions | None = None):
    """PSF-space figure of ``result`` (a matplotlib Figure), or None when it has no photometry."""
    options = options or PlotOptions()
    ph = result.photometry
    if not ph or "bands" not in ph or len(ph["bands"]) == 0 or "mag_obs" not in ph:
        return None
    bands = list(ph["bands"])
    flux_unit = float(result.info.get("flux_unit", 1.0) or 1.0)
    colors = _band_colors(ph.get("wave_eff", np.full(len(bands), np.nan)))
    z = float(result.info.get("z", 0.0))
    psf_space = _has_psf_space(ph, options)
    with matplotlib.rc_context(RC):
        ratios = [3.0] + ([2.0] if psf_space else []) + [1.0]
        fig = new_figure(8.5, 1.45 * sum(ratios) + 0.8)
        gs = fig.add_gridspec(len(ratios), 1, height_ratios=ratios, hspace=0.0)
        ax = fig.add_subplot(gs[0])
        strip = fig.add_subplot(gs[-1], sharex=ax)
        _model_mags(ax, result, flux_unit, options)
        faint, bright = _magnitudes(ax, ph)
        ax.set_ylim(faint, bright)
        ax.set_ylabel("AB magnitude")
        ax.yaxis.set_major_locator(MaxNLocator(7, prune="both"))  # no label clash with the panel below
        ax.tick_params(labelbottom=False)
        if psf_space:
            dec = fig.add_subplot(gs[1], sharex=ax)
            _decomposition(dec, result)
            dec.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, borderaxespad=0.0,
                       title="PSF-space components", title_fontsize=8.5)
        kept = np.asarray(ph.get("kept", np.ones(len(bands), bool)), bool)
        for i, b in enumerate(bands):
            curve = _filter_curve(b)
            if curve is None:
                continue
            w, r = curve
            strip.fill_between(w, 0, r, color=colors[i], alpha=0.3 if kept[i] else 0.08, lw=0)
            strip.plot(w, r, color=colors[i] if kept[i] else "0.5", lw=1.0, ls="-" if kept[i] else "--")
            strip.text(w[np.argmax(r)], 1.04, b.split("-")[-1], ha="center", va="bottom", fontsize=8)
        strip.set_ylim(0, 1.35)
        strip.set_ylabel("response")
        strip.set_xlabel("observed wavelength [Å]")
        text = _aperture_text(result)
        if text:
            ax.text(0.02, 0.04, text, transform=ax.transAxes, va="bottom", fontsize=9,
                    bbox={"fc": "white", "ec": "0.7", "lw": 0.5})
        top = ax.secondary_xaxis("top", functions=(lambda w: w / (1.0 + z), lambda w: w * (1.0 + z)))
        top.set_xlabel("rest-frame wavelength [Å]")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, borderaxespad=0.0)
        put_title(ax, title(result) + "   (PSF photometry)")
    return fig

"""Corner plot of posterior samples of parameters and derived quantities.

The diagonal shows each quantity's marginal histogram with its median and
16th/84th percentiles; below it, every pair's 2-D histogram with contours
enclosing 39.3% and 86.5% of the samples (the 1- and 2-sigma regions of a 2-D
Gaussian). Quantities spanning many decades (luminosities) are shown as log10.

Parameter samples have shape (n_chain, n_draw); derived samples are flat and
may be a thinned subset (evenly spaced indices of the flattened draws), which
is undone here by thinning the parameter samples the same way.
"""

from __future__ import annotations

import fnmatch
import logging

import matplotlib
import numpy as np
from matplotlib.ticker import MaxNLocator

from .style import BLUE, DEFAULT_CORNER, RC, PlotOptions, new_figure, param_label, title

log = logging.getLogger(__name__)

#: contours need this many samples; fewer are shown as points only
MIN_CONTOUR_SAMPLES = 50
#: probability mass inside the 1- and 2-sigma contours of a 2-D Gaussian
CONTOUR_MASS = (0.393, 0.865)
NUISANCE = ("*jitter*", "*.c_*", "*sigma_extra*", "*frac*")


def _flat_samples(result) -> tuple[dict, dict]:
    params = {k: np.reshape(np.asarray(v, float), -1) for k, v in result.samples.items()}
    derived = {k: np.reshape(np.asarray(v, float), -1) for k, v in result.derived_samples.items()}
    n_p = max((v.size for v in params.values()), default=0)
    n_d = max((v.size for v in derived.values()), default=0)
    if n_p and n_d and n_d < n_p:  # derived quantities were computed on evenly thinned draws
        idx = np.linspace(0, n_p - 1, n_d).astype(int)
        params = {k: v[idx] if v.size == n_p else v for k, v in params.items()}
    elif n_p and n_d and n_p < n_d:
        idx = np.linspace(0, n_d - 1, n_p).astype(int)
        derived = {k: v[idx] if v.size == n_d else v for k, v in derived.items()}
    return params, derived


def _usable(x: np.ndarray) -> bool:
    x = x[np.isfinite(x)]
    return x.size >= 2 and np.ptp(x) > 0


def corner_samples(result, names=None, max_params: int = 6) -> dict:
    """Flat, aligned samples of the quantities to show, by name.

    Args:
        result: a FitResult.
        names: names or shell patterns (``"*.eta"``); None picks from
            :data:`~agnfit.plotting.style.DEFAULT_CORNER` and tops up with
            free parameters (no jitter / calibration terms) to at least 4.
        max_params: at most this many quantities.
    """
    params, derived = _flat_samples(result)
    pool = {**params, **derived}
    size = max((v.size for v in pool.values()), default=0)
    pool = {k: v for k, v in pool.items() if v.size == size}
    chosen = []
    for pat in names if names is not None else DEFAULT_CORNER:
        for k in sorted(fnmatch.filter(pool, pat)):
            if k not in chosen and _usable(pool[k]):
                chosen.append(k)
                break
    if names is None and len(chosen) < 4:
        for k in params:
            if k in pool and k not in chosen and _usable(pool[k]) and not any(fnmatch.fnmatch(k, p) for p in NUISANCE):
                chosen.append(k)
            if len(chosen) >= 4:
                break
    return {k: pool[k] for k in chosen[:max_params]}


def _display(name: str, x: np.ndarray) -> tuple[np.ndarray, str]:
    good = x[np.isfinite(x)]
    if good.size and np.all(good > 0) and np.median(good) > 1e10:
        with np.errstate(divide="ignore"):
            return np.log10(x), "log " + param_label(name)
    return x, param_label(name)


def _range(x: np.ndarray) -> tuple[float, float]:
    good = x[np.isfinite(x)]
    lo, hi = np.percentile(good, [0.5, 99.5])
    pad = 0.05 * (hi - lo) if hi > lo else max(abs(lo) * 0.01, 0.5)
    return lo - pad, hi + pad


def _levels(h: np.ndarray) -> list:
    flat = np.sort(h.ravel())[::-1]
    cum = np.cumsum(flat)
    if cum[-1] <= 0:
        return []
    cum /= cum[-1]
    levels = sorted({float(flat[min(np.searchsorted(cum, m), flat.size - 1)]) for m in CONTOUR_MASS})
    return [lv for lv in levels if lv > 0]


def _fmt(m: float, lo: float, hi: float) -> str:
    err = min(x for x in (lo, hi) if x > 0) if (lo > 0 or hi > 0) else abs(m) or 1.0
    digits = max(0, 1 - int(np.floor(np.log10(err))))
    return f"{m:.{digits}f}$^{{+{hi:.{digits}f}}}_{{-{lo:.{digits}f}}}$"


def _bins(n: int, per_bin: float) -> int:
    """Histogram bins for ``n`` samples: about ``per_bin`` samples per bin along one axis, 10-40."""
    return int(np.clip(np.sqrt(n) * per_bin, 10, 40))


def _pair(ax, x, y, rx, ry) -> None:
    from scipy.ndimage import gaussian_filter

    ok = np.isfinite(x) & np.isfinite(y)
    ax.plot(x[ok], y[ok], ".", color="0.35", ms=1.5, alpha=0.35, rasterized=True)
    if ok.sum() < MIN_CONTOUR_SAMPLES:
        ax.set_xlim(*rx)
        ax.set_ylim(*ry)
        return
    h, xe, ye = np.histogram2d(x[ok], y[ok], bins=_bins(int(ok.sum()), 0.8), range=[rx, ry])
    h = gaussian_filter(h, 1.0)
    levels = _levels(h)
    if len(levels) >= 1:
        xc, yc = 0.5 * (xe[1:] + xe[:-1]), 0.5 * (ye[1:] + ye[:-1])
        ax.contourf(xc, yc, h.T, levels=levels + [h.max() * 1.0001], colors=[BLUE], alpha=0.25)
        ax.contour(xc, yc, h.T, levels=levels, colors=[BLUE], linewidths=1.0)
    ax.set_xlim(*rx)
    ax.set_ylim(*ry)


def _diagonal(ax, x, r, label: str) -> None:
    good = x[np.isfinite(x)]
    bins = _bins(good.size, 1.2)
    ax.hist(good, bins=bins, range=r, histtype="stepfilled", color=BLUE, alpha=0.25)
    ax.hist(good, bins=bins, range=r, histtype="step", color=BLUE, lw=1.2)
    p16, p50, p84 = np.percentile(good, [16, 50, 84])
    for v, ls in ((p16, "--"), (p50, "-"), (p84, "--")):
        ax.axvline(v, color="k", lw=0.8, ls=ls)
    ax.set_title(f"{label}\n= {_fmt(p50, p50 - p16, p84 - p50)}", fontsize=8.5)
    ax.set_xlim(*r)
    ax.set_yticks([])


def plot_corner(result, options: PlotOptions | None = None):
    """Corner-plot Figure of ``result``'s posterior samples, or None when there is nothing to show.

    A MAP-only result (one sample) has no posterior spread to draw: this
    logs why and returns None.
    """
    options = options or PlotOptions()
    samples = corner_samples(result, options.corner_params, options.max_corner_params)
    n = max((v.size for v in samples.values()), default=0)
    if n < 2 or not samples:
        n_all = max((np.size(v) for v in result.samples.values()), default=0)
        why = f"a MAP-only result ({n_all} sample)" if n_all <= 1 else "no quantities with spread in the samples"
        log.warning("%s: no corner plot: %s", result.name, why)
        return None
    names = list(samples)
    shown = [_display(k, samples[k]) for k in names]
    k = len(names)
    ranges = [_range(x) for x, _ in shown]
    with matplotlib.rc_context({**RC, "xtick.top": False, "ytick.right": False}):
        size = max(2.0 * k, 4.0)
        fig = new_figure(size, size)
        axes = np.atleast_2d(fig.subplots(k, k, squeeze=False))
        for i in range(k):
            for j in range(k):
                ax = axes[i, j]
                if j > i:
                    ax.set_visible(False)
                    continue
                if i == j:
                    _diagonal(ax, shown[i][0], ranges[i], shown[i][1])
                else:
                    _pair(ax, shown[j][0], shown[i][0], ranges[j], ranges[i])
                ax.xaxis.set_major_locator(MaxNLocator(4, prune="both"))
                if i != j:
                    ax.yaxis.set_major_locator(MaxNLocator(4, prune="both"))
                if i == k - 1:
                    ax.set_xlabel(shown[j][1])
                    ax.tick_params(axis="x", labelrotation=45)
                else:
                    ax.tick_params(labelbottom=False)
                if j == 0 and i > 0:
                    ax.set_ylabel(shown[i][1])
                    ax.tick_params(axis="y", labelrotation=45)
                elif i != j:
                    ax.tick_params(labelleft=False)
        fig.subplots_adjust(wspace=0.06, hspace=0.06)
        fig.text(0.88, 0.86, f"{title(result)}\n{n} posterior samples", ha="right", va="top", fontsize=12)
    return fig

"""Figures of a :class:`~agnfit.core.result.FitResult` (matplotlib, no display needed).

* :func:`~agnfit.plotting.spectrum.plot_spectrum`: data, model, components,
  residuals and line-complex zooms in rest-frame wavelength;
* :func:`~agnfit.plotting.psf.plot_psf`: observed vs synthetic PSF magnitudes,
  PSF-space model spectrum and filter curves in observed wavelength;
* :func:`~agnfit.plotting.corner.plot_corner`: corner plot of posterior samples.

:func:`plot_result` writes any of them as PNG and PDF, :func:`make_figures`
returns them unsaved (for display); what they show is set by :class:`PlotOptions`.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

from .corner import corner_samples, plot_corner
from .psf import plot_psf
from .spectrum import plot_spectrum
from .style import RC, PlotOptions, component_roles

KINDS = ("spectrum", "psf", "corner")
_MAKERS = {"spectrum": plot_spectrum, "psf": plot_psf, "corner": plot_corner}


def make_figures(result, kinds=KINDS, options: PlotOptions | None = None) -> dict:
    """The figures of ``result`` by kind (matplotlib Figures, not saved); kinds with nothing to show are left out.

    ``kinds`` and ``options`` as in :func:`plot_result`.
    """
    options = options or PlotOptions()
    unknown = [k for k in kinds if k not in _MAKERS]
    if unknown:
        raise ValueError(f"unknown figure kind(s) {unknown}; choose from {list(KINDS)}")
    figs = {kind: _MAKERS[kind](result, options) for kind in kinds}
    return {k: f for k, f in figs.items() if f is not None}


def plot_result(result, path_stem, kinds=KINDS, options: PlotOptions | None = None) -> list[Path]:
    """Write the figures of ``result`` as ``<path_stem>_<kind>.<format>`` files.

    Args:
        result: a FitResult.
        path_stem: output path without suffix, e.g. ``"out/spec-0332-52367-0639"``
            (its directory is created if needed).
        kinds: any of ``"spectrum"``, ``"psf"``, ``"corner"``. A figure with
            nothing to show (no photometry; a MAP-only result for the corner
            plot) is skipped with a logged message.
        options: :class:`PlotOptions` (default: residuals, PSF-space model,
            default zoom windows and corner quantities, PNG and PDF).

    Returns:
        The paths written.
    """
    options = options or PlotOptions()
    figs = make_figures(result, kinds, options)
    stem = Path(path_stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    out = []
    for kind, fig in figs.items():
        with matplotlib.rc_context(RC):
            for fmt in options.formats:
                path = stem.with_name(f"{stem.name}_{kind}.{fmt}")
                fig.savefig(path, format=fmt, dpi=options.dpi)
                out.append(path)
    return out


__all__ = ["KINDS", "PlotOptions", "component_roles", "corner_samples", "make_figures", "plot_corner", "plot_psf",
           "plot_result", "plot_spectrum"]

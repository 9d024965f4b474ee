"""Result figures: ``from agnfit.plots import plot_result, PlotOptions``.

The figures live in :mod:`agnfit.plotting` (one module per figure); this
module is the short public import path.
"""

from .plotting import KINDS, PlotOptions, corner_samples, plot_corner, plot_psf, plot_result, plot_spectrum

__all__ = ["KINDS", "PlotOptions", "corner_samples", "plot_corner", "plot_psf", "plot_result", "plot_spectrum"]

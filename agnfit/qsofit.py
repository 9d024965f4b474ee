"""``QSOFit``: the familiar notebook API, as a facade over ``agnfit.fit``.

    q = QSOFit(lam, flux, err, z, ra=ra, dec=dec, filename="obj", output_path="out")
    q.fit(deredden=True, fit_method="optax+nuts", decompose_host=True,
          use_psf_phot=True, psf_mags=mags, psf_mag_errs=errs, psf_bands=bands)
    q.frac_host_4200, q.eta_psf, q.delta_m_psf, q.plot_fig()

``fit`` translates its keyword arguments into a :class:`agnfit.config.Config`
(in :func:`config_from_kwargs`) and calls the same pipeline as the CLI; the
object holds no model logic. Unknown keyword arguments are errors.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from .config import load_config
from .core.data import Photometry, Spectrum
from .defaults import DEFAULT_CONFIG
from .errors import ConfigError

SDSS_BANDS = ("sdss2010-u", "sdss2010-g", "sdss2010-r", "sdss2010-i", "sdss2010-z")


def build_default_prior_config(flux) -> dict:
    """The prior dictionary of the familiar API, for a spectrum with flux array ``flux``.

    Amplitudes are in units of the median |flux| (agnfit fits normalised
    spectra), so the defaults hold for any flux scale; ``flux`` is checked
    and its median recorded under ``flux_median``. Keys:

    * ``PL_slope``: Normal ``{loc, scale}`` of the power-law slope alpha (f_lambda ~ lambda^alpha);
    * ``log_Fe_uv_norm``: Normal ``{loc, scale}`` of ln(integrated UV Fe II flux / median flux / A);
    * ``log_Fe_op_over_uv``: Normal ``{loc, scale}`` of ln(optical / UV Fe II flux), which with the
      previous entry sets the optical template's log-normal prior;
    * ``line_dmu_scale_mult``, ``line_sig_scale_mult``, ``line_amp_scale_mult``: multipliers of
      the emission lines' velocity-shift bound, upper FWHM bound and flux prior scale;
    * ``frac_jitter_scale``, ``add_jitter_scale``: half-normal scales of the jitter terms.
    """
    f = np.asarray(flux, float)
    good = f[np.isfinite(f)]
    if good.size == 0:
        raise ConfigError("build_default_prior_config: flux has no finite value")
    return {
        "flux_median": float(np.median(np.abs(good))),
        "PL_slope": {"loc": -1.5, "scale": 1.0},
        "log_Fe_uv_norm": {"loc": float(np.log(30.0)), "scale": 1.5},
        "log_Fe_op_over_uv": {"loc": 0.0, "scale": 1.5},
        "line_dmu_scale_mult": 1.0,
        "line_sig_scale_mult": 1.0,
        "line_amp_scale_mult": 1.0,
        "frac_jitter_scale": 0.05,
        "add_jitter_scale": 0.05,
    }


@dataclasses.dataclass
class FitOptions:
    """The keyword arguments of :meth:`QSOFit.fit`, with their defaults."""

    deredden: bool = True
    fit_method: str = "optax"
    fit_lines: bool = True
    decompose_host: bool = True
    fit_fe: bool = True
    fit_bc: bool = True
    fit_poly: bool = True
    fsps_age_grid: tuple | None = None
    fsps_logzsol_grid: tuple | None = None
    prior_config: dict | None = None
    dsps_ssp_fn: str | None = None
    optax_steps: int | None = None
    optax_lr: float | None = None
    nuts_warmup: int = 500
    nuts_samples: int = 500
    nuts_chains: int = 4
    plot_fig: bool = False
    save_fig: bool = False
    save_result: bool = False
    use_psf_phot: bool = False
    psf_mags: object = None
    psf_mag_errs: object = None
    psf_bands: object = None
    kwargs_plot: dict | None = None


FIT_KEYS = tuple(f.name for f in dataclasses.fields(FitOptions))


def _components(o: FitOptions, pc: dict) -> dict:
    base = DEFAULT_CONFIG["components"]
    comps = {"power_law": dict(base["power_law"])}
    if o.fit_fe:
        comps["feii_uv"] = dict(base["feii_uv"])
        comps["feii_optical"] = dict(base["feii_optical"])
    if o.fit_bc:
        comps["balmer_continuum"] = dict(base["balmer_continuum"])
    if o.decompose_host:
        host = dict(base["host"])
        if o.fsps_age_grid is not None:
            host["ages"] = [float(a) for a in o.fsps_age_grid]
        if o.fsps_logzsol_grid is not None:
            host["logzsol"] = [float(z) for z in o.fsps_logzsol_grid]
        if o.dsps_ssp_fn is not None:
            host["ssp_file"] = str(o.dsps_ssp_fn)
        comps["host"] = host
    if o.fit_lines:
        for name, fwhm, dv, amp in (("broad_lines", (1200.0, 20000.0), 3000.0, 200.0), ("narrow_lines", (100.0, 1000.0), 1000.0, 50.0)):
            comps[name] = {
                "type": base[name]["type"],
                "fwhm_range": [fwhm[0], fwhm[1] * pc["line_sig_scale_mult"]],
                "dv_max": dv * pc["line_dmu_scale_mult"],
                "flux_scale": amp * pc["line_amp_scale_mult"],
            }
    if o.fit_poly:
        comps["poly"] = dict(base["poly"])
    return comps


def _priors(o: FitOptions, pc: dict) -> dict:
    out = {"power_law.alpha": {"dist": "Normal", **pc["PL_slope"]}}
    if o.fit_fe:
        uv, ratio = pc["log_Fe_uv_norm"], pc["log_Fe_op_over_uv"]
        out["feii_uv.norm"] = {"dist": "LogNormal", "loc": uv["loc"], "scale": uv["scale"]}
        out["feii_optical.norm"] = {"dist": "LogNormal", "loc": uv["loc"] + ratio["loc"],
                                    "scale": float(np.hypot(uv["scale"], ratio["scale"]))}
    out["noise.frac_jitter"] = {"dist": "HalfNormal", "scale": pc["frac_jitter_scale"]}
    out["noise.add_jitter"] = {"dist": "HalfNormal", "scale": pc["add_jitter_scale"]}
    return out


def _inference(o: FitOptions) -> list:
    stage = {"type": "map"}
    if o.optax_steps is not None:
        stage["max_steps"] = int(o.optax_steps)
    if o.optax_lr is not None:  # the familiar first-order optimiser, with its step size
        stage.update(optimizer="adam", learning_rate=float(o.optax_lr))
    stages = [stage]
    method = o.fit_method.lower()
    if method == "optax+nuts":
        stages.append({"type": "nuts", "num_warmup": int(o.nuts_warmup), "num_samples": int(o.nuts_samples),
                       "num_chains": int(o.nuts_chains)})
    elif method == "optax+laplace":
        stages.append({"type": "laplace"})
    elif method != "optax":
        raise ConfigError(f"fit_method must be 'optax', 'optax+nuts' or 'optax+laplace', got {o.fit_method!r}")
    return stages


def config_from_kwargs(o: FitOptions, flux) -> "Config":  # noqa: F821
    """The Config equivalent to the familiar keyword arguments (the one translation)."""
    pc = build_default_prior_config(flux)
    if o.prior_config:
        unknown = sorted(set(o.prior_config) - set(pc))
        if unknown:
            raise ConfigError(f"prior_config has unknown key(s) {unknown}; known: {sorted(pc)}")
        pc.update(o.prior_config)
    raw = {
        "data": {"deredden": bool(o.deredden)},
        "components": _components(o, pc),
        "aperture": {"type": "eta_delta_m"},
        "photometry": {"bands": list(o.psf_bands) if o.use_psf_phot else []},
        "inference": _inference(o),
        "priors": _priors(o, pc),
    }
    return load_config(raw)


class QSOFit:
    """The familiar object API: construct with the spectrum, call :meth:`fit`, read attributes.

    Args:
        lam: observed-frame wavelength (A).
        flux, err: f_lambda and its 1-sigma error (1e-17 erg/s/cm^2/A).
        z: redshift.
        ra, dec: sky position (deg), for the Galactic dust map.
        filename: object name (used for output files).
        output_path: directory for figures and result files.

    After ``fit(plot_fig=True)`` the figures are in ``figures`` (by kind);
    after ``fit(save_fig=True)`` the written files are in ``figure_paths``.
    """

    def __init__(self, lam, flux, err, z, ra=None, dec=None, filename: str = "qso", output_path: str = "."):
        self.spectrum = Spectrum(lam, flux, err, z, ra=ra, dec=dec, name=str(filename))
        self.z, self.ra, self.dec = float(z), ra, dec
        self.filename = str(filename)
        self.output_path = Path(output_path)
        self.result = None

    def fit(self, **kwargs) -> "QSOFit":
        """Fit; keyword arguments as in :class:`FitOptions` (an unknown one is an error)."""
        from .fit import fit

        unknown = sorted(set(kwargs) - set(FIT_KEYS))
        if unknown:
            raise ConfigError(f"QSOFit.fit got unknown keyword argument(s) {unknown}; allowed: {list(FIT_KEYS)}")
        o = FitOptions(**kwargs)
        phot = None
        if o.use_psf_phot:
            if o.psf_mags is None or o.psf_mag_errs is None:
                raise ConfigError("use_psf_phot=True needs psf_mags and psf_mag_errs")
            if o.psf_bands is None:
                o.psf_bands = SDSS_BANDS[: len(np.atleast_1d(o.psf_mags))]
            phot = Photometry(tuple(o.psf_bands), o.psf_mags, o.psf_mag_errs)
        self.config = config_from_kwargs(o, self.spectrum.flux)
        self.options = o
        self.result = fit(self.spectrum, self.config, phot)
        self._expose()
        if o.save_result:
            self.result.save(self.output_path)
        if o.plot_fig or o.save_fig:
            drawn = self.plot_fig(save=o.save_fig, **dict(o.kwargs_plot or {}))
            if o.save_fig:
                self.figure_paths = drawn
            else:
                self.figures = drawn
        return self

    def _expose(self) -> None:
        r = self.result
        s = r.spectrum
        self.wave, self.flux, self.err = s["wave_rest"], s["flux"], s["err"]
        self.model_total = s["model"]
        self.components = {k.split(":", 1)[1]: v for k, v in s.items() if k.startswith("component:")}
        for name, arr in self.components.items():
            setattr(self, f"f_{name}_model", arr)
        self.numpyro_samples = {k: np.asarray(v).reshape(-1) for k, v in r.samples.items()}
        for short in ("frac_jitter", "add_jitter", "phot_extra"):
            if f"noise.{short}" in self.numpyro_samples:
                self.numpyro_samples[short] = self.numpyro_samples[f"noise.{short}"]
        table = {**r.params, **r.derived}
        self.derived = {k: v["median"] for k, v in table.items()}
        self.derived_err = {k: 0.5 * (v["p84"] - v["p16"]) for k, v in table.items()}
        for w in (2500, 4200, 5100):
            setattr(self, f"frac_host_{w}", self.derived.get(f"host_fraction.{w}", np.nan))
            setattr(self, f"frac_host_psf_{w}", self.derived.get(f"host_fraction_psf.{w}", np.nan))
        self.psf_bands = list(r.info.get("kept_bands", []))
        self.delta_m_psf = self.derived.get("psf.delta_m", np.nan)
        self.delta_m_psf_err = self.derived_err.get("psf.delta_m", np.nan)
        self.eta_psf = self.derived.get("psf.eta", np.nan)
        self.eta_psf_err = self.derived_err.get("psf.eta", np.nan)
        self.scale_psf = self.derived.get("psf.scale", np.nan)
        self.converged = r.converged

    def __getattr__(self, name):
        # every derived quantity by its name with '.' -> '__' (e.g. q.broad_lines__Hb__fwhm)
        derived = self.__dict__.get("derived")
        key = name.replace("__", ".")
        if derived is not None and key in derived:
            return derived[key]
        raise AttributeError(name)

    def plot_fig(self, plot_residual: bool = True, plot_psf_space: bool = True, save: bool = True):
        """Draw the spectrum, PSF-space and corner figures.

        With ``save`` they are written as PNG/PDF under ``output_path`` and the
        paths are returned; without, the matplotlib Figures are returned by kind
        (``"spectrum"``, ``"psf"``, ``"corner"``), for display.
        """
        if self.result is None:
            raise ConfigError("call fit() before plot_fig()")
        from .plotting import PlotOptions, make_figures, plot_result

        kinds = ("spectrum", "psf", "corner") if plot_psf_space else ("spectrum", "corner")
        opts = PlotOptions(plot_residual=plot_residual, plot_psf_space=plot_psf_space)
        if not save:
            return make_figures(self.result, kinds, opts)
        self.output_path.mkdir(parents=True, exist_ok=True)
        return plot_result(self.result, self.output_path / self.filename, kinds=kinds, options=opts)

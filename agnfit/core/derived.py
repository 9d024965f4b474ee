"""Derived physical quantities, computed for every posterior sample.

For each sample of the parameters (vmapped in JAX) this module computes

* host fractions at the configured rest wavelengths: in the fiber,
  ``f_host = host / (AGN continuum + host)`` (extended vs point components of
  the continuum group), and in the photometric aperture, the same ratio after
  the aperture model (``eta * host / (AGN + eta * host)`` for ``EtaDeltaM``);
* monochromatic continuum luminosities lambda L_lambda (erg/s) of the AGN
  power-law continuum at 1350, 3000, 5100 A (configurable), using the
  configured astropy cosmology (luminosity distance d_L):
  ``lambda L_lambda = 4 pi d_L^2 lambda_obs f_lambda(lambda_obs)``;
* per emission line (each line of each line component): FWHM, sigma (square
  root of the second moment), integrated observed flux (erg/s/cm^2), line
  luminosity, rest-frame equivalent width against the total continuum, peak
  wavelength and velocity offset of the peak, all from the intrinsic profile
  (instrumental broadening removed);
* aperture-model quantities (delta_m, eta, scale s).

Black-hole masses, bolometric luminosities and Eddington ratios are then
formed from these (``agnfit.plugins.blackhole``). Summaries are the median
and 16th/84th percentiles.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .checks import checked
from .jit import fit_jit
from .names import derived_name, full_name, local_params

C_KMS = 299792.458
N_VGRID = 2401
V_MAX = 30000.0


def _sum(fluxes):
    fluxes = list(fluxes)
    return sum(fluxes[1:], fluxes[0]) if fluxes else 0.0


@checked(hint="v (velocity grid) and f (profile) must be 1-D float arrays of one length")
def fwhm_of(v: Float[Array, " n"] | Float[np.ndarray, " n"], f: Float[Array, " n"] | Float[np.ndarray, " n"]):
    """FWHM (same units as ``v``) of a single-peaked profile ``f`` sampled on uniform ``v``."""
    i_pk = jnp.argmax(f)
    half = 0.5 * f[i_pk]
    above = f >= half
    n = f.shape[0]
    i_lo = jnp.argmax(above)
    i_hi = n - 1 - jnp.argmax(above[::-1])

    def cross(i_in, i_out):
        f_in, f_out = f[i_in], f[i_out]
        t = (f_in - half) / jnp.where(f_in != f_out, f_in - f_out, 1.0)
        return v[i_in] + t * (v[i_out] - v[i_in])

    lo = cross(i_lo, jnp.maximum(i_lo - 1, 0))
    hi = cross(i_hi, jnp.minimum(i_hi + 1, n - 1))
    return hi - lo


def line_measures(comp, lines: list, params_local: dict, ctx, cont) -> dict:
    """FWHM, sigma (km/s), flux (model units x A, rest), peak offset (km/s) and EW (A) of ``lines`` of one component.

    Each line's intrinsic profile is evaluated on its own velocity grid (the
    lines have their own parameters); the measures are taken on all of them at
    once, so the derived-quantities program holds one copy of the measuring
    code per component rather than one per line. Returns arrays of
    ``len(lines)``. ``cont``: the continuum flux density at each line's rest
    wavelength (for the EW).
    """
    v = jnp.linspace(-V_MAX, V_MAX, N_VGRID)
    w0 = jnp.asarray([comp.line_rest_wave(line) for line in lines], dtype=float)
    wave = w0[:, None] * (1.0 + v / C_KMS)
    f = jnp.stack([comp.line_profile(wave[i], params_local, ctx, line, intrinsic=True) for i, line in enumerate(lines)])
    dw = wave[:, 1] - wave[:, 0]
    flux = jnp.sum(f, axis=1) * dw
    norm = jnp.where(flux > 0, flux, 1.0)
    vmean = jnp.sum(f * v, axis=1) * dw / norm
    sigma = jnp.sqrt(jnp.maximum(jnp.sum(f * (v - vmean[:, None]) ** 2, axis=1) * dw / norm, 0.0))
    vpeak = v[jnp.argmax(f, axis=1)]
    ew = flux / jnp.where(cont > 0, cont, jnp.nan)
    return {"fwhm": jax.vmap(fwhm_of, (None, 0))(v, f), "sigma": sigma, "flux_model": flux, "voff_peak": vpeak,
            "wave_peak": w0 * (1.0 + vpeak / C_KMS), "ew": ew}


def derived_one(model, params: dict, data, settings: dict) -> dict:
    """All derived quantities for one parameter set (jnp scalars), by derived name."""
    out = {}
    ctx = data.ctx.unprepared()  # evaluated away from the spectrum's pixels
    params = model.complete(params)
    cont_comps = [c for c in model.components if c.group == "continuum" and c.operation == "add"]
    agn_types = settings["agn_continuum"]
    line_comps = [c for c in model.components if c.group == "line" and hasattr(c, "line_names")]
    lines = [(c, line) for c in line_comps for line in c.line_names()]
    # every continuum wavelength needed below, so each continuum component is evaluated (and traced) once
    hw_list, cw_list = settings["host_fraction_wavelengths"], settings["continuum_wavelengths"]
    waves = jnp.asarray([*hw_list, *cw_list, *(c.line_rest_wave(line) for c, line in lines)], dtype=float)
    at = {c.name: c(waves, local_params(c.name, params), ctx) for c in cont_comps}

    def flux_of(comps):
        return _sum(at[c.name] for c in comps) if comps else jnp.zeros_like(waves)

    n_hw, n_cw = len(hw_list), len(cw_list)
    point = flux_of([c for c in cont_comps if c.morphology == "point"])[:n_hw]
    ext = flux_of([c for c in cont_comps if c.morphology == "extended"])[:n_hw]
    tot = point + ext
    for i, w in enumerate(hw_list):
        out[derived_name("host_fraction", f"{w:g}")] = ext[i] / jnp.where(tot[i] != 0, tot[i], jnp.nan)
    if model.aperture is not None:
        morph = {"p": "point", "e": "extended"}
        ap_params = local_params(model.aperture.name, params)
        ap_ext = model.aperture({"e": ext[None]}, morph, ap_params)
        ap_tot = model.aperture({"p": point[None], "e": ext[None]}, morph, ap_params)
        ratio = jnp.mean(ap_ext / jnp.where(ap_tot != 0, ap_tot, jnp.nan), axis=0)
        for i, w in enumerate(hw_list):
            out[derived_name("host_fraction_psf", f"{w:g}")] = ratio[i]
        for k, val in {**ap_params, **model.aperture.derived(ap_params)}.items():
            out[full_name(model.aperture.name, k)] = val
    for c in model.components:
        for k, val in c.derived(local_params(c.name, params)).items():
            out[full_name(c.name, k)] = val
    # continuum luminosities: lambda L_lambda = 4 pi dL^2 * lambda_obs * f_lambda,obs (erg/s)
    four_pi_dl2 = settings["four_pi_dl2"]
    fcont = flux_of([c for c in cont_comps if c.name in agn_types])[n_hw : n_hw + n_cw] * data.flux_scale
    for i, w in enumerate(cw_list):
        out[derived_name(f"L{w:g}")] = four_pi_dl2 * w * (1.0 + data.z) * fcont[i]
    cont_at_lines = flux_of(cont_comps)[n_hw + n_cw :]
    j = 0
    for c in line_comps:
        names = list(c.line_names())
        if not names:
            continue
        m = line_measures(c, names, local_params(c.name, params), ctx, cont_at_lines[j : j + len(names)])
        j += len(names)
        flux_cgs = m.pop("flux_model") * data.flux_scale * (1.0 + data.z)  # d lambda_obs = (1+z) d lambda_rest
        m["flux"] = flux_cgs
        m["luminosity"] = four_pi_dl2 * flux_cgs
        for i, line in enumerate(names):
            for k, val in m.items():
                out[derived_name(c.name, line, k)] = val[i]
    return out


def derived_settings(config, z: float) -> dict:
    """Settings of :func:`derived_one`: wavelengths and AGN components (static) and 4 pi d_L^2 (cm^2)."""
    from astropy.cosmology import FlatLambdaCDM

    d = config.derived
    cosmo = FlatLambdaCDM(**d["cosmology"])
    dl_cm = cosmo.luminosity_distance(max(z, 1e-6)).to("cm").value
    agn = [n for n, spec in config.components.items() if spec["type"] in ("power_law", "broken_power_law")]
    return {
        "host_fraction_wavelengths": [float(w) for w in d["host_fraction_wavelengths"]],
        "continuum_wavelengths": [float(w) for w in d["continuum_wavelengths"]],
        "four_pi_dl2": 4.0 * np.pi * dl_cm**2,
        "agn_continuum": agn,
    }


@fit_jit
def _derived_batch(model, params: dict, data, static: tuple, four_pi_dl2):
    settings = {k: (list(v) if isinstance(v, tuple) else v) for k, v in static}
    settings["four_pi_dl2"] = four_pi_dl2
    return jax.vmap(lambda p: derived_one(model, p, data, settings))(params)


def _pad_chunk(v, chunk):
    k = v.shape[0]
    return v if k == chunk else jnp.concatenate([v, jnp.repeat(v[-1:], chunk - k, axis=0)])


#: samples per call of the derived program
CHUNK = 256


def _settings_args(settings: dict) -> tuple:
    """(static settings, 4 pi d_L^2 as an array): the settings as :func:`_derived_batch` takes them."""
    static = tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in sorted(settings.items()) if k != "four_pi_dl2")
    return static, jnp.asarray(settings["four_pi_dl2"])


def compile_derived_ahead(model, names, n: int, data, settings: dict):
    """Start compiling the program :func:`compute_derived_samples` will run for ``n`` samples of ``names``.

    In a background thread (:func:`agnfit.core.ahead.compile_ahead`), on
    placeholder values, so that it compiles while the fit itself does.
    Returns the future to :func:`~agnfit.core.ahead.finish`, or None.
    """
    from .ahead import compile_ahead

    size = min(CHUNK, n)
    params = {k: jnp.asarray(np.ones(size)) for k in names}
    return compile_ahead(_derived_batch, model, params, data, *_settings_args(settings))


def compute_derived_samples(model, samples: dict, data, settings: dict, chunk: int = CHUNK) -> dict:
    """Derived quantities for every sample (flat arrays), vmapped in fixed-size chunks (one compilation)."""
    flat = {k: jnp.reshape(jnp.asarray(samples[k]), (-1,)) for k in samples}
    n = next(iter(flat.values())).shape[0]
    size = min(chunk, n)
    static, dl2 = _settings_args(settings)
    parts = []
    for i in range(0, n, size):
        part = _derived_batch(model, {k: _pad_chunk(v[i : i + size], size) for k, v in flat.items()}, data, static, dl2)
        parts.append({k: np.asarray(v)[: min(size, n - i)] for k, v in part.items()})
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def add_black_hole_masses(values: dict, model, settings: dict, config) -> dict:
    """Adds log M_BH per calibration, L_bol and Eddington ratios to per-sample ``values``."""
    from ..plugins.blackhole import CALIBRATIONS, L_EDD_PER_MSUN

    out = dict(values)
    broad = [c for c in model.components if c.group == "line" and c.morphology == "point" and hasattr(c, "line_names")]
    bc = config.derived["bolometric_corrections"]
    for wkey, factor in bc.items():
        lk = derived_name(f"L{float(wkey):g}")
        if lk in values:
            out[derived_name(f"Lbol_{float(wkey):g}")] = factor * values[lk]
    for cal_name in config.derived["mbh_calibrations"]:
        cal = CALIBRATIONS[cal_name]
        comp = next((c for c in broad if cal.line in c.line_names()), None)
        if comp is None:
            continue
        fwhm = values[derived_name(comp.name, cal.line, "fwhm")]
        if cal.luminosity == "line":
            lum = values[derived_name(comp.name, cal.line, "luminosity")]
        else:
            lum = values.get(derived_name(cal.luminosity))
            if lum is None:
                continue
        with np.errstate(divide="ignore", invalid="ignore"):
            logm = cal.log_mbh(lum, fwhm)
        out[derived_name("log_mbh", cal_name)] = logm
        lbol_key = derived_name(f"Lbol_{cal.luminosity[1:]}") if cal.luminosity != "line" else None
        if lbol_key in out:
            with np.errstate(divide="ignore", invalid="ignore"):
                out[derived_name("edd_ratio", cal_name)] = out[lbol_key] / (L_EDD_PER_MSUN * 10.0**logm)
    return out


def summarize(values: dict) -> dict:
    """``{name: {"median", "p16", "p84", "std"}}`` from per-sample arrays (NaNs ignored)."""
    out = {}
    for k, v in values.items():
        v = np.asarray(v, float)
        good = v[np.isfinite(v)]
        if good.size == 0:
            out[k] = {"median": np.nan, "p16": np.nan, "p84": np.nan, "std": np.nan}
            continue
        p16, p50, p84 = np.percentile(good, [16, 50, 84])
        out[k] = {"median": float(p50), "p16": float(p16), "p84": float(p84), "std": float(np.std(good))}
    return out

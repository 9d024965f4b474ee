"""Built-in plugin: the Fe II pseudo-continuum, an empirical template broadened and shifted.

The blended Fe II multiplets of broad-line AGN are modelled, as is standard
since Boroson & Green (1992, ApJS 80, 109), by an empirical template measured
in a narrow-line object, convolved with a Gaussian in velocity, shifted and
scaled. With x = ln(lambda) and T the template normalised to unit integral
over wavelength,

    F(lambda) = norm * [(lambda T) * G(sigma_k)](x - dv / c) / lambda,

where lambda T is the template per unit ln(lambda) and G a Gaussian in x of
dispersion sigma_k / c; positive ``dv`` is a redshift. The template's lines already have the intrinsic width
of the object it was measured in (FWHM_t), and the data add the instrumental
sigma_inst, so the kernel that yields a total intrinsic FWHM ``fwhm`` is

    sigma_k**2 = sigma(fwhm)**2 + sigma_inst**2 - sigma(FWHM_t)**2,

floored at ``SIGMA_FLOOR_KMS`` (sigma = FWHM / 2.3548), e.g. Shen et al.
(2011, ApJS 194, 45). The template is resampled to a ln(lambda) grid and broadened
by FFT, when the component is built, to a ladder of kernel widths
(:class:`~agnfit.plugins.broaden.WidthLadder`); an evaluation interpolates
between ladder rows (cubic in ln sigma, relative error ~1e-5) and shifts by
dv, a few gathers per pixel. The flux per unit ln(lambda), lambda*F, is what
is convolved and shifted, so the integral of F over wavelength is ``norm``
for every ``fwhm`` and ``dv``.

Fe II templates are plugins too: ``register_feii_templates`` returns
``{name: loader}``; ``loader()`` gives (rest wavelength in A, flux, intrinsic
FWHM in km/s). The built-in ones are listed in :data:`TEMPLATES`.
"""

from __future__ import annotations

import dataclasses
import math

import equinox as eqx
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist

from ..core.component import AbstractComponent
from ..data import fetch
from ..errors import ConfigError, PluginError
from ..registry.hookspecs import hookimpl
from .broaden import C_KMS, WidthLadder, log_grid

#: sigma / FWHM of a Gaussian
FWHM_TO_SIGMA = 1.0 / (2.0 * math.sqrt(2.0 * math.log(2.0)))
#: smallest broadening kernel sigma (km/s), so a target narrower than the template stays finite
SIGMA_FLOOR_KMS = 1.0
#: step (km/s) of the ln(lambda) grid the templates are resampled to (native steps are 40-150 km/s)
GRID_DV_KMS = 30.0
#: the broadened template keeps wings out to this many kernel sigmas beyond its native range
WING_SIGMAS = 5.0
#: smallest kernel sigma (km/s) of the width ladder (narrower kernels leave a 30 km/s grid unchanged)
LADDER_SIGMA_MIN_KMS = 7.5
#: largest instrumental sigma (km/s) the width ladder allows for; wider kernels are clipped
MAX_INST_SIGMA_KMS = 1000.0
#: the smallest wavelength (A) used in logarithms, so any input stays finite
_WAVE_FLOOR = 1.0

ERR_RANGE = "{name}: {what} must be a pair (low, high) with {cond}, got {value!r}"
ERR_LOADER = "Fe II template {template!r}: its loader must return (wave, flux, fwhm_kms) with {problem}"


@dataclasses.dataclass(frozen=True)
class FeIITemplateSource:
    """A loader for a template in the data registry.

    Attributes:
        path: registered data file (relative path, see ``agnfit.plugins.datafiles``).
        log10_wave: whether the first column is log10(wavelength / A) (else A).
        fwhm_kms: FWHM (km/s) of the lines in the object the template was measured in.
        reference: where the template and its width come from.
    """

    path: str
    log10_wave: bool
    fwhm_kms: float
    reference: str

    def __call__(self):
        data = np.loadtxt(fetch(self.path), comments="#")
        wave = 10.0 ** data[:, 0] if self.log10_wave else data[:, 0]
        return wave, data[:, 1], self.fwhm_kms


#: The built-in Fe II templates. I Zw 1 (VW01, BG92, Tsuzuki et al. 2006) has
#: intrinsic line widths of ~900 km/s FWHM (Vestergaard & Wilkes 2001, ApJS
#: 134, 1). Veron-Cetty et al. (2004) model the broad system of I Zw 1 with
#: Lorentzians of FWHM ~1100 km/s. Mrk 493 has narrower broad lines than
#: I Zw 1 (Park et al. 2022); its tabulated template's narrowest isolated
#: features have FWHM ~800 km/s. The ``vw01_uv`` file is the same composite
#: as ``pyqsofit_fe_uv`` (VW01 below 2200 A, Salviander et al. 2007 to
#: 3090 A, Tsuzuki et al. 2006 above), tabulated in A with negative pixels
#: removed; ``bg92_optical`` is ``pyqsofit_fe_optical`` likewise. Wavelengths
#: are used as tabulated: a template on the air scale is offset from agnfit's
#: vacuum wavelengths by ~80 km/s, which ``dv`` absorbs.
TEMPLATES = {
    "vw01_uv": FeIITemplateSource(
        "feii/vw01_uv.txt", False, 900.0, "Vestergaard & Wilkes 2001, ApJS 134, 1 (I Zw 1; 1075-3500 A)"
    ),
    "bg92_optical": FeIITemplateSource(
        "feii/bg92_optical.txt", False, 900.0, "Boroson & Green 1992, ApJS 80, 109 (I Zw 1; 3687-7482 A)"
    ),
    "veron04_optical": FeIITemplateSource(
        "feii/veron04_optical.txt", False, 1100.0, "Veron-Cetty, Joly & Veron 2004, A&A 417, 515 (I Zw 1; 3535-7534 A)"
    ),
    "park22_optical": FeIITemplateSource(
        "feii/park22_optical.txt", False, 800.0, "Park et al. 2022, ApJS 258, 38 (Mrk 493; 4000-5600 A)"
    ),
    "pyqsofit_fe_uv": FeIITemplateSource(
        "feii/pyqsofit_fe_uv.txt",
        True,
        900.0,
        "Vestergaard & Wilkes 2001 + Salviander et al. 2007, ApJ 662, 131 + Tsuzuki et al. 2006, ApJ 650, 57 (I Zw 1)",
    ),
    "pyqsofit_fe_optical": FeIITemplateSource(
        "feii/pyqsofit_fe_optical.txt", True, 900.0, "Boroson & Green 1992, ApJS 80, 109 (I Zw 1)"
    ),
}


def _checked_template(template: str, wave, flux, fwhm_kms):
    """Validated (wave, flux, fwhm): sorted, finite, negative flux set to zero, positive integral."""
    wave = np.asarray(wave, dtype=float)
    flux = np.asarray(flux, dtype=float)
    if wave.ndim != 1 or flux.shape != wave.shape or wave.size < 2:
        problem = f"1-D wave and flux of one length >= 2, got shapes {wave.shape} and {flux.shape}"
        raise PluginError(ERR_LOADER.format(template=template, problem=problem))
    if not (np.all(np.isfinite(wave)) and np.all(np.isfinite(flux)) and np.all(wave > 0)):
        raise PluginError(ERR_LOADER.format(template=template, problem="finite flux and finite positive wavelengths"))
    order = np.argsort(wave)
    wave, flux = wave[order], np.clip(flux[order], 0.0, None)  # negative pixels are noise, not emission
    if not np.all(np.diff(wave) > 0):
        raise PluginError(ERR_LOADER.format(template=template, problem="distinct wavelengths"))
    if not np.trapezoid(flux, wave) > 0:
        raise PluginError(ERR_LOADER.format(template=template, problem="some positive flux"))
    fwhm_kms = float(fwhm_kms)
    if not (np.isfinite(fwhm_kms) and fwhm_kms >= 0):
        raise PluginError(ERR_LOADER.format(template=template, problem=f"a finite FWHM >= 0 km/s, got {fwhm_kms}"))
    return wave, flux, fwhm_kms


def check_pair(name: str, what: str, value, positive: bool = False) -> tuple:
    """``value`` as a (low, high) pair of floats with low < high (and low > 0 if ``positive``), else ConfigError."""
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        lo = hi = math.nan
    ok = lo < hi and (lo > 0 if positive else True)
    if not ok:
        cond = "0 < low < high" if positive else "low < high"
        raise ConfigError(ERR_RANGE.format(name=name, what=what, cond=cond, value=value))
    return (lo, hi)


def check_positive(name: str, what: str, value) -> float:
    """``value`` as a float > 0, else ConfigError."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        out = math.nan
    if not out > 0:
        raise ConfigError(f"{name}: {what} must be a number > 0, got {value!r}")
    return out


class FeII(AbstractComponent):
    """A broadened, shifted Fe II template (point source, additive, continuum group).

    Parameters (local names):
        norm: total flux of the component, the integral of F over wavelength
            (model flux units x A); the template's integral over its native
            range before broadening, which the broadening conserves.
        fwhm: total intrinsic FWHM of the Fe II lines (km/s), instrument excluded.
        dv: velocity shift (km/s); lambda -> lambda * exp(dv / c), positive = redshift.

    Attributes:
        name: instance name.
        template: name of the template it was built from.
        templates: the unit-integral template (per unit ln lambda) on a
            ln(lambda) grid, broadened to a ladder of kernel widths.
        template_fwhm: intrinsic FWHM of the template's lines (km/s).
        wave_range: native coverage of the template (A).
        fwhm_range: bounds of the uniform ``fwhm`` prior (km/s).
        dv_range: bounds of the uniform ``dv`` prior (km/s).
        norm_scale: scale of the half-normal ``norm`` prior (model flux units x A).
        min_coverage: the component is dropped from a fit (:meth:`restrict`) whose
            rest range holds less than this fraction of the template's flux.
    """

    name: str
    template: str = eqx.field(kw_only=True)
    templates: WidthLadder = eqx.field(kw_only=True)
    template_fwhm: float = eqx.field(kw_only=True)
    wave_range: tuple = eqx.field(kw_only=True)
    fwhm_range: tuple = (1000.0, 15000.0)
    dv_range: tuple = (-2000.0, 2000.0)
    norm_scale: float = 100.0
    min_coverage: float = 0.25
    morphology: str = "point"
    operation: str = "add"
    group: str = "continuum"

    def __check_init__(self):
        check_pair(self.name, "fwhm_range (km/s)", self.fwhm_range, positive=True)
        check_pair(self.name, "dv_range (km/s)", self.dv_range)
        check_positive(self.name, "norm_scale", self.norm_scale)

    def priors(self):
        return {
            "norm": dist.HalfNormal(self.norm_scale),
            "fwhm": dist.Uniform(*self.fwhm_range),
            "dv": dist.Uniform(*self.dv_range),
        }

    def init_values(self):
        lo, hi = self.fwhm_range
        return {"norm": 0.1 * self.norm_scale, "fwhm": min(max(3000.0, lo), hi), "dv": 0.0}

    def kernel_sigma(self, fwhm, sigma_inst_kms):
        """Kernel sigma (km/s) giving lines of FWHM ``fwhm`` (km/s) seen at instrumental sigma ``sigma_inst_kms``."""
        var = (fwhm * FWHM_TO_SIGMA) ** 2 + sigma_inst_kms**2 - (self.template_fwhm * FWHM_TO_SIGMA) ** 2
        return jnp.sqrt(jnp.maximum(var, SIGMA_FLOOR_KMS**2))

    def __call__(self, wave, params, ctx):
        """Flux (model units) at rest wavelengths ``wave`` (A); zero beyond the template and its wings.

        One kernel serves the whole template: the instrumental sigma is the
        spectrum's median (``ctx.median_sigma_kms``), a small correction to
        Fe II widths of >= 1000 km/s.
        """
        sigma = self.kernel_sigma(params["fwhm"], ctx.median_sigma_kms)
        w = jnp.maximum(jnp.asarray(wave, dtype=jnp.result_type(float)), _WAVE_FLOOR)
        g = self.templates(jnp.log(w), sigma, params["dv"])
        return params["norm"] * jnp.maximum(g, 0.0) / w

    def coverage(self, wave_min: float, wave_max: float) -> float:
        """Fraction of the template's flux (at its narrowest ladder width) between wave_min and wave_max (rest A)."""
        row = np.asarray(self.templates.table[0])
        wave = self.templates.wave
        inside = (wave >= wave_min) & (wave <= wave_max)
        return float(row[inside].sum() / row.sum())

    def restrict(self, wave_min, wave_max):
        """``None`` when [wave_min, wave_max] (A) holds less than ``min_coverage`` of the template's flux.

        A template mostly outside the spectrum is constrained only by its
        edge, where it trades with the power law and the Balmer continuum: a
        UV Fe II template (whose 2200-3090 A bump carries most of its flux) in
        a spectrum that starts near 3300 A rest is a nuisance with a free
        width, not a measurement. The fit then goes on without it, with the
        usual warning that names the dropped component.
        """
        lo, hi = self.wave_range
        if hi < wave_min or lo > wave_max:
            return None
        return self if self.coverage(wave_min, wave_max) >= self.min_coverage else None


@dataclasses.dataclass(frozen=True)
class FeIIPriors:
    """Prior ranges of an Fe II component: ``fwhm`` and ``dv`` uniform (km/s), ``norm`` half-normal."""

    fwhm_range: tuple = (1000.0, 15000.0)
    dv_range: tuple = (-2000.0, 2000.0)
    norm_scale: float = 100.0
    min_coverage: float = 0.25


def feii_from_arrays(
    name: str, wave, flux, template_fwhm: float, priors: FeIIPriors = FeIIPriors(), template: str = "custom"
):
    """An :class:`FeII` component from template arrays (rest A, any flux scale; FWHM in km/s).

    The template is resampled to a ln(lambda) grid of step ``GRID_DV_KMS``
    that extends ``WING_SIGMAS`` kernel sigmas (at the top of the ``fwhm``
    prior range) plus the largest shift beyond its native range, converted to
    flux per unit ln(lambda), normalised to unit integral and broadened to the
    width ladder. Negative template pixels are set to zero.
    """
    wave, flux, template_fwhm = _checked_template(template, wave, flux, template_fwhm)
    fwhm_range = check_pair(name, "fwhm_range (km/s)", priors.fwhm_range, positive=True)
    dv_range = check_pair(name, "dv_range (km/s)", priors.dv_range)
    max_sigma = fwhm_range[1] * FWHM_TO_SIGMA
    wing = WING_SIGMAS * max_sigma + max(abs(dv_range[0]), abs(dv_range[1]))
    grid = log_grid(wave[0] * math.exp(-wing / C_KMS), wave[-1] * math.exp(wing / C_KMS), GRID_DV_KMS)
    per_lnwave = np.interp(grid, wave, flux, left=0.0, right=0.0) * grid
    per_lnwave /= per_lnwave.sum() * GRID_DV_KMS / C_KMS
    ladder_max = math.hypot(max_sigma, MAX_INST_SIGMA_KMS)
    templates = WidthLadder.build(math.log(grid[0]), GRID_DV_KMS / C_KMS, per_lnwave, (LADDER_SIGMA_MIN_KMS, ladder_max))
    return FeII(
        name=name,
        template=template,
        templates=templates,
        template_fwhm=template_fwhm,
        wave_range=(float(wave[0]), float(wave[-1])),
        fwhm_range=fwhm_range,
        dv_range=dv_range,
        norm_scale=check_positive(name, "norm_scale", priors.norm_scale),
        min_coverage=_check_fraction(name, priors.min_coverage),
    )


def _check_fraction(name: str, value) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = float("nan")
    if not 0.0 <= v <= 1.0:
        raise ConfigError(f"{name}: min_coverage must be a fraction in [0, 1], got {value!r}")
    return v


def feii(
    name: str,
    template: str = "bg92_optical",
    fwhm_range=(1000.0, 15000.0),
    dv_range=(-2000.0, 2000.0),
    norm_scale: float = 100.0,
    template_fwhm: float | None = None,
    min_coverage: float = 0.25,
):
    """Fe II template component.

    Args:
        name: instance name.
        template: a registered Fe II template (``register_feii_templates``),
            e.g. ``"vw01_uv"`` for the UV / Mg II region, ``"bg92_optical"``
            or ``"park22_optical"`` for H-beta.
        fwhm_range: bounds (km/s) of the uniform prior on the total FWHM.
        dv_range: bounds (km/s) of the uniform prior on the velocity shift.
        norm_scale: scale of the half-normal prior on the integrated flux
            (model flux units x A; an equivalent width for a unit continuum).
        template_fwhm: intrinsic FWHM (km/s) of the template's lines, replacing
            the value its loader gives.
        min_coverage: drop the component from fits whose rest range holds less
            than this fraction of the template's flux (0: keep it whenever the
            ranges overlap).
    """
    from ..registry import get_registry

    loader = get_registry().get("feii_template", template)
    wave, flux, fwhm_t = loader()
    if template_fwhm is not None:
        fwhm_t = template_fwhm
    priors = FeIIPriors(fwhm_range, dv_range, norm_scale, min_coverage)
    return feii_from_arrays(name, wave, flux, fwhm_t, priors, template=template)


@hookimpl
def register_feii_templates():
    """The built-in Fe II templates, by name."""
    return dict(TEMPLATES)


@hookimpl
def register_components():
    """The ``feii`` component type."""
    return {"feii": feii}

"""Built-in plugin: host-galaxy starlight as a non-negative mixture of simple stellar populations.

``host_dsps`` reads a grid of simple-stellar-population (SSP) spectra in the
DSPS format (Hearin et al. 2023: keys ``ssp_lgmet``, ``ssp_lg_age_gyr``,
``ssp_wave``, ``ssp_flux``, L_nu in Lsun/Hz per Msun formed). The default set
``bc03_miles_chabrier`` is Bruzual & Charlot (2003) population synthesis with
the MILES stellar library (Sanchez-Blazquez et al. 2006) for a Chabrier (2003)
IMF. The user picks an age x metallicity sub-grid; each SSP is converted to
f_lambda (L_lambda = L_nu c / lambda^2), normalised to unit mean in a window
around ``norm_wave``, so the weight ``w_i`` of each SSP is its flux at
``norm_wave`` in model flux units; by default the weights are a total flux
times logistic-normal age and metallicity light fractions (:class:`HostSSP`). The mixture is broadened by a Gaussian
line-of-sight velocity distribution (``sigma``) and shifted (``dv``). The
component's Jacobian, which the Levenberg-Marquardt curvature uses, is
analytic: one batched inverse FFT gives the value and the weight and sigma
columns (:meth:`BroadenedBasis.jacobian`).

The PCA host (Yip et al. 2004 galaxy eigenspectra) lives in
:mod:`agnfit.plugins.host_pca`; both are registered here.
Reading, validating and interpolating the SSP grids is
:mod:`agnfit.plugins.ssp`.
"""

from __future__ import annotations

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist

from ..errors import ConfigError
from ..registry.hookspecs import hookimpl
from .host_basis import (  # noqa: F401 (re-exported)
    GRID_DV_KMS,
    MAX_INST_SIGMA_KMS,
    SIGMA_FLOOR_KMS,
    AbstractBasisHost,
    BroadenedBasis,
)

# the SSP grid and option helpers live in .ssp; re-exported here for existing imports
from .ssp import (  # noqa: F401
    C_AA_S,
    DEFAULT_SSP_FILE,
    ERR_GRID,
    FWHM_PER_SIGMA,
    MILES_FWHM_A,
    NORM_HALF_WIDTH,
    SSP_KEYS,
    ZSUN_BC03,
    SSPGrid,
    air_to_vacuum,
    check_range,
    load_bc03_miles_chabrier,
    options_factory,
    read_dsps_ssp,
    sigma_from_fwhm,
    ssp_subgrid,
    window_mean,
)

DEFAULT_SET = "bc03_miles_chabrier"

ERR_NOT_SSP = "host template set {name!r} is a {kind}, not an SSPGrid; host_dsps needs an SSP set"


WEIGHTINGS = ("fractions", "independent")
METALLICITIES = ("interpolated", "mixture")


@dataclasses.dataclass(frozen=True)
class SSPHostOptions:
    """Options of ``host_dsps``.

    ``ssp_file``, ``ages`` and ``logzsol`` play the roles of ``dsps_ssp_fn``,
    ``fsps_age_grid`` and ``fsps_logzsol_grid`` of the familiar QSOFit API.

    Attributes:
        templates: registered host template set (``register_host_templates``) giving an
            SSPGrid; None: ``bc03_miles_chabrier``.
        ssp_file: a DSPS-format SSP file (any path or registered data file name), instead of ``templates``.
        ages: SSP ages (Gyr), inside the grid; off-grid values are interpolated
            bilinearly in (log10 age, log10 Z) between the neighbouring grid SSPs.
        logzsol: metallicities log10(Z/Zsun), inside the grid (interpolated likewise).
        norm_wave: rest wavelength (A) where each SSP is normalised (mean over +-50 A).
        wave_range: rest range (A) of the broadening grid; cover the photometric bands too.
        weights: how the SSP weights are parametrised (see :class:`HostSSP`):
            ``"fractions"`` (a total ``norm`` times softmax light fractions) or
            ``"independent"`` (one non-negative weight per SSP).
        weight_scale: HalfNormal scale (model flux units) of ``norm`` (fractions) or of each weight.
        fraction_scale: (fractions) standard deviation of the Normal prior on each logit.
        metallicity: (fractions) ``"interpolated"``: one metallicity ``logzsol``
            for all ages, Uniform over the range of ``logzsol``, the SSPs
            interpolated linearly in log Z between the two neighbouring grid
            values; ``"mixture"``: a light fraction per grid metallicity
            (logits, like the ages).
        sigma_range: bounds (km/s) of the Uniform prior on the stellar dispersion.
        dv_max: bound (km/s) of the Uniform(-dv_max, dv_max) prior on the velocity shift.
        template_sigma_kms: the templates' own resolution (km/s); None: the set's value.
        zsun: solar Z of an ``ssp_file``'s lgmet (None: 0.02, BC03's); only with ``ssp_file``.
        air_wavelengths: whether ``ssp_file`` wavelengths are in air above 2000 A (converted
            to vacuum; None: vacuum); only with ``ssp_file``. Registered sets know their own.
    """

    templates: str | None = None
    ssp_file: str | None = None
    ages: tuple = (0.1, 0.5, 1.0, 3.0, 10.0)
    logzsol: tuple = (-0.5, 0.0, 0.3)
    norm_wave: float = 5100.0
    wave_range: tuple = (1000.0, 12000.0)
    weights: str = "fractions"
    weight_scale: float = 1.0
    fraction_scale: float = 1.0
    metallicity: str = "interpolated"
    sigma_range: tuple = (30.0, 500.0)
    dv_max: float = 500.0
    template_sigma_kms: float | None = None
    zsun: float | None = None
    air_wavelengths: bool | None = None


def _weight_name(i: int) -> str:
    return f"w_{i}"


def _logit_names(axis: str, n: int) -> list[str]:
    return [f"logit_{axis}_{i}" for i in range(n)] if n > 1 else []


class HostSSP(AbstractBasisHost):
    """Host starlight: sum_i w_i SSP_i(lambda), broadened by ``sigma`` and shifted by ``dv`` (km/s).

    ``w_i`` >= 0 is SSP i's mean flux over norm_wave +- 50 A (model flux
    units); weight i is SSP (``ages[i % n_age]``, ``logzsol[i // n_age]``)
    and :meth:`template_grid` lists them. The weights are parametrised
    (``weighting``) either as

    * ``"fractions"`` (default): ``w_i = norm * P_age(a) * P_met(m)`` for
      SSP i of age a and metallicity m, with ``norm`` ~ HalfNormal(weight_scale)
      the host's total flux at norm_wave, the age light distribution
      ``P_age = softmax(logit_age)``, each logit ~ Normal(0, fraction_scale):
      a logistic-normal prior (Aitchison & Shen 1980), and ``P_met`` shared
      by all ages. With ``metallicity="interpolated"`` (default) ``P_met``
      holds the linear-interpolation weights in log Z of one metallicity
      ``logzsol`` ~ Uniform(min, max of the grid), the single metallicity of
      most SED fitting; with ``"mixture"``, ``P_met = softmax(logit_met)``
      like the ages. The total is one parameter, and the fractions the
      data cannot tell apart follow their prior, so the posterior is close
      to Gaussian in the unconstrained space and NUTS mixes quickly.
      Separate age and metallicity distributions avoid a bimodality: with one
      free fraction per SSP, a dominant old population could sit in either of
      two metallicities, two modes that chains do not cross. One metallicity
      rather than a mixture also removes the steepest walls of the posterior
      (a minor metallicity's logit meets a likelihood curvature rising as
      exp(2 logit)), which otherwise set NUTS's step size. An axis with
      one value has no parameter. The weights are then derived quantities
      (``host.w_i``, :meth:`derived`);
    * ``"independent"``: ``w_i`` ~ HalfNormal(weight_scale) each, the
      non-negative least-squares picture. Degenerate SSPs trade flux along
      ridges bounded by w_i >= 0, which MAP handles but samplers cross slowly.

    Other parameters: ``sigma`` (stellar dispersion, km/s) and ``dv`` (km/s,
    positive = redshift).
    """

    name: str
    basis: BroadenedBasis = eqx.field(kw_only=True)
    ages_gyr: tuple = eqx.field(static=True, kw_only=True)
    logzsol: tuple = eqx.field(static=True, kw_only=True)
    norm_wave: float = eqx.field(static=True, kw_only=True)
    lum_norm: tuple = eqx.field(static=True, kw_only=True)  # mean L_lambda (Lsun/A per Msun formed) in the window
    weighting: str = eqx.field(static=True, default="fractions")
    weight_scale: float = eqx.field(static=True, default=1.0)
    fraction_scale: float = eqx.field(static=True, default=1.0)
    metallicity: str = eqx.field(static=True, default="interpolated")
    sigma_range: tuple = eqx.field(static=True, default=(30.0, 500.0))
    dv_max: float = eqx.field(static=True, default=500.0)
    morphology: str = "extended"
    operation: str = "add"
    group: str = "continuum"

    def __check_init__(self):
        if self.weighting not in WEIGHTINGS:
            raise ConfigError(f"{self.name}: weights must be one of {WEIGHTINGS}, got {self.weighting!r}")
        if self.metallicity not in METALLICITIES:
            raise ConfigError(f"{self.name}: metallicity must be one of {METALLICITIES}, got {self.metallicity!r}")
        if len(set(self.logzsol)) != len(self.logzsol):
            raise ConfigError(f"{self.name}: logzsol has repeated values: {self.logzsol!r}")

    @property
    def n_templates(self) -> int:
        """Number of SSP templates (ages x metallicities)."""
        return len(self.ages_gyr) * len(self.logzsol)

    @property
    def fractions(self) -> bool:
        """Whether the weights are ``norm`` x softmax(logits) (else independent parameters)."""
        return self.weighting == "fractions"

    def weights_names(self) -> list[str]:
        """Names of the SSP weights, in template order (parameters, or derived quantities with fractions)."""
        return [_weight_name(i) for i in range(self.n_templates)]

    @property
    def interpolated(self) -> bool:
        """Whether one free metallicity ``logzsol`` sets P_met (fractions, more than one grid metallicity)."""
        return self.fractions and self.metallicity == "interpolated" and len(self.logzsol) > 1

    def logit_names(self) -> list[str]:
        """Local names of the age then metallicity logits (fractions only; none for an axis of one value)."""
        if not self.fractions:
            return []
        met = [] if self.interpolated else _logit_names("met", len(self.logzsol))
        return _logit_names("age", len(self.ages_gyr)) + met

    def fraction_names(self) -> list[str]:
        """Local names of the parameters of P_age and P_met: the logits, then ``logzsol`` if interpolated."""
        return self.logit_names() + (["logzsol"] if self.interpolated else [])

    def template_grid(self) -> list[tuple[float, float]]:
        """(age in Gyr, log10 Z/Zsun) of each weight, in template order."""
        return [(a, z) for z in self.logzsol for a in self.ages_gyr]

    def priors(self):
        if self.fractions:
            pri = {"norm": dist.HalfNormal(self.weight_scale)}
            pri.update({n: dist.Normal(0.0, self.fraction_scale) for n in self.logit_names()})
            if self.interpolated:
                pri["logzsol"] = dist.Uniform(min(self.logzsol), max(self.logzsol))
        else:
            pri = {n: dist.HalfNormal(self.weight_scale) for n in self.weights_names()}
        pri["sigma"] = dist.Uniform(*self.sigma_range)
        pri["dv"] = dist.Uniform(-self.dv_max, self.dv_max)
        return pri

    def init_values(self):
        if self.fractions:
            vals = {"norm": 0.5} | {n: 0.0 for n in self.logit_names()}
            if self.interpolated:  # solar, or just inside the grid end nearest to it
                lo, hi = min(self.logzsol), max(self.logzsol)
                vals["logzsol"] = float(np.clip(0.0, lo + 0.01 * (hi - lo), hi - 0.01 * (hi - lo)))
        else:
            vals = {n: 0.5 / self.n_templates for n in self.weights_names()}
        vals.update(sigma=float(np.clip(150.0, *self.sigma_range)), dv=0.0)
        return vals

    def coefficient_names(self) -> list[str]:
        return self.weights_names()

    def _metallicity_weights(self, logz):
        """P_met at metallicity ``logz``: linear interpolation weights in log Z over the grid (grid order)."""
        order = np.argsort(self.logzsol)
        nodes = np.asarray(self.logzsol)[order]
        return jnp.stack([jnp.interp(logz, nodes, (order == j).astype(float)) for j in range(len(nodes))])

    def _fraction_weights(self, theta):
        """Weights (template order) from ``theta`` = (norm, age logits..., metallicity logits... or logzsol)."""
        n_age, n_met = len(self.ages_gyr), len(self.logzsol)
        k_age = n_age if n_age > 1 else 0
        p_age = jax.nn.softmax(theta[1 : 1 + k_age]) if k_age else jnp.ones(1, theta.dtype)
        if n_met == 1:
            p_met = jnp.ones(1, theta.dtype)
        elif self.interpolated:
            p_met = self._metallicity_weights(theta[1 + k_age])
        else:
            p_met = jax.nn.softmax(theta[1 + k_age :])
        return theta[0] * jnp.ravel(p_met[:, None] * p_age[None, :])  # weight i: age i % n_age, metallicity i // n_age

    def _theta(self, params):
        return jnp.stack([jnp.asarray(params[n], jnp.result_type(float)) for n in ("norm", *self.fraction_names())])

    def coefficients(self, params):
        """The SSP weights (model flux units at ``norm_wave``) as an array, in template order."""
        if not self.fractions:
            return super().coefficients(params)
        return self._fraction_weights(self._theta(params))

    weights = coefficients

    def jacobian(self, wave, params, ctx, names):
        """Value and Jacobian w.r.t. ``names``: the basis's analytic weight columns chained through the fractions.

        With fractions, the weight columns of :meth:`BroadenedBasis.jacobian`
        are multiplied by d w / d (norm, logits) (a small forward-mode
        Jacobian of the softmax products).
        """
        if not self.fractions:
            return super().jacobian(wave, params, ctx, names)
        theta = self._theta(params)
        w, dw = self._fraction_weights(theta), jax.jacfwd(self._fraction_weights)(theta)
        wnames = self.weights_names()
        local = {"sigma": params["sigma"], "dv": params["dv"]} | dict(zip(wnames, w))
        kin = [n for n in names if n in ("sigma", "dv")]
        value, jac = self.basis.jacobian(wave, local, ctx, wnames, (*wnames, *kin), ctx.prepared_for(self.name))
        chained = jac[:, : len(wnames)] @ dw.astype(jac.dtype)
        cols = dict(zip(("norm", *self.fraction_names()), chained.T))
        cols.update({n: jac[:, len(wnames) + i] for i, n in enumerate(kin)})
        return value, jnp.stack([cols[n] for n in names], axis=1)

    def derived(self, params) -> dict:
        """With fractions, the SSP weights ``w_i`` and the light-weighted log age; nothing otherwise."""
        if not self.fractions:
            return {}
        w = self.coefficients(params)
        out = dict(zip(self.weights_names(), w))
        out["log_age_lw"] = self.light_weighted_log_age(params)
        return out

    def light_weighted_log_age(self, params):
        """Light-weighted (at norm_wave) mean log10(age / Gyr)."""
        w = self.weights(params)
        lg = jnp.log10(jnp.array([a for a, _ in self.template_grid()]))
        return jnp.sum(w * lg) / jnp.maximum(jnp.sum(w), 1e-30)

    def stellar_mass(self, params, lsun_per_a):
        """Stellar mass formed (Msun), given the rest-frame L_lambda (Lsun/A) of one model flux unit.

        Each SSP's mass is w_i * lsun_per_a / (mean L_lambda per Msun in the
        normalisation window).
        """
        return jnp.sum(self.weights(params) / jnp.asarray(self.lum_norm)) * lsun_per_a


def _resolve_ssp_grid(name: str, opts: SSPHostOptions) -> SSPGrid:
    if opts.ssp_file is not None:
        if opts.templates is not None:
            raise ConfigError(f"{name}: give either ssp_file or templates, not both")
        from ..data import file_path

        zsun = ZSUN_BC03 if opts.zsun is None else float(opts.zsun)
        return read_dsps_ssp(file_path(opts.ssp_file), zsun, None, bool(opts.air_wavelengths))
    if opts.zsun is not None or opts.air_wavelengths is not None:
        raise ConfigError(f"{name}: zsun and air_wavelengths describe an ssp_file; a registered set knows its own")
    from ..registry import get_registry

    set_name = DEFAULT_SET if opts.templates is None else opts.templates
    grid = get_registry().get("host_template", set_name)()
    if not isinstance(grid, SSPGrid):
        raise ConfigError(ERR_NOT_SSP.format(name=set_name, kind=type(grid).__name__))
    return grid


@options_factory(SSPHostOptions)
def host_dsps(name: str, opts: SSPHostOptions) -> HostSSP:
    """Host galaxy from a DSPS SSP grid (see :class:`SSPHostOptions` for the options)."""
    ages = tuple(float(a) for a in np.atleast_1d(opts.ages))
    logz = tuple(float(z) for z in np.atleast_1d(opts.logzsol))
    if not ages or not logz or min(ages) <= 0:
        raise ConfigError(f"{name}: ages must be positive (Gyr) and logzsol non-empty, got {opts.ages!r}, {opts.logzsol!r}")
    wave_range = check_range(name, "wave_range", opts.wave_range, 1e-6)
    sigma_range = check_range(name, "sigma_range", opts.sigma_range)
    if min(opts.weight_scale, opts.fraction_scale, opts.dv_max) <= 0:
        raise ConfigError(f"{name}: weight_scale, fraction_scale and dv_max must be positive")
    if opts.weights not in WEIGHTINGS:
        raise ConfigError(f"{name}: weights must be one of {WEIGHTINGS}, got {opts.weights!r}")
    if not (wave_range[0] < opts.norm_wave - NORM_HALF_WIDTH and opts.norm_wave + NORM_HALF_WIDTH < wave_range[1]):
        raise ConfigError(f"{name}: norm_wave {opts.norm_wave} A +- {NORM_HALF_WIDTH} A must lie inside wave_range {wave_range}")
    grid = _resolve_ssp_grid(name, opts)
    lnu = ssp_subgrid(grid, ages, logz)
    flam = lnu * C_AA_S / grid.wave**2  # L_lambda, Lsun/A per Msun
    norm = window_mean(grid.wave, flam, float(opts.norm_wave))
    if np.any(norm <= 0):
        raise ConfigError(f"{name}: the SSPs have no flux around norm_wave={opts.norm_wave} A; choose another norm_wave")
    sig_t = grid.sigma_kms if opts.template_sigma_kms is None else float(opts.template_sigma_kms)
    max_sigma = float(np.hypot(sigma_range[1], MAX_INST_SIGMA_KMS) + opts.dv_max / 6.0)
    basis = BroadenedBasis.build(grid.wave, flam / norm[:, None], sig_t, wave_range, max_sigma)
    return HostSSP(
        name=name, basis=basis, ages_gyr=ages, logzsol=logz, norm_wave=float(opts.norm_wave),
        lum_norm=tuple(float(v) for v in norm), weighting=str(opts.weights), weight_scale=float(opts.weight_scale),
        fraction_scale=float(opts.fraction_scale), metallicity=str(opts.metallicity),
        sigma_range=sigma_range, dv_max=float(opts.dv_max),
    )


@hookimpl
def register_components():
    """The ``host_dsps`` and ``host_pca`` component types."""
    from .host_pca import host_pca

    return {"host_dsps": host_dsps, "host_pca": host_pca}


@hookimpl
def register_host_templates():
    """The built-in host template sets: the BC03+MILES SSP grid and the Yip et al. (2004) eigenspectra."""
    from .host_pca import load_yip2004_galaxy

    return {DEFAULT_SET: load_bc03_miles_chabrier, "yip2004_galaxy": load_yip2004_galaxy}

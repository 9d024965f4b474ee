"""Built-in plugin: the Balmer pseudo-continuum (Balmer continuum + high-order Balmer lines).

Below the Balmer edge, lambda_BE = 3647.05 A (vacuum; 3646 A in air), the
bound-free emission of a partially optically thick, isothermal slab is
(Grandi 1982, ApJ 255, 25; Dietrich et al. 2002, ApJ 564, 581)

    F_BC(lambda) = norm * b(lambda),
    b(lambda) = B_lambda(T_e) (1 - exp(-tau_lambda)) / [B_lambda_BE(T_e) (1 - exp(-tau_BE))],
    tau_lambda = tau_BE (lambda / lambda_BE)**3,

so that ``norm`` is the continuum's flux density at the edge. Above the edge
the Balmer lines n -> 2 for n = 7 ... n_max (case-B ratios of Storey & Hummer
1995, MNRAS 272, 41, from a registered table) crowd towards the series limit
and merge into a pseudo-continuum that joins the Balmer continuum (Wills,
Netzer & Wills 1985, ApJ 288, 94; Dietrich et al. 2002).

What is computed, in the emitter's frame (ln wavelength y = ln lambda - dv/c),
with one Gaussian velocity kernel of s = sqrt(sigma(fwhm)**2 + sigma_inst**2) / c
in ln(lambda) (sigma_inst at the edge):

* Continuum. The step b(lambda) * H(lambda_BE - lambda) is convolved with the
  kernel. Writing h = lambda * b (flux per unit ln lambda) and z = (y_BE - y) / s,
  the convolution is h(y) Phi(z) - s h'(y) phi(z), exact where h is linear
  over a few s (its curvature enters at order s**2 < 1e-3); Phi, phi are the
  standard normal CDF and density.
* Lines. Each line is a Gaussian of width s in ln(lambda) carrying the flux
  A * r_n (r_n: flux relative to H-beta). Lines n > n_max are not dropped: with
  r_n ~ K / n**3 (K = n_max**3 r_{n_max}) and line spacing |dy/dn| = 8 / n**3
  they form a flat density K / 8 per unit ln lambda between the edge and
  lambda_{n_max + 1/2}, convolved with the lines' kernel (a smoothed box).
* Join. The line amplitude A is set so that the broadened total at the edge
  equals ``norm``: the forest supplies there exactly the flux the smoothed
  continuum step lacks. This is the condition of Wills et al. (1985) and
  Dietrich et al. (2002) that the merging high-order lines meet the Balmer
  continuum at the edge, stated for broadened profiles. For the
  Storey & Hummer tables (n <= 50) the implied quasi-continuum K A / 8 just
  above the edge is within 1% of the continuum just below it for FWHM <=
  2000 km/s, 3% at 4000 km/s and 17% at worst (15000 km/s, T_e = 5000 K),
  i.e. the intrinsic emission is continuous across the series limit, as it
  should be. The table extended to n = 400 (its ``k13full`` extrapolation of
  the Storey & Hummer ratios, source column ``extrapolated_k13_full_eq2``) has
  lines n > 50 falling only as ~1/n, far stronger than the n**-3 law, so with
  it the same condition puts much of the forest's flux close to the edge.

The lines and the merged tail are a stick spectrum on a ln(lambda) grid
(the tail as a row of sticks an eighth of a grid step apart), broadened
when the component is built to a ladder of kernel widths
(:class:`~agnfit.plugins.broaden.WidthLadder`), so an evaluation costs a few
gathers per pixel whatever the number of lines (44, or 394 with the n <= 400
tables); the continuum is analytic. The only evaluation-time
inputs are ``norm``, ``fwhm``, ``dv`` and, if free, ``te`` and ``tau``.
Zero is returned only where the profile has underflowed (far redward of
H-epsilon); the continuum extends blueward as b(lambda).
"""

from __future__ import annotations

import csv
import math
import os

import equinox as eqx
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist

from ..core.component import AbstractComponent
from ..data import file_path, registered_files
from ..errors import ConfigError
from ..registry.hookspecs import hookimpl
from .broaden import C_KMS, WidthLadder, log_grid
from .feii import MAX_INST_SIGMA_KMS
from .feii import FWHM_TO_SIGMA, check_pair, check_positive
from .profiles import ndtr

#: Balmer series limit in vacuum (A): 4 / R_H with R_H = 109677.58 cm^-1
BALMER_EDGE = 3647.05
#: h c / k in A K
HC_OVER_K = 1.438777e8
#: Storey & Hummer (1995) case B, T = 15000 K, n_e = 1e9 cm^-3, n = 7-50
DEFAULT_LINE_TABLE = "balmer/balmer_caseB_T15000_logNe09_n007_n050_sh95.csv"
#: the Balmer pseudo-continuum is kept out to this many kernel sigmas redward of its reddest line
WING_SIGMAS = 6.0
#: step (km/s) of the ln(lambda) grid of the line forest (lines are >= 400 km/s wide)
FOREST_DV_KMS = 30.0
#: optical depths above this are treated as infinite (exp(-50) is below float64 resolution of 1)
_TAU_CAP = 50.0
_WAVE_FLOOR = 10.0
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)

ERR_TABLE = (
    "{name}: line_table {table!r} is neither a file nor a registered Balmer line table; "
    "registered tables: {available}"
)
ERR_TABLE_CONTENT = "{name}: line table {table!r} {problem}"
ERR_FIXED_OR_RANGE = "{name}: {what} must be a number (fixed) or a pair (low, high) for a uniform prior, got {value!r}"


def _line_tables() -> list[str]:
    return sorted(p for p in registered_files() if p.startswith("balmer/"))


def read_line_table(name: str, table: str):
    """(n_upper, vacuum wavelength A, flux relative to H-beta) of a Balmer line table (CSV).

    The table needs columns ``n_upper``, ``n_lower`` (all 2),
    ``lambda_vacuum_angstrom`` and ``rel_flux_hbeta``; ``table`` is a file
    path or a registered data file (see :data:`DEFAULT_LINE_TABLE`).
    """
    if not (os.path.isfile(os.path.expanduser(str(table))) or str(table) in registered_files()):
        raise ConfigError(ERR_TABLE.format(name=name, table=table, available=_line_tables()))
    with open(file_path(table), newline="") as fh:
        rows = list(csv.DictReader(fh))
    need = ("n_upper", "n_lower", "lambda_vacuum_angstrom", "rel_flux_hbeta")
    if not rows or any(k not in rows[0] for k in need):
        raise ConfigError(ERR_TABLE_CONTENT.format(name=name, table=table, problem=f"needs the columns {need}"))
    n = np.array([int(r["n_upper"]) for r in rows])
    lower = np.array([int(r["n_lower"]) for r in rows])
    wave = np.array([float(r["lambda_vacuum_angstrom"]) for r in rows])
    ratio = np.array([float(r["rel_flux_hbeta"]) for r in rows])
    order = np.argsort(n)
    n, lower, wave, ratio = n[order], lower[order], wave[order], ratio[order]
    if np.any(lower != 2) or np.any(np.diff(n) <= 0) or n[0] < 3:
        problem = "must list distinct Balmer lines (n_lower = 2, n_upper >= 3)"
        raise ConfigError(ERR_TABLE_CONTENT.format(name=name, table=table, problem=problem))
    if not (np.all(np.isfinite(ratio)) and np.all(ratio > 0) and np.all(wave > BALMER_EDGE)):
        problem = "needs positive fluxes and wavelengths redward of the edge"
        raise ConfigError(ERR_TABLE_CONTENT.format(name=name, table=table, problem=problem))
    return n, wave, ratio


def _fixed_or_range(name: str, what: str, value):
    """A float (fixed value) or a validated (low, high) pair."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not value > 0:
            raise ConfigError(ERR_FIXED_OR_RANGE.format(name=name, what=what, value=value))
        return float(value)
    try:
        return check_pair(name, what, value, positive=True)
    except ConfigError:
        raise ConfigError(ERR_FIXED_OR_RANGE.format(name=name, what=what, value=value)) from None


def continuum_shape(wave, te, tau):
    """b(lambda) and d ln b / d ln lambda of the Balmer continuum, b(lambda_BE) = 1.

    With r = lambda / lambda_BE, x = hc / (lambda k T_e), e_x = 1 - e^-x and
    t = tau r^3, e_t = 1 - e^-t, b is the product
    r^-5 (1 - e_x) / e_x * e_t (e^x_BE - 1) / (1 - e^-tau): two exponentials
    per wavelength, no logarithm. e^-x is an ``exp``: 1 - e^-x loses no
    precision that matters, x >= 0.14 for lambda <= 5 um and T_e <= 2e5 K
    (hc/k = 1.44e8 A K); e_t keeps ``expm1``, t is small far blueward
    (r^3 ~ 0.01 at 800 A).

    Args:
        wave: wavelengths (A), > 0.
        te: electron temperature (K).
        tau: optical depth at the edge.
    """
    r = wave / BALMER_EDGE
    r3 = r * r * r
    x = HC_OVER_K / (wave * te)
    t = jnp.minimum(tau * r3, _TAU_CAP)
    ex = jnp.exp(-x)
    inv_ex = 1.0 / (1.0 - ex)  # 1 / e_x
    e_t = -jnp.expm1(-t)  # 1 - exp(-t)
    edge = jnp.expm1(HC_OVER_K / (BALMER_EDGE * te)) / -jnp.expm1(-jnp.minimum(tau, _TAU_CAP))
    b = ex * inv_ex * e_t / (r3 * r * r) * edge
    # t / (exp(t) - 1) = t exp(-t) / (1 - exp(-t))
    slope = -5.0 + x * inv_ex + 3.0 * t * (1.0 - e_t) / e_t
    return b, slope


class BalmerContinuum(AbstractComponent):
    """Balmer continuum + high-order Balmer lines (point source, additive, continuum group).

    Parameters (local names):
        norm: flux density at the Balmer edge (model flux units); the broadened
            model equals ``norm`` at lambda_BE * exp(dv / c).
        fwhm: FWHM of the lines and of the edge smoothing (km/s), instrument excluded.
        dv: velocity shift (km/s); lambda -> lambda * exp(dv / c).
        te: electron temperature (K), only when not fixed.
        tau: optical depth at the edge, only when not fixed.

    Attributes:
        name: instance name.
        line_table: the table the lines come from.
        line_lnwave: ln vacuum wavelengths (A) of the lines.
        line_ratio: line fluxes relative to H-beta.
        forest: the lines and the merged-series tail (per unit ln lambda,
            H-beta units) broadened to a ladder of widths; the tail is K / 8
            per unit ln lambda from the edge to lambda_{n_max + 1/2}.
        te: fixed temperature (K) or (low, high) of its uniform prior.
        tau: fixed edge optical depth or (low, high) of its uniform prior.
        fwhm_range, dv_range: bounds of the uniform priors (km/s).
        norm_scale: scale of the half-normal ``norm`` prior (model flux units).
    """

    name: str
    line_table: str = eqx.field(kw_only=True)
    line_lnwave: jnp.ndarray = eqx.field(kw_only=True)
    line_ratio: jnp.ndarray = eqx.field(kw_only=True)
    forest: WidthLadder = eqx.field(kw_only=True)
    te: float | tuple = 15000.0
    tau: float | tuple = (0.1, 2.0)
    fwhm_range: tuple = (1000.0, 15000.0)
    dv_range: tuple = (-2000.0, 2000.0)
    norm_scale: float = 1.0
    morphology: str = "point"
    operation: str = "add"
    group: str = "continuum"

    def __check_init__(self):
        for what, value in (("te (K)", self.te), ("tau", self.tau)):
            if not isinstance(value, (float, tuple)) or _fixed_or_range(self.name, what, value) != value:
                raise ConfigError(ERR_FIXED_OR_RANGE.format(name=self.name, what=what, value=value))
        check_pair(self.name, "fwhm_range (km/s)", self.fwhm_range, positive=True)
        check_pair(self.name, "dv_range (km/s)", self.dv_range)
        check_positive(self.name, "norm_scale", self.norm_scale)

    def priors(self):
        out = {
            "norm": dist.HalfNormal(self.norm_scale),
            "fwhm": dist.Uniform(*self.fwhm_range),
            "dv": dist.Uniform(*self.dv_range),
        }
        if isinstance(self.te, tuple):
            out["te"] = dist.Uniform(*self.te)
        if isinstance(self.tau, tuple):
            out["tau"] = dist.Uniform(*self.tau)
        return out

    def init_values(self):
        lo, hi = self.fwhm_range
        out = {"norm": 0.1 * self.norm_scale, "fwhm": min(max(4000.0, lo), hi), "dv": 0.0}
        if isinstance(self.te, tuple):
            out["te"] = min(max(15000.0, self.te[0]), self.te[1])
        if isinstance(self.tau, tuple):
            out["tau"] = min(max(1.0, self.tau[0]), self.tau[1])
        return out

    def _lines(self, y, s):
        """Unit-amplitude lines + merged tail per unit ln lambda (H-beta units) at emitter-frame ln lambda ``y``."""
        return self.forest(y, s * C_KMS)

    def _continuum(self, y, s, te, tau, wave=None):
        """Smoothed continuum step over norm, flux per unit ln lambda (A), at emitter-frame ln wavelengths ``y``.

        ``wave`` = exp(y) if the caller has it.
        """
        wave = jnp.exp(y) if wave is None else wave
        b, slope = continuum_shape(wave, te, tau)
        z = (math.log(BALMER_EDGE) - y) / s
        return wave * b * (ndtr(z) - s * (slope + 1.0) * _INV_SQRT_2PI * jnp.exp(-0.5 * z * z))

    def __call__(self, wave, params, ctx):
        """Flux (model units) at rest wavelengths ``wave`` (A)."""
        te = params["te"] if isinstance(self.te, tuple) else self.te
        tau = params["tau"] if isinstance(self.tau, tuple) else self.tau
        shift = params["dv"] / C_KMS
        sigma_inst = ctx.sigma_inst_kms(BALMER_EDGE * jnp.exp(shift))
        s = jnp.sqrt((params["fwhm"] * FWHM_TO_SIGMA) ** 2 + sigma_inst**2) / C_KMS
        edge = jnp.asarray([math.log(BALMER_EDGE)])
        # line amplitude: the forest fills the edge up to h(edge) = lambda_BE, where the step supplies the rest
        amp = jnp.maximum(BALMER_EDGE - self._continuum(edge, s, te, tau)[0], 0.0) / self._lines(edge, s)[0]
        w = jnp.maximum(jnp.asarray(wave, dtype=jnp.result_type(float)), _WAVE_FLOOR)
        y = jnp.log(w) - shift
        emitted = w * jnp.exp(-shift)  # exp(y)
        per_lnwave = jnp.maximum(self._continuum(y, s, te, tau, emitted), 0.0) + amp * self._lines(y, s)
        return params["norm"] * per_lnwave / emitted

    def restrict(self, wave_min, wave_max):
        """``None`` when [wave_min, wave_max] (A) lies redward of the reddest line's wings, else ``self``."""
        s_max = self.fwhm_range[1] * FWHM_TO_SIGMA / C_KMS
        red = math.exp(float(np.max(self.line_lnwave)) + WING_SIGMAS * s_max + self.dv_range[1] / C_KMS)
        return None if wave_min > red else self


def balmer_continuum(
    name: str,
    line_table: str = DEFAULT_LINE_TABLE,
    te=15000.0,
    tau=(0.1, 2.0),
    fwhm_range=(1000.0, 15000.0),
    dv_range=(-2000.0, 2000.0),
    norm_scale: float = 1.0,
):
    """Balmer continuum and high-order Balmer lines.

    Args:
        name: instance name.
        line_table: Storey & Hummer (1995) case-B table, a registered file
            (``balmer/...csv``: log n_e = 9 or 10 with n <= 50, or log n_e = 9
            extrapolated to n <= 400) or a CSV path with the same columns.
        te: electron temperature (K): a number fixes it, a pair (low, high)
            fits it with a uniform prior. Fixed at 15000 K by default, the
            temperature of the line tables (Dietrich et al. 2003; Kurk et al. 2007).
        tau: optical depth at the edge, fixed (number) or fitted (pair); fitted
            in (0.1, 2) by default.
        fwhm_range: bounds (km/s) of the uniform FWHM prior.
        dv_range: bounds (km/s) of the uniform velocity-shift prior.
        norm_scale: scale of the half-normal prior on the edge flux (model units).
    """
    n, wave, ratio = read_line_table(name, line_table)
    n_max = int(n[-1])
    fwhm_range = check_pair(name, "fwhm_range (km/s)", fwhm_range, positive=True)
    dv_range = check_pair(name, "dv_range (km/s)", dv_range)
    return BalmerContinuum(
        name=name,
        line_table=str(line_table),
        line_lnwave=jnp.asarray(np.log(wave)),
        line_ratio=jnp.asarray(ratio),
        te=_fixed_or_range(name, "te (K)", te),
        tau=_fixed_or_range(name, "tau", tau),
        forest=_forest(wave, ratio, fwhm_range, dv_range, n_max),
        fwhm_range=fwhm_range,
        dv_range=dv_range,
        norm_scale=check_positive(name, "norm_scale", norm_scale),
    )


def _forest(wave, ratio, fwhm_range, dv_range, n_max: int) -> WidthLadder:
    """The lines (flux ``ratio`` at vacuum ``wave`` A) and the merged tail as sticks on a ln grid, broadened to a ladder.

    The tail is K / 8 per unit ln lambda (K = n_max**3 times the flux of the
    last line, n = ``n_max``) from the edge to lambda_{n_max + 1/2}, as
    sticks at the centres of equal parts of it an eighth of a grid step
    wide. Each stick is shared between its two neighbouring grid points in
    proportion to its distance from them (flux and centroid conserved); the
    grid extends WING_SIGMAS of the widest kernel plus the largest shift
    beyond the bluest and reddest lines and the edge.
    """
    tail_density = n_max**3 * float(ratio[-1]) / 8.0
    edge, red = math.log(BALMER_EDGE), math.log(BALMER_EDGE) - math.log1p(-4.0 / (n_max + 0.5) ** 2)
    s_max = math.hypot(fwhm_range[1] * FWHM_TO_SIGMA, MAX_INST_SIGMA_KMS)
    s_min = fwhm_range[0] * FWHM_TO_SIGMA
    wing = math.exp((WING_SIGMAS * s_max + max(abs(dv_range[0]), abs(dv_range[1]))) / C_KMS)
    grid = log_grid(min(float(np.min(wave)), BALMER_EDGE) / wing, float(np.max(wave)) * wing, FOREST_DV_KMS)
    dln = FOREST_DV_KMS / C_KMS
    parts = max(int(np.ceil(8.0 * (red - edge) / dln)), 1)
    centres = edge + (np.arange(parts) + 0.5) * (red - edge) / parts
    lnw = np.concatenate([np.log(wave), centres])
    flux = np.concatenate([ratio, np.full(parts, tail_density * (red - edge) / parts)])
    x = (lnw - np.log(grid[0])) / dln
    i0 = np.floor(x).astype(int)
    sticks = np.zeros(grid.size)
    np.add.at(sticks, i0, flux * (1.0 - (x - i0)) / dln)
    np.add.at(sticks, i0 + 1, flux * (x - i0) / dln)
    return WidthLadder.build(math.log(grid[0]), dln, sticks, (s_min, s_max))


@hookimpl
def register_components():
    return {"balmer_continuum": balmer_continuum}

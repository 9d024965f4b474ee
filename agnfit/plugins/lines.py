"""Built-in plugin: broad and narrow emission lines.

Two component types, both additive members of the ``"line"`` group:

* ``broad_lines`` (morphology ``"point"``, the broad-line region is
  unresolved): per line, ``n_gauss`` profile components, each with its own
  flux, FWHM and velocity shift.
* ``narrow_lines`` (morphology ``"extended"``, the narrow-line region can be
  resolved by the fiber): per complex one FWHM and one shift shared by its
  lines (or, with ``shared_kinematics``, one FWHM and one shift for all
  narrow lines), per line a flux, the weaker line of a fixed-ratio doublet
  tied to the stronger one (see :mod:`agnfit.plugins.linelist`).

Local parameter names (one helper, :func:`param_name`, owns the scheme;
``k`` = 2, 3, ... numbers the extra profile components of a broad line):

==========================  ==================================================
``<line>_flux[_k]``         integrated flux (model flux units x A), > 0
``<line>_fwhm``             intrinsic FWHM (km/s) of the first (narrowest)
                            broad component
``<line>_fwhm_ratio_k``     FWHM_k / FWHM_(k-1) > 1: the components are
                            ordered by width, which removes label switching
``<line>_dv[_k]``           velocity shift (km/s), > 0 is a redshift
``<line>_h3[_k]``,          Gauss-Hermite coefficients (``gauss_hermite``
``<line>_h4[_k]``           profile only)
``balmer_fwhm``, ...        broad Ha/Hb/Hg/Hd widths and shifts with ``tie_balmer``
``<complex>_fwhm``,         narrow lines: the width and shift shared by a
``<complex>_dv``            complex, e.g. ``Hb_fwhm`` for narrow Hb and [O III]
``shared_fwhm``,            narrow lines with ``shared_kinematics``: one width
``shared_dv``               and shift for every narrow line
==========================  ==================================================

Widths are intrinsic; the model convolves each line with the instrumental
Gaussian at the line's rest wavelength, sigma_obs^2 = sigma^2 + sigma_inst^2
(see :mod:`agnfit.plugins.profiles`). Evaluation is vectorised: the
parameters are gathered into arrays and all profile components are evaluated
as one (components, pixels) array per profile family; on the spectrum's own
grid, Gaussian and Gauss-Hermite profiles use a window of pixels around each
line sized for the spectrum's sampling (:mod:`agnfit.plugins.line_window`).
"""

from __future__ import annotations

import dataclasses
import math

import equinox as eqx
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist

from ..core.component import AbstractComponent
from ..errors import ConfigError
from ..registry.hookspecs import hookimpl
from . import profiles as prof
from .line_layout import Layout, SlotValues, build_layout, param_name  # noqa: F401 (re-exported)
from .line_window import WINDOW_SIGMAS, slot_windows, window_pixels
from .linelist import resolve_lines

C_KMS = 299792.458
MORPHOLOGY = {"broad": "point", "narrow": "extended"}
#: upper bound of the width ratio of consecutive broad components
FWHM_RATIO_MAX = 5.0
#: bound of |h3| and |h4|
H_MAX = 0.3
#: lines whose centre is within this much (km/s) outside a range are kept by ``restrict``
RESTRICT_MARGIN_KMS = 300.0
#: half-width (km/s) of the continuum-fit mask window around each line
WINDOW_KMS = {"broad": 5000.0, "narrow": 1500.0}
#: starting FWHM (km/s) of the first component, and starting flux / flux_scale
INIT_FWHM = {"broad": 3000.0, "narrow": 400.0}
INIT_FLUX_FRACTION = 0.1
MAX_GAUSS = 4


class EmissionLines(AbstractComponent):
    """A set of emission lines, broad (``kind="broad"``) or narrow (``kind="narrow"``).

    Flux in model flux units per A at rest wavelengths (A); the flux
    parameters are integrated fluxes (model flux units x A). Build it with
    the ``broad_lines`` / ``narrow_lines`` factories, which check the options.

    Attributes:
        name: instance name.
        kind: "broad" or "narrow".
        lines: the lines (with their profiles), sorted by wavelength.
        n_gauss: profile components per broad line (1 for narrow lines).
        tie_balmer: share broad widths and shifts across Ha, Hb, Hg, Hd.
        shared_kinematics: (narrow) one width and one shift for all lines, not one per complex.
        fwhm_range: (min, max) intrinsic FWHM (km/s) of the LogUniform prior.
        dv_max: the shift prior is Uniform(-dv_max, dv_max) (km/s).
        flux_scale: the flux prior is HalfNormal(flux_scale) (model flux units x A).
        window: pixels each profile is evaluated on, on the spectrum's grid (0: every pixel); see ``for_sampling``.
    """

    name: str
    kind: str = eqx.field(static=True, default="broad")
    lines: tuple = eqx.field(static=True, default=())
    n_gauss: int = eqx.field(static=True, default=1)
    tie_balmer: bool = eqx.field(static=True, default=False)
    shared_kinematics: bool = eqx.field(static=True, default=False)
    fwhm_range: tuple = eqx.field(static=True, default=(1200.0, 20000.0))
    dv_max: float = eqx.field(static=True, default=3000.0)
    flux_scale: float = eqx.field(static=True, default=200.0)
    window: int = eqx.field(static=True, default=0)
    morphology: str = "point"
    operation: str = "add"
    group: str = "line"

    def __check_init__(self):
        if self.kind not in MORPHOLOGY:
            raise ValueError(f"{self.name}: kind must be one of {tuple(MORPHOLOGY)}, got {self.kind!r}")
        if self.morphology != MORPHOLOGY[self.kind]:
            raise ValueError(f"{self.name}: {self.kind} lines have morphology {MORPHOLOGY[self.kind]!r}")
        if not self.lines:
            raise ValueError(f"{self.name}: a line component needs at least one line")
        if self.kind == "narrow" and (self.n_gauss != 1 or self.tie_balmer):
            raise ValueError(f"{self.name}: narrow lines have one profile component per line and no Balmer tie")
        if self.kind == "broad" and self.shared_kinematics:
            raise ValueError(f"{self.name}: broad lines share kinematics only through tie_balmer")

    # ------------------------------------------------------------ structure
    @property
    def layout(self) -> Layout:
        tie = "balmer" if self.tie_balmer else "all" if self.shared_kinematics else ""
        return build_layout(self.kind, self.lines, self.n_gauss, tie)

    def line_names(self) -> list[str]:
        """Names of the physical lines in this component, by wavelength."""
        return [ln.name for ln in self.lines]

    def line_rest_wave(self, line: str) -> float:
        """Vacuum rest wavelength (A) of ``line``."""
        return self.lines[self._line_index(line)].wave

    def _line_index(self, line: str) -> int:
        for i, ln in enumerate(self.lines):
            if ln.name == line:
                return i
        raise KeyError(f"{self.name}: no line {line!r}; lines: {self.line_names()}")

    # ------------------------------------------------------------ parameters
    def _prior(self, role: str):
        lo, hi = self.fwhm_range
        if role == "flux":
            return dist.HalfNormal(self.flux_scale)
        if role == "fwhm":
            return dist.LogUniform(lo, hi)
        if role == "fwhm_ratio":
            return dist.Uniform(1.0, FWHM_RATIO_MAX)
        if role == "dv":
            return dist.Uniform(-self.dv_max, self.dv_max)
        return dist.Uniform(-H_MAX, H_MAX)

    def priors(self) -> dict:
        """HalfNormal fluxes, LogUniform widths, Uniform shifts, ratios and h3/h4 (local names)."""
        lay = self.layout
        return {n: self._prior(r) for n, r in zip(lay.names, lay.roles)}

    def init_values(self) -> dict:
        """Fluxes at ``INIT_FLUX_FRACTION * flux_scale``, typical widths, zero shifts and h3/h4."""
        lo, hi = self.fwhm_range
        fwhm = float(np.clip(INIT_FWHM[self.kind], 1.05 * lo, 0.95 * hi))
        start = {"flux": INIT_FLUX_FRACTION * self.flux_scale, "fwhm": fwhm, "fwhm_ratio": 2.0, "dv": 0.0}
        lay = self.layout
        return {n: start.get(r, 0.0) for n, r in zip(lay.names, lay.roles)}

    def slot_values(self, params: dict) -> SlotValues:
        """Flux, intrinsic FWHM, shift, h3, h4 of every profile component, gathered from ``params``."""
        lay = self.layout
        missing = [n for n in lay.names if n not in params]
        if missing:
            raise KeyError(f"{self.name}: missing parameter(s) {missing}")
        p = jnp.stack([jnp.asarray(params[n]) for n in lay.names]).astype(jnp.result_type(float))
        p = jnp.concatenate([p, jnp.array([0.0, 1.0], dtype=p.dtype)])
        fwhm = p[lay.fwhm] * jnp.prod(p[lay.ratios], axis=-1)
        return SlotValues(p[lay.flux] * lay.flux_mult, fwhm, p[lay.dv], p[lay.h3], p[lay.h4])

    def line_flux(self, params: dict, line: str):
        """Integrated flux of ``line`` (model flux units x A), all its profile components."""
        sel = self.layout.line == self._line_index(line)
        return jnp.sum(self.slot_values(params).flux[sel])

    # ------------------------------------------------------------ evaluation
    def slot_sigma_inst(self, ctx, intrinsic: bool):
        """Instrumental sigma (km/s) at every slot's rest wavelength (zeros when ``intrinsic``)."""
        lay = self.layout
        if intrinsic:
            return jnp.zeros(lay.wave.size)
        at_centres = ctx.prepared_for(self.name)  # from prepare, on the spectrum's own grid
        return at_centres if at_centres is not None else ctx.sigma_inst_kms(jnp.asarray(lay.wave))

    def _densities(self, grid, v: SlotValues, sig_inst, slots: np.ndarray):
        """(idx, dens): the selected slots, grouped by profile family, and their densities per km/s.

        ``grid``: ln wavelengths, (1, n) shared by every slot or (slots, m) one row per slot;
        ``sig_inst``: instrumental sigma (km/s) per slot. ``dens`` is (len(idx), n or m).
        """
        lay = self.layout
        order, rows = [], []
        families = {"gaussian": slots & ~lay.lorentz & ~lay.hermite, "gauss_hermite": slots & lay.hermite,
                    "lorentzian": slots & lay.lorentz}
        for family, sel in families.items():  # one vectorised block per profile family
            idx = np.flatnonzero(sel)
            if idx.size == 0:
                continue
            lnw = grid if grid.shape[0] == 1 else grid[idx]
            x = C_KMS * (lnw - np.log(lay.wave[idx])[:, None]) - v.dv[idx, None]
            s_inst = sig_inst[idx, None]
            if family == "lorentzian":
                dens = prof.pseudo_voigt(x, v.fwhm[idx, None], s_inst)
            elif family == "gaussian":
                dens = prof.gaussian(x, v.fwhm[idx, None] / prof.FWHM_PER_SIGMA, s_inst)
            else:
                sigma = v.fwhm[idx, None] / prof.FWHM_PER_SIGMA
                dens = prof.gauss_hermite(x, sigma, s_inst, v.h3[idx, None], v.h4[idx, None])
            order.append(idx)
            rows.append(dens)
        return np.concatenate(order), jnp.concatenate(rows, axis=0)

    def _evaluate(self, wave, params: dict, ctx, slots: np.ndarray, intrinsic: bool):
        """Sum of the profile components ``slots`` (boolean mask) at rest ``wave`` (A).

        On the spectrum's own grid (a prepared ``ctx``) a component with a
        ``window`` evaluates Gaussian and Gauss-Hermite profiles on that many
        pixels around each centre (:mod:`agnfit.plugins.line_window`).
        """
        v = self.slot_values(params)
        shape = jnp.shape(wave)
        w = jnp.reshape(jnp.asarray(wave), -1).astype(jnp.result_type(float))
        lnw = jnp.log(jnp.maximum(w, 1e-30))  # once per pixel, not per (line, pixel)
        sig_inst = self.slot_sigma_inst(ctx, intrinsic)

        width = self.window
        if intrinsic or width == 0 or 2 * width > lnw.size or ctx.prepared_for(self.name) is None \
                or (slots & self.layout.lorentz).any():  # the spectrum's own grid only; Lorentzian wings are long
            idx, dens = self._densities(lnw[None, :], v, sig_inst, slots)
            # a weighted sum XLA fuses with the profiles, instead of a product that needs them all stored first
            total = jnp.sum(v.flux[idx][:, None] * dens, axis=0)
        else:
            sigma = jnp.hypot(v.fwhm / prof.FWHM_PER_SIGMA, sig_inst)
            blue = jnp.asarray(np.log(self.layout.wave)) + (v.dv - WINDOW_SIGMAS * sigma) / C_KMS
            rows = slot_windows(lnw, blue, width)
            idx, dens = self._densities(lnw[rows], v, sig_inst, slots)
            total = jnp.zeros_like(lnw).at[rows[idx]].add(v.flux[idx][:, None] * dens)
        # density per km/s -> per A: dx/dlambda = c / lambda
        return jnp.reshape(total * C_KMS / jnp.maximum(w, 1e-30), shape)

    def jacobian(self, wave, params: dict, ctx, names: tuple):
        """Value and Jacobian (n, len(names)) with respect to local parameters ``names``, per profile slot.

        See :func:`agnfit.plugins.line_jacobian.lines_jacobian`.
        """
        from .line_jacobian import lines_jacobian

        return lines_jacobian(self, wave, params, ctx, names)

    def prepare(self, ctx):
        """The instrumental sigma (km/s) at every profile slot's line centre: fixed for a spectrum."""
        return ctx.sigma_inst_kms(jnp.asarray(self.layout.wave))

    def __call__(self, wave, params, ctx):
        """Flux of all lines (model flux units per A) at rest wavelengths ``wave`` (A), LSF applied."""
        return self._evaluate(wave, params, ctx, np.ones(self.layout.line.size, bool), intrinsic=False)

    def line_profile(self, wave, params: dict, ctx, line: str, intrinsic: bool = True):
        """Flux (model flux units per A) of all profile components of ``line`` at rest ``wave`` (A).

        With ``intrinsic=True`` the instrumental broadening is left out (``ctx``
        may then be None), so FWHM, dispersion, peak and equivalent width
        measured numerically on it are the intrinsic ones; with False it is
        the line as it appears in the model spectrum.
        """
        sel = self.layout.line == self._line_index(line)
        return self._evaluate(wave, params, ctx, sel, intrinsic)

    # ------------------------------------------------------------ ranges
    def restrict(self, wave_min: float, wave_max: float):
        """The lines whose centre lies in [wave_min, wave_max] widened by ``RESTRICT_MARGIN_KMS``.

        Returns ``self`` if every line is kept, None if none is; a doublet line
        whose partner is dropped gets its own flux parameter.
        """
        f = RESTRICT_MARGIN_KMS / C_KMS
        kept = tuple(ln for ln in self.lines if wave_min * (1.0 - f) <= ln.wave <= wave_max * (1.0 + f))
        if len(kept) == len(self.lines):
            return self
        if not kept:
            return None
        return dataclasses.replace(self, lines=kept)

    def for_sampling(self, sampling):
        """This component with profile windows sized for ``sampling`` and the widest FWHM the priors allow."""
        widest = self.fwhm_range[1] * FWHM_RATIO_MAX ** (self.n_gauss - 1)
        return dataclasses.replace(self, window=window_pixels(widest, sampling))

    def line_windows(self) -> np.ndarray:
        """(k, 2) rest windows (A): each line centre +- ``WINDOW_KMS[kind]`` (about a broad FWHM)."""
        f = WINDOW_KMS[self.kind] / C_KMS
        wave = np.array([ln.wave for ln in self.lines])
        return np.stack([wave * (1.0 - f), wave * (1.0 + f)], axis=1)


# ---------------------------------------------------------------- factories
def _check_positive(where, **values):
    for key, val in values.items():
        if not (isinstance(val, (int, float)) and not isinstance(val, bool) and math.isfinite(val) and val > 0):
            raise ConfigError(f"{where}: {key} must be a positive number, got {val!r}")


def _check_bool(where, **values):
    for key, val in values.items():
        if not isinstance(val, bool):
            raise ConfigError(f"{where}: {key} must be true or false, got {val!r}")


def _make(kind: str, name: str, lines, profile, profiles, prior, n_gauss=1, tie: str = ""):
    """Validate the options of a line component and build it.

    ``prior`` = (fwhm_range, dv_max, flux_scale); ``tie`` = "balmer" (broad
    ``tie_balmer``), "all" (narrow ``shared_kinematics``) or "".
    """
    where = f"[components.{name}] ({kind}_lines)"
    final = resolve_lines(kind, lines, where, profile, profiles)
    fwhm_range, dv_max, flux_scale = prior
    try:
        lo, hi = (float(v) for v in fwhm_range)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: fwhm_range must be [min, max] in km/s, got {fwhm_range!r}") from None
    _check_positive(where, fwhm_min=lo, dv_max=dv_max, flux_scale=flux_scale)
    if not hi > lo:
        raise ConfigError(f"{where}: fwhm_range must have max > min, got {fwhm_range!r}")
    if isinstance(n_gauss, bool) or not isinstance(n_gauss, int) or not 1 <= n_gauss <= MAX_GAUSS:
        raise ConfigError(f"{where}: n_gauss must be an integer from 1 to {MAX_GAUSS}, got {n_gauss!r}")
    return EmissionLines(
        name=name, kind=kind, lines=final, n_gauss=int(n_gauss), tie_balmer=tie == "balmer",
        shared_kinematics=tie == "all",
        fwhm_range=(lo, hi), dv_max=float(dv_max), flux_scale=float(flux_scale), morphology=MORPHOLOGY[kind],
    )


def broad_lines(
    name: str,
    lines=None,
    profile: str = "gaussian",
    profiles: dict | None = None,
    n_gauss: int = 1,
    tie_balmer: bool = False,
    fwhm_range=(1200.0, 20000.0),
    dv_max: float = 3000.0,
    flux_scale: float = 200.0,
):
    """Broad emission lines (point source).

    Args:
        lines: line names from the default broad list, or tables
            ``{name, wave, complex}`` for other lines (default: all broad lines).
        profile: profile of every line: "gaussian", "gauss_hermite" or "lorentzian".
        profiles: per-line profile overriding ``profile``, ``{line: profile}``.
        n_gauss: profile components per line, ordered by increasing width.
        tie_balmer: one set of widths and shifts for the Balmer lines.
        fwhm_range: [min, max] intrinsic FWHM (km/s) of the first component.
        dv_max: shifts within +-dv_max (km/s).
        flux_scale: scale (model flux units x A) of the HalfNormal flux prior.
    """
    prior = (fwhm_range, dv_max, flux_scale)
    _check_bool(f"[components.{name}] (broad_lines)", tie_balmer=tie_balmer)
    return _make("broad", name, lines, profile, profiles, prior, n_gauss, "balmer" if tie_balmer else "")


def narrow_lines(
    name: str,
    lines=None,
    profile: str = "gaussian",
    profiles: dict | None = None,
    fwhm_range=(100.0, 1000.0),
    dv_max: float = 1000.0,
    flux_scale: float = 50.0,
    shared_kinematics: bool = False,
):
    """Narrow emission lines (extended source), one width and shift per complex.

    Args: as :func:`broad_lines` (without ``n_gauss`` and ``tie_balmer``);
    the default width range ends below the broad one so that the two
    components cannot trade places. ``shared_kinematics``: one width and one
    shift (``shared_fwhm``, ``shared_dv``) for all narrow lines, the
    assumption of a single narrow-line region. Besides its physical reading,
    this keeps the shift and width of a line with no detected flux from
    being free parameters, which samplers mix slowly.
    """
    _check_bool(f"[components.{name}] (narrow_lines)", shared_kinematics=shared_kinematics)
    tie = "all" if shared_kinematics else ""
    return _make("narrow", name, lines, profile, profiles, (fwhm_range, dv_max, flux_scale), tie=tie)


@hookimpl
def register_components():
    return {"broad_lines": broad_lines, "narrow_lines": narrow_lines}

"""Host galaxies as broadened linear combinations of templates: the shared basis of the SSP and PCA hosts.

A :class:`BroadenedBasis` holds templates on a log-lambda grid; combined with
coefficients it is broadened by a Gaussian line-of-sight velocity
distribution (``sigma``) and shifted (``dv``), with an analytic Jacobian from
one batched inverse FFT. :class:`AbstractBasisHost` is the component
interface built on it (:mod:`agnfit.plugins.host`, :mod:`agnfit.plugins.host_pca`).
"""

from __future__ import annotations

import abc
import dataclasses
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..core.component import AbstractComponent
from ..errors import ConfigError
from .broaden import C_KMS, LogTemplates

GRID_DV_KMS = 30.0  # log-grid step of the broadening grid (finer than MILES' 0.9 A sampling)
MAX_INST_SIGMA_KMS = 500.0  # largest instrumental sigma the FFT padding allows for
SIGMA_FLOOR_KMS = 1.0  # effective kernel sigma never goes below this (keeps gradients finite)

class BroadenedBasis(eqx.Module):
    """Templates on a log-lambda grid, combined, broadened to sigma and shifted by dv.

    The Gaussian kernel's sigma is sqrt(sigma^2 + sigma_inst^2 - sigma_template^2)
    (floored at ``SIGMA_FLOOR_KMS``): the line-of-sight dispersion, plus the
    instrument's (median over the spectrum), minus what the templates already have.

    Attributes:
        templates: the precomputed FFTs of the templates.
        sigma_template_kms: the templates' own Gaussian resolution (km/s).
        coverage: rest range (A) where the templates are defined.
        window: length of the per-spectrum window (grid samples); 0: none.

    For the fiber spectrum the templates are broadened over a window of
    the grid that covers the spectrum (:meth:`for_range`,
    :meth:`prepare`), transformed once per spectrum; other wavelengths
    (photometric bands, derived quantities) use the whole grid.
    """

    templates: LogTemplates
    sigma_template_kms: float = eqx.field(static=True)
    coverage: tuple = eqx.field(static=True)
    window: int = eqx.field(static=True, default=0)

    @classmethod
    def build(cls, wave, flux, sigma_template_kms: float, wave_range, max_sigma_kms: float):
        """Templates ``flux`` (k, m) at vacuum rest ``wave`` (m,) A, gridded over ``wave_range`` A."""
        lo, hi = max(wave_range[0], wave[0]), min(wave_range[1], wave[-1])
        if lo >= hi:
            raise ConfigError(f"wave_range {tuple(wave_range)} A does not overlap the templates' {wave[0]:.0f}-{wave[-1]:.0f} A")
        tpl = LogTemplates.from_arrays(wave, flux, GRID_DV_KMS, max_sigma_kms, (lo, hi))
        return cls(tpl, float(sigma_template_kms), (float(lo), float(hi)))

    def kernel_sigma(self, sigma, ctx):
        """Effective Gaussian sigma (km/s) of the broadening kernel."""
        s2 = sigma**2 + ctx.median_sigma_kms**2 - self.sigma_template_kms**2
        return jnp.sqrt(jnp.maximum(s2, SIGMA_FLOOR_KMS**2))

    def for_range(self, wave_min: float, wave_max: float) -> "BroadenedBasis":
        """This basis with a window long enough for spectra spanning ln(wave_max / wave_min) (rounded up)."""
        n = self.templates.window_length(math.log(wave_max / wave_min))
        return self if n == self.window else dataclasses.replace(self, window=n)

    def prepare(self, ctx):
        """The templates over this spectrum's window (see :meth:`LogTemplates.window`), or None without one."""
        if not self.window:
            return None
        return self.templates.window(jnp.log(jnp.asarray(ctx.wave_min, jnp.result_type(float))), self.window)

    def __call__(self, wave, coeffs, sigma, dv, ctx, prepared=None):
        """sum_k coeffs[k] template_k, broadened and shifted, at rest ``wave`` (A); 0 outside the coverage.

        ``prepared`` (from :meth:`prepare`, for the spectrum's own ``wave``
        only) replaces the whole grid by the spectrum's window.
        """
        tpl = self.templates if prepared is None else prepared
        return tpl(wave, coeffs, self.kernel_sigma(sigma, ctx), dv)  # the shift moves the sampling points

    def jacobian(self, wave, params: dict, ctx, coeff_names: list, names: tuple, prepared=None):
        """(value (n,), Jacobian (n, len(names))) of :meth:`__call__` at rest ``wave`` (A).

        The coefficients are ``params[coeff_names[k]]``; ``names`` may hold
        any of them, ``"sigma"`` and ``"dv"``, in any order, and only those
        columns are computed. The model is linear in the coefficients, so
        their columns are the templates broadened one by one; the sigma column
        is the combination broadened by the kernel's derivative, times
        d sigma_kernel / d sigma (0 where the kernel sigma is floored); these
        and the value come from one batched inverse FFT. The shift moves the
        sampling points, so the dv column is -1/c times the slope of the
        linear interpolant. All are derivatives of what ``__call__``
        evaluates, computed in single precision (they only feed the Fisher
        curvature; see :class:`~agnfit.plugins.broaden.LogTemplates`): the
        value and the weight and sigma columns agree with forward-mode
        differentiation to ~1e-6 of their scale, the dv column to ~1e-5.
        """
        unknown = set(names) - set(coeff_names) - {"sigma", "dv"}
        if unknown:
            raise ValueError(f"not parameters of this host: {sorted(unknown)}; it has {list(coeff_names)} + ['sigma', 'dv']")
        dtype = jnp.result_type(float)
        index = {n: k for k, n in enumerate(coeff_names)}
        coeffs = jnp.stack([jnp.asarray(params[n], dtype) for n in coeff_names])
        sigma = jnp.asarray(params["sigma"], dtype)
        ks, dks = jax.jvp(lambda s: self.kernel_sigma(s, ctx), (sigma,), (jnp.ones_like(sigma),))
        wanted = [n for n in names if n in index]
        tpl = self.templates if prepared is None else prepared
        rows = tpl.broadened_rows(coeffs, ks, dks if "sigma" in names else None, [index[n] for n in wanted])
        w = jnp.reshape(jnp.asarray(wave, dtype), -1)
        lnw = jnp.log(jnp.maximum(w, 1e-30)) - jnp.asarray(params["dv"], dtype) / C_KMS
        at = tpl.interp(lnw, rows)  # (rows, n): value, [d/dsigma], coefficient columns
        labels = (["sigma"] if "sigma" in names else []) + wanted
        cols = [at[1:]]
        if "dv" in names:
            labels.append("dv")
            cols.append(-tpl.slope(lnw, rows[0])[None] / C_KMS)
        order = np.array([labels.index(n) for n in names], dtype=int)
        jac = jnp.concatenate(cols, axis=0)
        if not np.array_equal(order, np.arange(len(labels))):
            jac = jac[order]
        return at[0], jac.T  # one transpose of the block, not a stack of strided columns

    def overlaps(self, wave_min: float, wave_max: float) -> bool:
        """Whether the rest range [wave_min, wave_max] (A) overlaps the templates' coverage."""
        return wave_min < self.coverage[1] and wave_max > self.coverage[0]


class AbstractBasisHost(AbstractComponent):
    """A host galaxy as a linear combination of templates broadened by ``sigma`` and shifted by ``dv`` (km/s).

    The templates are a :class:`BroadenedBasis`; a concrete host names the
    coefficient parameters (:meth:`coefficient_names`, in template order) and
    their priors. Evaluation, the analytic Jacobian, the per-spectrum window
    and the restriction to a spectrum's range are the basis's.
    """

    basis: eqx.AbstractVar[BroadenedBasis]

    @abc.abstractmethod
    def coefficient_names(self) -> list[str]:
        """Local names of the template coefficients, in template order."""

    def coefficients(self, params):
        """The template coefficients as an array, in template order."""
        return jnp.stack([jnp.asarray(params[n]) for n in self.coefficient_names()])

    def __call__(self, wave, params, ctx):
        prepared = ctx.prepared_for(self.name)
        return self.basis(wave, self.coefficients(params), params["sigma"], params["dv"], ctx, prepared)

    def jacobian(self, wave, params, ctx, names):
        """Value and Jacobian w.r.t. ``names``, analytic (see :meth:`BroadenedBasis.jacobian`)."""
        return self.basis.jacobian(wave, params, ctx, self.coefficient_names(), names, ctx.prepared_for(self.name))

    def prepare(self, ctx):
        return self.basis.prepare(ctx)

    def restrict(self, wave_min, wave_max):
        """None if the templates miss [wave_min, wave_max] (A), else this host with a window of its grid for such spectra."""
        if not self.basis.overlaps(wave_min, wave_max):
            return None
        basis = self.basis.for_range(wave_min, wave_max)
        return self if basis is self.basis else dataclasses.replace(self, basis=basis)

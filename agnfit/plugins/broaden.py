"""Gaussian velocity broadening and shifting of templates on a log-wavelength grid.

On a grid uniform in ln(lambda), a Gaussian line-of-sight velocity
distribution of dispersion sigma (km/s) is a Gaussian of sigma/c in
ln(lambda), i.e. a convolution with a fixed kernel. We precompute the real FFT
of each (zero-padded) template once; an evaluation multiplies by the analytic
Fourier transform of the kernel, exp(-2 pi^2 s^2 f^2) * exp(-2 pi i f d) with
s and d the dispersion and shift in pixels, and transforms back. The cost is
one inverse FFT whatever sigma is, it is exactly differentiable in sigma and
the shift, and the template's integral is conserved (the kernel's transform
is 1 at f = 0). One batched single-precision inverse FFT gives a template
mixture's value together with its derivatives with respect to the weights
and sigma (:meth:`LogTemplates.broadened_rows`), for the analytic Jacobian
that the Fisher curvature uses (see :class:`LogTemplates` for the precision).
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

C_KMS = 299792.458
#: window spans (ln lambda) are rounded up to a multiple of this
WINDOW_LN_STEP = 0.25
#: a window longer than this fraction of the whole padded grid is not worth its per-spectrum FFTs
WINDOW_MAX_FRACTION = 0.8


def log_grid(wave_min: float, wave_max: float, dv_kms: float) -> np.ndarray:
    """Wavelengths (A) uniform in ln(lambda) with step dv_kms/c."""
    dln = dv_kms / C_KMS
    n = int(np.ceil(np.log(wave_max / wave_min) / dln)) + 1
    return wave_min * np.exp(dln * np.arange(n))


class LogTemplates(eqx.Module):
    """One or more templates on a common ln(lambda) grid, ready to broaden.

    The model's value (:meth:`broadened`, :meth:`__call__`) is computed in
    float64, so the loss and its gradient carry no single-precision rounding:
    a Levenberg-Marquardt fit compares losses that differ by 1e-3 near the
    optimum, and float32 rounding of a host spectrum (~1e-7 of its flux per
    pixel) adds up to ~1e-4 over thousands of pixels.

    The Jacobian rows (:meth:`broadened_rows`: value, d/dsigma and one row
    per template) only feed the Fisher curvature, which proposes steps but
    never decides which are accepted, so they run in single precision: the
    template transforms are also kept as float32 real and imaginary parts
    (one real (k, 2 m) matrix) and the batched inverse FFT is float32.
    Against float64 the rows are good to ~3e-7 of the peak flux (FFT
    round-off ~ eps log n, eps = 6e-8; the kernel exp(-x) to ~4e-8); that
    halves the memory read and speeds up the batched FFT that dominates the
    host's Jacobian.

    A spectrum covers only part of a grid made for every redshift and for
    the photometric bands; :meth:`window` gives the templates over a
    stretch of the grid (transformed once per spectrum), so each evaluation
    transforms that stretch instead of the whole grid.

    Attributes:
        lnwave: ln of the grid wavelengths (A), shape (n,), float64.
        ft: real FFTs of the zero-padded templates, complex128, shape (k, n_fft // 2 + 1).
        ft32: the same as float32 real and imaginary parts, shape (k, 2, n_fft // 2 + 1).
        padded: the templates on the grid with ``pad`` zeros at each end, shape (k, n + 2 pad);
            None in a window.
        n_fft: padded length.
        dv_kms: grid step in km/s.
        pad: samples of zero padding each side: 6 times the widest kernel the templates allow for.
        bounds: ln of the first and last wavelength of the templates' grid (A); the model is zero outside,
            in a window too.
    """

    lnwave: jnp.ndarray
    ft: jnp.ndarray
    ft32: jnp.ndarray
    padded: jnp.ndarray | None
    n_fft: int = eqx.field(static=True)
    dv_kms: float = eqx.field(static=True)
    pad: int = eqx.field(static=True)
    bounds: tuple = eqx.field(static=True)

    @classmethod
    def from_arrays(cls, wave, flux, dv_kms: float = 30.0, max_sigma_kms: float = 10000.0, wave_range=None):
        """Resample templates ``flux`` (k, m) given at ``wave`` (m,) to a log grid of step ``dv_kms``.

        Outside the templates' coverage the flux is zero. ``max_sigma_kms``
        sets the zero padding that keeps the circular convolution from wrapping.
        """
        wave = np.asarray(wave, float)
        flux = np.atleast_2d(np.asarray(flux, float))
        lo, hi = (wave[0], wave[-1]) if wave_range is None else wave_range
        grid = log_grid(lo, hi, dv_kms)
        res = np.stack([np.interp(grid, wave, f, left=0.0, right=0.0) for f in flux])
        pad = int(np.ceil(6 * max_sigma_kms / dv_kms))
        n_fft = fast_len(grid.size + 2 * pad)
        ft = np.fft.rfft(res, n=n_fft, axis=-1)  # in float64, rounded once
        parts = np.stack([ft.real, ft.imag], axis=1).astype(np.float32)
        padded = np.pad(res, ((0, 0), (pad, pad)))
        return cls(jnp.asarray(np.log(grid)), jnp.asarray(ft), jnp.asarray(parts), jnp.asarray(padded), n_fft,
                   float(dv_kms), pad, (float(np.log(grid[0])), float(np.log(grid[-1]))))

    def window_length(self, ln_range: float) -> int:
        """Length of a :meth:`window` for spectra spanning ``ln_range`` in ln(lambda); 0: the whole grid is as cheap.

        The span is rounded up to a multiple of ``WINDOW_LN_STEP``, so the
        spectra of one survey (same span whatever their redshift) share one
        length and one compiled program.
        """
        span = WINDOW_LN_STEP * math.ceil(ln_range / WINDOW_LN_STEP - 1e-9)
        n = fast_len(int(math.ceil(span * C_KMS / self.dv_kms)) + 2 * self.pad + 2)
        return n if n <= WINDOW_MAX_FRACTION * self.n_fft else 0

    def window(self, ln_wave_min, length: int) -> "LogTemplates":
        """The templates over ``length`` grid samples from ``pad`` below ``ln_wave_min`` (traced), transformed.

        The window's FFTs are circular over its length, so its first and last
        ``pad`` samples are wrong; evaluations at ln(lambda) - dv / c >=
        ``ln_wave_min`` - dv_max / c up to ``length - 2 pad`` samples further
        (the span :meth:`window_length` was given) read only correct ones
        and equal the whole grid's to round-off. Past the template coverage
        the window holds the same zeros as the whole grid's padding. Costs
        one FFT per template (done once per spectrum).
        """
        dln = self.dv_kms / C_KMS
        first = jnp.floor((ln_wave_min - self.lnwave[0]) / dln).astype(jnp.int32)  # index in `padded`
        start = jnp.clip(first, 0, self.padded.shape[-1] - length)
        values = jax.lax.dynamic_slice_in_dim(self.padded, start, length, axis=1)
        ft = jnp.fft.rfft(values, axis=-1)
        parts = jnp.stack([ft.real, ft.imag], axis=1).astype(jnp.float32)
        lnwave = self.lnwave[0] + dln * ((start - self.pad) + jnp.arange(length))
        return LogTemplates(lnwave, ft, parts, None, length, self.dv_kms, self.pad, self.bounds)

    @property
    def wave(self) -> np.ndarray:
        """Grid wavelengths (A)."""
        return np.exp(np.asarray(self.lnwave))

    def kernel(self, sigma_kms, dtype=jnp.float32):
        """Fourier transform of a unit-area Gaussian of dispersion ``sigma_kms`` (km/s) on this grid.

        exp(-2 pi^2 s^2 f^2), s in pixels, f in cycles per pixel; shape
        (n_fft // 2 + 1,). It is 1 at f = 0, which conserves the flux.
        """
        f2 = jnp.asarray(-2.0 * (np.pi * np.fft.rfftfreq(self.n_fft)) ** 2, dtype)
        s = (jnp.asarray(sigma_kms) / self.dv_kms).astype(dtype)
        return jnp.exp(f2 * (s * s))

    def _combine32(self, weights):
        """sum_k weights[k] ft[k], real and imaginary parts, shape (2, n_fft // 2 + 1), float32."""
        return jnp.tensordot(jnp.atleast_1d(weights).astype(jnp.float32), self.ft32, axes=1)

    def _inverse32(self, parts):
        """Inverse real FFT of transforms ``parts`` (..., 2, n_fft // 2 + 1): float32, padded length n_fft.

        The first n entries are the grid; :meth:`interp` and :meth:`slope`
        read them directly and convert only the samples they use, instead of
        writing a float64 copy of every row.
        """
        return jnp.fft.irfft(jax.lax.complex(parts[..., 0, :], parts[..., 1, :]), n=self.n_fft, axis=-1)

    def _broadened_full(self, weights, sigma_kms, dv_kms=0.0):
        """Broadened (and, for a non-zero ``dv_kms``, phase-shifted) combination on the padded length n_fft, float64."""
        combined = jnp.tensordot(jnp.atleast_1d(weights).astype(self.ft.dtype), self.ft, axes=1)
        kern = self.kernel(sigma_kms, jnp.result_type(float))
        if not (isinstance(dv_kms, (int, float)) and dv_kms == 0):  # a shift by a phase (exact on the grid)
            kern = kern * jnp.exp(-2j * jnp.pi * jnp.fft.rfftfreq(self.n_fft) * (dv_kms / self.dv_kms))
        return jnp.fft.irfft(combined * kern, n=self.n_fft)

    def broadened(self, weights, sigma_kms, dv_kms=0.0):
        """sum_k weights[k] * template_k broadened by sigma (km/s), shifted by dv (km/s), on the log grid (float64)."""
        return self._broadened_full(weights, sigma_kms, dv_kms)[: self.lnwave.shape[0]]

    def broadened_rows(self, weights, sigma_kms, dsigma_kms=None, columns=()):
        """Rows (r, n_fft) from one batched inverse FFT, for a Jacobian; pass them to :meth:`interp`.

        Row 0 is :meth:`broadened` ``(weights, sigma_kms)``; then, if
        ``dsigma_kms`` is given, its derivative along the tangent
        ``dsigma_kms`` of sigma (exact: the kernel's transform is analytic
        in sigma); then template ``columns[j]`` (static indices) alone,
        broadened by sigma: the derivatives with respect to the weights.
        The rows are float32 on the padded length n_fft (see :meth:`_inverse32`), for a curvature only.
        """
        if dsigma_kms is None:
            kern, dkern = self.kernel(sigma_kms), None
        else:
            kern, dkern = jax.jvp(self.kernel, (sigma_kms,), (dsigma_kms,))
        spec = self._combine32(weights)
        rows = [(spec * kern)[None]]
        if dkern is not None:
            rows.append((spec * dkern)[None])
        if len(columns):
            cols = np.asarray(columns, dtype=int)
            every = np.array_equal(cols, np.arange(self.ft32.shape[0]))
            rows.append((self.ft32 if every else self.ft32[cols]) * kern)
        return self._inverse32(jnp.concatenate(rows, axis=0))

    def _sampling(self, lnw):
        """Bracketing grid index, fraction and in-grid mask of ln-wavelengths ``lnw``."""
        n = self.lnwave.shape[0]
        x = (lnw - self.lnwave[0]) / (self.dv_kms / C_KMS)
        i0 = jnp.clip(jnp.floor(x).astype(jnp.int32), 0, n - 2)
        return i0, x - i0, (x >= 0.0) & (x <= n - 1) & (lnw >= self.bounds[0]) & (lnw <= self.bounds[1])

    def interp(self, lnw, f):
        """Linear interpolation (float64) of ``f`` (..., >= n) on this grid at ln-wavelengths ``lnw``; 0 outside.

        The grid is uniform in ln(lambda), so the bracketing index is computed
        directly instead of searched (several times faster than ``jnp.interp``).
        Leading axes of ``f`` are rows interpolated at the same points;
        entries past the grid's n (FFT padding) are never read.
        """
        i0, t, inside = self._sampling(lnw)
        dtype = jnp.result_type(float)
        val = f[..., i0].astype(dtype) * (1.0 - t) + f[..., i0 + 1].astype(dtype) * t
        return jnp.where(inside, val, 0.0)

    def slope(self, lnw, f):
        """d/d ln(lambda) of :meth:`interp` ``(lnw, f)``: the slope of the bracketing segment; 0 outside.

        This is the derivative of the piecewise-linear interpolant actually
        evaluated (what forward-mode differentiation of :meth:`interp` gives),
        not that of the underlying smooth spectrum.
        """
        i0, _, inside = self._sampling(lnw)
        dtype = jnp.result_type(float)
        step = f[..., i0 + 1].astype(dtype) - f[..., i0].astype(dtype)
        return jnp.where(inside, step * (C_KMS / self.dv_kms), 0.0)

    def __call__(self, wave, weights, sigma_kms, dv_kms=0.0):
        """Broadened, shifted combination interpolated to rest wavelengths ``wave`` (A); zero outside.

        The shift moves the interpolation points (ln lambda - dv / c), which
        costs nothing, instead of multiplying the spectrum by a phase.
        Wavelengths <= 0 (e.g. padding) give 0.
        """
        f = self._broadened_full(weights, sigma_kms)
        lnw = jnp.log(jnp.maximum(jnp.asarray(wave, jnp.result_type(float)), 1e-30))
        return self.interp(lnw - dv_kms / C_KMS, f)


def fast_len(n: int) -> int:
    """The smallest 5-smooth integer (2^a 3^b 5^c) >= n: a fast FFT length."""
    best = 1 << (int(n) - 1).bit_length()
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            m = p35
            while m < n:
                m *= 2
            best = min(best, m)
            p35 *= 3
        p5 *= 5
    return best


def gaussian_broaden(values: np.ndarray, sigmas_px: np.ndarray) -> np.ndarray:
    """``values`` (n,) convolved with unit-area Gaussians of dispersions ``sigmas_px`` (pixels), shape (m, n).

    Exact in Fourier space, with zero padding of 6 of the largest sigmas so
    nothing wraps around; the integral is conserved.
    """
    n = values.size
    n_fft = fast_len(n + int(np.ceil(6 * np.max(sigmas_px))) + 1)
    freq = np.fft.rfftfreq(n_fft)
    ft = np.fft.rfft(values, n=n_fft)
    kern = np.exp(-2.0 * (np.pi * freq[None, :] * np.asarray(sigmas_px)[:, None]) ** 2)
    return np.fft.irfft(ft[None, :] * kern, n=n_fft, axis=-1)[:, :n]


class WidthLadder(eqx.Module):
    """A template on a ln(lambda) grid, broadened in advance to a ladder of Gaussian widths.

    Rows of ``table`` are the template (flux per unit ln lambda) convolved
    with Gaussians whose dispersions are uniform in ln(sigma), from one step
    below ``sigma_range[0]`` to one step above ``sigma_range[1]`` (km/s).
    An evaluation interpolates a Catmull-Rom cubic in ln(sigma) between the
    four nearest rows (continuous value and derivative in sigma) and linearly
    in ln(lambda) at the requested wavelengths, which makes it cost a few
    gathers per pixel whatever the width, instead of an FFT. A velocity
    shift dv is a shift of the grid, ln(lambda) -> ln(lambda) - dv / c.
    Widths outside ``sigma_range`` are clipped to it. The template is a
    flux, so FFT round-off and interpolation overshoot below zero are
    clipped at zero.

    With the default ladder step of 0.1 in ln(sigma) the interpolation error
    is a few 1e-5 of the peak (tested against the exact convolution).

    Attributes:
        table: (m, n) broadened templates.
        lnwave0: ln of the first grid wavelength (A).
        dln: grid step in ln(lambda).
        ln_sigma0: ln of the first ladder dispersion (km/s).
        dln_sigma: ladder step in ln(sigma).
    """

    table: jnp.ndarray
    lnwave0: float = eqx.field(static=True)
    dln: float = eqx.field(static=True)
    ln_sigma0: float = eqx.field(static=True)
    dln_sigma: float = eqx.field(static=True)

    @classmethod
    def build(cls, lnwave0: float, dln: float, values, sigma_range, dln_sigma: float = 0.1):
        """Ladder for ``values`` (flux per unit ln lambda on the grid lnwave0 + dln * i), sigmas in km/s."""
        lo, hi = np.log(sigma_range[0]), np.log(sigma_range[1])
        steps = max(int(np.ceil((hi - lo) / dln_sigma)), 1)
        step = (hi - lo) / steps if hi > lo else dln_sigma
        ln_sigmas = lo + step * np.arange(-1, steps + 2)
        table = np.maximum(gaussian_broaden(np.asarray(values, float), np.exp(ln_sigmas) / (C_KMS * dln)), 0.0)
        return cls(jnp.asarray(table), float(lnwave0), float(dln), float(ln_sigmas[0]), float(step))

    @property
    def wave(self) -> np.ndarray:
        """Grid wavelengths (A)."""
        return np.exp(self.lnwave0 + self.dln * np.arange(self.table.shape[1]))

    def __call__(self, lnw, sigma_kms, dv_kms=0.0):
        """Template broadened to ``sigma_kms`` and shifted by ``dv_kms`` at ln-wavelengths ``lnw``; 0 off the grid."""
        m, n = self.table.shape
        u = jnp.clip((jnp.log(sigma_kms) - self.ln_sigma0) / self.dln_sigma, 1.0, m - 2.0)
        j = jnp.clip(jnp.floor(u).astype(jnp.int32), 1, m - 3)
        t = u - j
        t2, t3 = t * t, t * t * t
        wts = 0.5 * jnp.stack([-t3 + 2 * t2 - t, 3 * t3 - 5 * t2 + 2, -3 * t3 + 4 * t2 + t, t3 - t2])
        x = (lnw - dv_kms / C_KMS - self.lnwave0) / self.dln
        i0 = jnp.clip(jnp.floor(x).astype(jnp.int32), 0, n - 2)
        f = x - i0
        # only the 4 ladder rows x 2 bracketing samples each point needs are read (not whole rows)
        flat = self.table.reshape(-1)
        at = ((j - 1 + jnp.arange(4)) * n)[:, None] + i0.reshape(1, -1)  # (4, points) flat indices
        lo = jnp.maximum(wts @ flat[at], 0.0)  # the template at this sigma at samples i0
        hi = jnp.maximum(wts @ flat[at + 1], 0.0)  # ... and at i0 + 1
        val = (lo * (1.0 - f.reshape(-1)) + hi * f.reshape(-1)).reshape(jnp.shape(x))
        return jnp.where((x >= 0.0) & (x <= n - 1), val, 0.0)

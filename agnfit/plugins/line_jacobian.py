"""The Jacobian of an emission-line component, assembled per profile slot.

Each profile slot s (a line, or one Gaussian of a multi-Gaussian broad line)
contributes flux_s * d_s(x; fwhm_s, dv_s, h3_s, h4_s) * c / lambda, and its
density d_s depends on its own slot values only. So one forward-mode
derivative with a unit tangent on *all* slots at once gives every
dd_s/dq_s (q = fwhm, dv, h3, h4), and the chain rule through the (cheap,
pixel-free) map from parameters to slot values,

    J = c / lambda * [D^T G_flux + (flux * D_fwhm)^T G_fwhm + (flux * D_dv)^T G_dv + ...],

with D the (slots, pixels) densities and G_q = d q_slots / d params, costs a
few passes over the (slots, pixels) array instead of one per parameter. It
equals the forward-mode Jacobian to round-off (tested), and is what the
Fisher curvature of the Levenberg-Marquardt optimiser uses.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .lines import C_KMS


def lines_jacobian(comp, wave, params: dict, ctx, names: tuple):
    """(value (n,), Jacobian (n, len(names))) of ``comp`` at rest ``wave`` (A) w.r.t. local params ``names``."""
    lay = comp.layout
    w = jnp.reshape(jnp.asarray(wave), -1).astype(jnp.result_type(float))
    lnw = jnp.log(jnp.maximum(w, 1e-30))
    vec = jnp.stack([jnp.asarray(params[k], dtype=w.dtype) for k in names])

    def slots_of(x):
        p = dict(params)
        p.update(zip(names, x))
        return comp.slot_values(p)

    v = slots_of(vec)
    g = jax.jacfwd(slots_of)(vec)  # per slot quantity: (slots, len(names))
    every = np.ones(lay.line.size, bool)
    grid, sig_inst = lnw[None, :], comp.slot_sigma_inst(ctx, False)
    idx, d0 = comp._densities(grid, v, sig_inst, every)

    def dens(fwhm, dv, h3, h4):
        return comp._densities(grid, v._replace(fwhm=fwhm, dv=dv, h3=h3, h4=h4), sig_inst, every)[1]

    primals = (v.fwhm, v.dv, v.h3, v.h4)
    flux = v.flux[idx]
    jac = d0.T @ g.flux[idx]
    which = [("fwhm", 0), ("dv", 1)] + ([("h3", 2), ("h4", 3)] if lay.hermite.any() else [])
    for q, i in which:
        tangent = tuple(jnp.ones_like(p) if j == i else jnp.zeros_like(p) for j, p in enumerate(primals))
        d_q = jax.jvp(dens, primals, tangent)[1]
        jac = jac + (flux[:, None] * d_q).T @ getattr(g, q)[idx]
    scale = C_KMS / jnp.maximum(w, 1e-30)
    return (flux @ d0) * scale, jac * scale[:, None]

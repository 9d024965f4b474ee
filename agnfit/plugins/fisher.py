"""Fisher-information (Gauss-Newton) curvature of the potential, built block by block.

For a Gaussian likelihood F_i ~ N(f_i(theta), v_i(theta)) the expected
information is (e.g. Kay 1993, "Fundamentals of Statistical Signal
Processing", eq. 3.31)

    I = J_f^T diag(1/v) J_f + 1/2 J_v^T diag(1/v^2) J_v,

with J_f and J_v the Jacobians of the model and of the variance. It is
positive semi-definite and, near the optimum, close to the Hessian of the
negative log-likelihood; Levenberg-Marquardt steps on it converge in tens of
iterations where first-order methods need thousands.

J_f is assembled per component: each component depends only on its own
parameters, so its Jacobian (``AbstractComponent.jacobian``, with respect to
its constrained parameters, times the transforms' derivatives) costs at most
(its parameter count) forward passes of that component alone instead of (all
parameters) passes of the whole model; emission lines do it per profile slot.
The photometric magnitudes (a handful of bands) use reverse mode. Priors and
the Jacobians of the transforms to unconstrained space add their exact
(diagonal) curvature.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist
from numpyro.distributions.transforms import biject_to

from ..core.names import full_name, local_params
from .sites import constrain_groups, group_log_density, site_groups, transform_derivatives


def transforms(model) -> dict:
    """Bijection from unconstrained space to each latent site's support."""
    return {k: biject_to(d.support) for k, d in model.priors().items() if not isinstance(d, dist.Delta)}


def _site_curvature(groups, u: dict, grad: dict) -> dict:
    """Exact per-site diagonal terms that the Gauss-Newton product J^T W J misses.

    * the prior and transform Jacobian: d^2/du^2 [-log p(T(u)) - log|T'(u)|];
    * the transform's own curvature times the likelihood gradient,
      (dL/dtheta) T''(u) = (dL/du) d log|T'(u)|/du, with dL/du the gradient of
      the negative log-likelihood (total gradient minus the prior part). For a
      log-transformed amplitude near zero this is the dominant term.

    Both site sums are separable, so the diagonal of their Hessian is one
    Hessian-vector product with a vector of ones (one per prior family, see
    :mod:`agnfit.plugins.sites`). Each term is clipped at 0 so the matrix
    stays positive semi-definite.
    """
    out = {}
    for g in groups:
        x = jnp.stack([u[k] for k in g.names])

        def nlp(v, g=g):
            return -jnp.sum(group_log_density(g, v)[0])

        def ladj(v, g=g):
            return jnp.sum(g.transform.log_abs_det_jacobian(v, g.transform(v)))

        g_prior, h_prior = jax.jvp(jax.grad(nlp), (x,), (jnp.ones_like(x),))
        dladj = jax.grad(ladj)(x)
        g_like = jnp.stack([grad[k] for k in g.names]) - g_prior
        curv = jnp.maximum(h_prior, 0.0) + jnp.maximum(g_like * dladj, 0.0)
        out.update({k: curv[i] for i, k in enumerate(g.names)})
    return out


def fisher_matrix(model, data, u: dict, names: list[str], grad: dict):
    """Approximate Hessian (n, n) of the potential at unconstrained ``u``; rows in ``names`` order.

    ``grad`` is the exact gradient of the potential at ``u`` (by name).
    """
    groups = site_groups(model)
    tr = transforms(model)
    fixed = model.fixed_values()
    theta = {**fixed, **constrain_groups(groups, u)}
    dtheta = transform_derivatives(groups, u)
    index = {k: i for i, k in enumerate(names)}
    n = len(names)
    npix = data.wave.shape[0]
    vals, jacs = {}, {}
    for c in model.components:
        own = [k for k in names if k.startswith(c.name + ".")]
        base = local_params(c.name, theta)
        if not own:
            vals[c.name] = c(data.wave, base, data.ctx)
            jacs[c.name] = (own, jnp.zeros((npix, 0)))
            continue
        val, jth = c.jacobian(data.wave, base, data.ctx, tuple(k.split(".", 1)[1] for k in own))
        dth = jnp.stack([dtheta[k] for k in own])  # d theta / d u of each own site
        vals[c.name] = val
        jacs[c.name] = (own, jth * dth[None, :])
    vals, jacs = model.switch_fluxes(vals), _switch_columns(model, jacs)
    add = [c for c in model.components if c.operation == "add"]
    mul = [c for c in model.components if c.operation == "multiply"]
    f_add = sum((vals[c.name] for c in add[1:]), vals[add[0].name])
    m_tot = jnp.ones(npix)
    for c in mul:
        m_tot = m_tot * vals[c.name]
    # d f / d u, one block of columns per component, then put in ``names`` order
    blocks, order = [], []
    for c in model.components:
        own, jc = jacs[c.name]
        if not own:
            continue
        if c.operation == "add":
            blocks.append(m_tot[:, None] * jc)
        else:
            others = jnp.ones(npix)
            for o in mul:
                if o is not c:
                    others = others * vals[o.name]
            blocks.append((f_add * others)[:, None] * jc)
        order += [index[k] for k in own]
    taken = set(order)
    rest = [i for i in range(n) if i not in taken]  # noise and photometric parameters: no column in f
    blocks.append(jnp.zeros((npix, len(rest))))
    perm = np.argsort(np.array(order + rest, dtype=int))
    J = jnp.concatenate(blocks, axis=1)[:, perm]
    f = f_add * m_tot
    noise = local_params("noise", theta)
    fj, aj = noise.get("frac_jitter", 0.0), noise.get("add_jitter", 0.0)
    v = data.err**2 + (fj * f) ** 2 + aj**2
    w = data.mask / v
    w2 = data.mask / v**2
    a = 2.0 * fj**2 * f  # d v / d f
    # J_f^T W J_f + 1/2 J_v^T W2 J_v with J_v = a J_f + (columns of the jitter terms), in one product.
    # The (pixels x parameters) product is most of the curvature's cost; it is taken in float32,
    # about twice as fast: the curvature only shapes the step proposals, the float64 loss decides
    # which are accepted and the gradient stays float64 (the host's Jacobian is float32 already).
    Jf = J.astype(jnp.float32)
    H = ((Jf * (w + 0.5 * a * a * w2).astype(jnp.float32)[:, None]).T @ Jf).astype(J.dtype)
    jit_idx, jit_cols = [], []
    for k, dv in (("frac_jitter", lambda th: 2.0 * th * f**2), ("add_jitter", lambda th: 2.0 * th * jnp.ones(npix))):
        name = full_name("noise", k)
        if name in index:
            dth = dtheta[name]
            jit_idx.append(index[name])
            jit_cols.append(dv(theta[name]) * dth)
    if jit_idx:
        C = jnp.stack(jit_cols, axis=1)  # (n, m)
        idx = jnp.array(jit_idx)
        cross = 0.5 * J.T @ ((a * w2)[:, None] * C)  # (P, m)
        H = H.at[:, idx].add(cross).at[idx, :].add(cross.T)
        H = H.at[idx[:, None], idx[None, :]].add(0.5 * (C * w2[:, None]).T @ C)
    H = _observed_noise_block(H, data, f, u, index, tr)
    if model.has_photometry:
        Hp = _photometry_fisher(model, data, u, names, groups, fixed)
        H = H + (Hp if model.switches is None else model.switches.photometry * Hp)
    curv = _site_curvature(groups, u, grad)
    H = H + jnp.diag(jnp.stack([curv[k] for k in names]))
    return _hold(model, 0.5 * (H + H.T), names)


def _switch_columns(model, jacs: dict) -> dict:
    """The Jacobian columns of switched-off components zeroed (:class:`agnfit.core.model.Switches`)."""
    if model.switches is None:
        return jacs
    w = {c.name: model.switches.components[i] for i, c in enumerate(model.components)}
    return {k: (own, w[k] * jc) for k, (own, jc) in jacs.items()}


def _hold(model, H, names: list[str]):
    """``H`` with the rows and columns of held (not free) parameters replaced by the identity's.

    A damped step on it leaves those parameters where they are, since their
    gradient is zero too (:func:`agnfit.plugins.map.optimize`).
    """
    if model.switches is None:
        return H
    free = jnp.stack([model.switches.free[k] for k in names])
    return H * free[:, None] * free[None, :] + jnp.diag(1.0 - free)


def _observed_noise_block(H, data, f, u, index, tr):
    """Raise the jitter terms' curvature to their observed information where that is larger.

    With real data the residuals are rarely what the variance model expects,
    and the expected information of the jitter terms can be an order of
    magnitude too small, which makes steps overshoot; the observed diagonal
    (exact, at fixed model) costs no model evaluation.
    """
    names = [k for k in (full_name("noise", "frac_jitter"), full_name("noise", "add_jitter")) if k in index]
    if not names:
        return H

    def nll(vec):
        th = {k: tr[k](vec[i]) for i, k in enumerate(names)}
        fj = th.get(full_name("noise", "frac_jitter"), 0.0)
        aj = th.get(full_name("noise", "add_jitter"), 0.0)
        v = data.err**2 + (fj * f) ** 2 + aj**2
        return 0.5 * jnp.sum(data.mask * ((data.flux - f) ** 2 / v + jnp.log(v)))

    vec = jnp.stack([u[k] for k in names])
    observed = jnp.diag(jax.hessian(nll)(vec))
    idx = jnp.array([index[k] for k in names])
    return H.at[idx, idx].set(jnp.maximum(H[idx, idx], observed))


def _photometry_fisher(model, data, u, names, groups, fixed):
    tr = transforms(model)

    def mags(vec):
        th = {**fixed, **constrain_groups(groups, dict(zip(names, vec)))}
        return model.synthetic_mags(th, data)

    vec = jnp.stack([u[k] for k in names])
    Jm = jax.jacrev(mags)(vec)
    se_name = full_name("noise", "phot_extra")
    se = tr[se_name](u[se_name]) if se_name in tr else 0.0
    var = data.phot_err**2 + se**2
    H = (Jm * (data.phot_mask / var)[:, None]).T @ Jm
    if se_name in tr:
        i = names.index(se_name)
        dse = jax.grad(lambda x: tr[se_name](x))(u[se_name])
        dvar = 2.0 * se * dse
        H = H.at[i, i].add(0.5 * jnp.sum(data.phot_mask * dvar**2 / var**2))
    return H

"""The latent sites of a model grouped by prior family: one vectorised prior per family.

A full model has 80-odd scalar parameters, each with its own prior and its
own bijection to the prior's support. numpyro's ``potential_energy`` traces
one sample site per parameter, and the Fisher curvature one transform per
parameter: a few seconds of tracing on every first fit. Here the sites whose
priors are the same family with the same argument names (all HalfNormal
weights, all Uniform velocity shifts, ...) are stacked into one batched
distribution, so the potential is traced once per family. The value is the
same function as numpyro's potential energy (tested to round-off): for each
site, the negative log prior of ``T(u)`` minus ``log|T'(u)|``, with
``T = biject_to(prior.support)``, minus the log-likelihood.

Families whose distribution cannot be rebuilt with stacked arguments (any
numpyro distribution may be named in a config) stay one site per group.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist
from numpyro.distributions.transforms import biject_to


class SiteGroup(NamedTuple):
    """Latent sites sharing one batched prior.

    Attributes:
        names: the sites' full names, in the order of the batch axis.
        prior: a distribution with batch shape (len(names),) (or () for a single site).
        transform: ``biject_to(prior.support)``, elementwise.
    """

    names: tuple
    prior: dist.Distribution
    transform: object


def _family(d: dist.Distribution):
    """(type, argument names) of a scalar distribution that can be stacked, else None."""
    if d.batch_shape != () or d.event_shape != ():
        return None
    keys = tuple(sorted(d.arg_constraints))
    if not keys or not all(np.ndim(getattr(d, k, None)) == 0 for k in keys):
        return None
    return (type(d), keys)


def _stacked(family, dists: list) -> dist.Distribution | None:
    """One batched distribution equal, per element, to ``dists``; None when it cannot be built."""
    cls, keys = family
    try:
        batched = cls(**{k: jnp.asarray([float(getattr(d, k)) for d in dists]) for k in keys})
    except (TypeError, ValueError):
        return None
    if batched.batch_shape != (len(dists),) or type(batched.support) is not type(dists[0].support):
        return None
    return batched


def site_groups(model) -> list[SiteGroup]:
    """The latent (not fixed) sites of ``model`` grouped by prior family, in first-appearance order."""
    buckets: dict = {}
    for name, d in model.latent_priors().items():
        fam = _family(d)
        buckets.setdefault(fam if fam is not None else ("site", name), []).append((name, d))
    groups = []
    for fam, members in buckets.items():
        batched = _stacked(fam, [d for _, d in members]) if fam[0] != "site" and len(members) > 1 else None
        if batched is None:
            groups += [SiteGroup((n,), d, biject_to(d.support)) for n, d in members]
        else:
            groups.append(SiteGroup(tuple(n for n, _ in members), batched, biject_to(batched.support)))
    return groups


def _vector(group: SiteGroup, u: dict):
    return jnp.stack([jnp.asarray(u[k]) for k in group.names])


def _split(group: SiteGroup, values) -> dict:
    return {k: values[i] for i, k in enumerate(group.names)}


def constrain_groups(groups: list[SiteGroup], u: dict) -> dict:
    """Unconstrained values (full names) -> constrained values."""
    out = {}
    for g in groups:
        out.update(_split(g, g.transform(_vector(g, u))))
    return out


def group_log_density(group: SiteGroup, x):
    """(log prior + log|T'(x)| of each site, constrained values) at the group's unconstrained vector ``x``."""
    th = group.transform(x)
    return group.prior.log_prob(th) + group.transform.log_abs_det_jacobian(x, th), th


def prior_terms(groups: list[SiteGroup], u: dict) -> tuple[dict, jax.Array]:
    """(constrained values, sum of log prior + log|T'(u)|) at unconstrained ``u``."""
    theta, total = {}, 0.0
    for g in groups:
        lp, th = group_log_density(g, _vector(g, u))
        total = total + jnp.sum(lp)
        theta.update(_split(g, th))
    return theta, total


def transform_derivatives(groups: list[SiteGroup], u: dict) -> dict:
    """d theta / d u of every site at ``u`` (the transforms are elementwise: one JVP per group)."""
    out = {}
    for g in groups:
        x = _vector(g, u)
        out.update(_split(g, jax.jvp(g.transform, (x,), (jnp.ones_like(x),))[1]))
    return out


def potential(model, data):
    """The potential energy ``u -> -log p(T(u), data) - log|T'(u)|`` (numpyro's), traced once per prior family."""
    groups = site_groups(model)
    data = model.prepare(data)  # once, outside the function the samplers and optimisers call

    def fn(u: dict):
        theta, lp = prior_terms(groups, u)
        ll = model.log_likelihood(model.complete(theta), data)
        return -(lp + sum(ll.values()))

    return fn

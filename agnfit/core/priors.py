"""Prior specifications from configs: ``{dist = "Normal", loc = 0.0, scale = 1.0}``.

Any numpyro distribution whose parameters are scalars can be named; ``Fixed``
(``{dist = "Fixed", value = 1.0}``) pins a parameter with a Delta distribution.
"""

from __future__ import annotations

import inspect

import numpyro.distributions as dist

from ..errors import ConfigError


def prior_from_spec(name: str, spec: dict) -> dist.Distribution:
    """The numpyro distribution described by ``spec`` (a dict with a ``dist`` key)."""
    spec = dict(spec)
    kind = spec.pop("dist", None)
    if kind == "Fixed":
        if set(spec) != {"value"}:
            raise ConfigError(f"prior for {name!r}: Fixed takes exactly one key, 'value'")
        return dist.Delta(float(spec["value"]))
    cls = getattr(dist, str(kind), None)
    if not (inspect.isclass(cls) and issubclass(cls, dist.Distribution)):
        raise ConfigError(f"prior for {name!r}: unknown distribution {kind!r} (use a numpyro.distributions name or 'Fixed')")
    try:
        return cls(**{k: float(v) for k, v in spec.items()})
    except (TypeError, ValueError) as exc:
        allowed = [p for p in inspect.signature(cls).parameters if p not in ("validate_args",)]
        raise ConfigError(f"prior for {name!r}: bad arguments {spec} for {kind} ({exc}); it takes {allowed}") from None


def apply_overrides(priors: dict, overrides: dict) -> dict:
    """``priors`` with entries replaced by ``overrides`` (full names); unknown names are an error."""
    unknown = sorted(set(overrides) - set(priors))
    if unknown:
        raise ConfigError(f"prior override(s) for parameter(s) that do not exist: {unknown}. Valid names: {sorted(priors)}")
    out = dict(priors)
    for k, spec in overrides.items():
        out[k] = spec if isinstance(spec, dist.Distribution) else prior_from_spec(k, spec)
    return out

"""Composition of inference backends, and the one translation from names to backends.

``Staged(first, then)`` runs ``first`` and starts ``then`` from its result
(``Staged(MAP(), NUTS())``). :func:`from_stages` folds a list of backends into
nested ``Staged``; :func:`backend_from_config` builds that list from the
``[[inference]]`` stages of a config through the plugin registry, and
:func:`backend_from_string` is the only place where the familiar shorthand
strings (``"optax+nuts"``, ...) are understood.
"""

from __future__ import annotations

import dataclasses

import jax

from ..core.inference import AbstractInference, Posterior
from ..errors import ConfigError
from .laplace import Laplace
from .map import MAP
from .nuts import NUTS

#: shorthand string -> backend factory
SHORTHANDS = {
    "optax": lambda: MAP(),
    "optax+nuts": lambda: Staged(MAP(), NUTS()),
    "optax+laplace": lambda: Staged(MAP(), Laplace()),
    "map": lambda: MAP(),
    "map+nuts": lambda: Staged(MAP(), NUTS()),
    "map+laplace": lambda: Staged(MAP(), Laplace()),
    "laplace": lambda: Laplace(),
    "nuts": lambda: NUTS(),
}

ERR_SHORTHAND = "unknown inference {!r}; use one of {}, or [[inference]] stages in a config"


def _summary(post: Posterior) -> dict:
    """A stage's record: kind, convergence, message and its own diagnostics."""
    own = {k: v for k, v in post.diagnostics.items() if k != "stages"}
    return {"kind": post.kind, "converged": post.converged, "message": post.message, "diagnostics": own}


class Staged(AbstractInference):
    """Run ``first``, then ``then`` initialised from ``first``'s posterior.

    The result is ``then``'s posterior; ``diagnostics["stages"]`` lists the
    earlier stages in order (kind, converged, message, diagnostics).
    """

    first: AbstractInference
    then: AbstractInference

    def __check_init__(self):
        for which in ("first", "then"):
            if not isinstance(getattr(self, which), AbstractInference):
                raise ConfigError(f"Staged.{which} must be an inference backend, got {type(getattr(self, which)).__name__}")

    def draws(self) -> int | None:
        return self.then.draws()

    def run(self, model, data, key=None, init: Posterior | None = None) -> Posterior:
        """``then.run(model, data, key2, init=first.run(model, data, key1, init))``."""
        key = jax.random.PRNGKey(0) if key is None else key
        k1, k2 = jax.random.split(key)
        a = self.first.run(model, data, k1, init)
        b = self.then.run(model, data, k2, init=a)
        stages = list(a.diagnostics.get("stages", [])) + [_summary(a)] + list(b.diagnostics.get("stages", []))
        return dataclasses.replace(b, diagnostics={**b.diagnostics, "stages": stages})


def from_stages(backends) -> AbstractInference:
    """Fold ``[a, b, c]`` into ``Staged(Staged(a, b), c)`` (a single backend is returned as is)."""
    backends = list(backends)
    if not backends:
        raise ConfigError("at least one inference stage is needed")
    out = backends[0]
    for b in backends[1:]:
        out = Staged(out, b)
    return out


def backend_from_string(s: str) -> AbstractInference:
    """The backend a shorthand string names (``"optax"``, ``"optax+nuts"``, ``"optax+laplace"``, ...)."""
    key = str(s).strip().lower().replace(" ", "")
    if key not in SHORTHANDS:
        raise ConfigError(ERR_SHORTHAND.format(s, sorted(SHORTHANDS)))
    return SHORTHANDS[key]()


def backend_from_config(stages) -> AbstractInference:
    """A backend from config stages ``[{"type": name, **options}, ...]`` via the registry."""
    from ..registry import get_registry

    if isinstance(stages, dict):
        stages = [stages]
    reg = get_registry()
    built = []
    for i, stage in enumerate(stages):
        if not isinstance(stage, dict) or "type" not in stage:
            raise ConfigError(f"[[inference]] stage {i} must be a table with a 'type' key, got {stage!r}")
        opts = {k: v for k, v in stage.items() if k != "type"}
        factory = reg.get("inference", stage["type"])
        try:
            built.append(factory(**opts))
        except TypeError as exc:
            raise ConfigError(f"[[inference]] stage {i} ({stage['type']}): {exc}") from None
    return from_stages(built)

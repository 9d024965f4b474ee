"""Inference backends and the posterior they return.

A backend is an object with ``run(model, data, key, init) -> Posterior``.
Staging is composition (``Staged(MAP(), NUTS())``): the second backend is
initialised from the first one's result.
"""

from __future__ import annotations

import abc
import dataclasses
import logging
import warnings

import equinox as eqx
import numpy as np

from ..errors import ConvergenceWarning

log = logging.getLogger(__name__)

RHAT_MAX = 1.01


@dataclasses.dataclass
class Posterior:
    """The result of an inference backend.

    Attributes:
        kind: ``"map"``, ``"laplace"``, ``"nuts"`` or another backend's label.
        point: constrained parameter values at the best point (MAP, or the
            posterior median for samplers), by full name.
        samples: constrained samples by full name, each of shape (n_chain, n_draw);
            for a MAP without uncertainties this is the point with shape (1, 1).
        converged: whether the backend met its convergence criterion.
        message: why not, or a short summary.
        diagnostics: per-parameter ``r_hat`` and ``ess_bulk`` (dicts), ``divergences``,
            ``n_steps``, ``loss`` and other backend-specific entries.
        unconstrained: the best point in the unconstrained space (for warm starts).
    """

    kind: str
    point: dict
    samples: dict
    converged: bool
    message: str = ""
    diagnostics: dict = dataclasses.field(default_factory=dict)
    unconstrained: dict | None = None

    @property
    def names(self) -> list[str]:
        """Full names of the parameters, in order."""
        return list(self.point)

    @property
    def n_samples(self) -> int:
        """Total number of samples (chains x draws)."""
        first = next(iter(self.samples.values()))
        return int(np.prod(np.shape(first)[:2]))

    def flat_samples(self) -> dict:
        """Samples with chains merged: each of shape (n_chain * n_draw,)."""
        return {k: np.reshape(np.asarray(v), (-1,) + np.shape(v)[2:]) for k, v in self.samples.items()}

    def check(self) -> list[str]:
        """Warn (``ConvergenceWarning``) and return the problems found in the diagnostics."""
        problems = []
        if not self.converged:
            problems.append(f"{self.kind} did not converge: {self.message}")
        rhat = self.diagnostics.get("r_hat", {})
        bad = {k: float(np.max(v)) for k, v in rhat.items() if np.any(np.asarray(v) > RHAT_MAX)}
        if bad:
            worst = sorted(bad.items(), key=lambda kv: -kv[1])[:5]
            problems.append(f"r_hat > {RHAT_MAX} for {len(bad)} parameter(s), worst: {worst}")
        ndiv = int(self.diagnostics.get("divergences", 0))
        if ndiv:
            problems.append(f"{ndiv} divergent transition(s)")
        for p in problems:
            warnings.warn(p, ConvergenceWarning, stacklevel=2)
            log.warning(p)
        return problems


class AbstractInference(eqx.Module):
    """An inference backend: ``run(model, data, key, init) -> Posterior``.

    ``init`` is ``None`` or a previous :class:`Posterior` to start from.
    """

    @abc.abstractmethod
    def run(self, model, data, key, init: Posterior | None = None) -> Posterior:
        """Fit ``model`` (an :class:`agnfit.core.model.Model`) to ``data`` (``FitData``)."""

    def draws(self) -> int | None:
        """How many samples (chains x draws) :meth:`run`'s posterior holds, if known before it runs; else None.

        Lets the fit pipeline compile the programs that consume the posterior
        while the backend runs.
        """
        return None

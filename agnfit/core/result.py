"""FitResult: everything one fit produced, in plain numpy/dict form.

A FitResult holds no JAX objects and no model; it can be saved, loaded and
plotted anywhere. Saving/loading lives in ``agnfit.io.results``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

import numpy as np

#: version of the on-disk result schema (bump on incompatible change)
SCHEMA_VERSION = 1
#: catalogue columns that say how a row was made (rows that differ in them were fitted differently)
PROVENANCE = ("agnfit_version", "schema_version", "config_hash")


def config_hash(config: dict) -> str:
    """A short fingerprint of a configuration: 16 hex digits of the sha256 of its canonical JSON.

    Keys are sorted, so two configurations with the same content have the same
    hash whatever their order; any changed value (a prior, an option, a
    component) changes it.
    """
    text = json.dumps(config, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclasses.dataclass
class FitResult:
    """The outcome of fitting one object.

    Attributes:
        name: object name.
        config: the configuration as a dict (``Config.to_dict()``).
        info: scalars and strings: z, ra, dec, ebv, ebv_source, flux_scale
            (erg/s/cm^2/A per model unit), flux_unit, backend kind, converged,
            message, n_pix, data_hash, versions, dropped components/bands.
        params: posterior summary per parameter (full name -> median/p16/p84/std),
            amplitudes in model units (multiply by flux_scale for cgs).
        point: best point (MAP, or posterior median) per parameter.
        samples: posterior samples per parameter, shape (n_chain, n_draw).
        derived: summary per derived quantity (name -> median/p16/p84/std).
        derived_samples: per-sample derived quantities (flat arrays).
        diagnostics: backend diagnostics (r_hat, ess_bulk, divergences, loss, ...).
        spectrum: arrays on the fitted pixels: wave (observed A), wave_rest,
            flux, err (dereddened, flux_unit units), mask, model (total),
            and ``component:<name>`` for each component (same units;
            multiplicative components as factors).
        photometry: bands, kept (bool), mag_obs, mag_err, mag_model, wave_eff
            (A), and the PSF-space model spectrum on a wavelength grid
            (psf_wave, psf_model, ``psf_component:<name>``).
    """

    name: str
    config: dict
    info: dict
    params: dict
    point: dict
    samples: dict
    derived: dict
    derived_samples: dict
    diagnostics: dict
    spectrum: dict
    photometry: dict = dataclasses.field(default_factory=dict)

    @property
    def converged(self) -> bool:
        """Whether the inference converged without reported problems (``info["converged"]``)."""
        return bool(self.info.get("converged", False))

    def value(self, name: str, stat: str = "median") -> float:
        """A parameter or derived quantity's summary statistic by full name."""
        for table in (self.derived, self.params):
            if name in table:
                return table[name][stat]
        raise KeyError(f"{name!r} is neither a parameter nor a derived quantity; see .params and .derived")

    def provenance(self) -> dict:
        """How this result was made: ``agnfit_version``, ``schema_version`` and ``config_hash``.

        Unknown values (results from before these were recorded) are None.
        """
        versions = self.info.get("versions") or {}
        version = versions.get("agnfit") if isinstance(versions, dict) else None
        return {"agnfit_version": version, "schema_version": self.info.get("schema_version"),
                "config_hash": config_hash(self.config) if self.config else None}

    def catalogue_row(self) -> dict:
        """One flat row: info scalars, provenance, then <name>, <name>_p16, <name>_p84 for params and derived."""
        row = {"name": self.name}
        for k in ("z", "ra", "dec", "ebv", "converged", "message", "n_pix", "chi2_reduced", "backend"):
            if k in self.info:
                row[k] = self.info[k]
        row.update(self.provenance())
        for table in (self.params, self.derived):
            for k, s in table.items():
                row[k] = s["median"]
                row[k + "_p16"] = s["p16"]
                row[k + "_p84"] = s["p84"]
        return row

    def save(self, out_dir, row: bool = True):
        """Write ``<out_dir>/<name>.h5`` (and a catalogue row) atomically; see ``agnfit.io.results``."""
        from ..io.results import save_result

        return save_result(self, out_dir, row)

    @classmethod
    def load(cls, path) -> "FitResult":
        """Read a result written by :meth:`save`; equal to the saved object."""
        from ..io.results import load_result

        return load_result(path)

    def __eq__(self, other) -> bool:
        if not isinstance(other, FitResult):
            return NotImplemented
        return all(_deep_equal(getattr(self, f.name), getattr(other, f.name)) for f in dataclasses.fields(self))


def _deep_equal(a, b) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_deep_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_deep_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, (np.ndarray, float, int, np.generic)) or isinstance(b, (np.ndarray, float, int, np.generic)):
        try:
            return np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True)
        except TypeError:
            return np.array_equal(np.asarray(a), np.asarray(b))
    return a == b

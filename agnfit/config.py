"""Fit configuration: a TOML file (or the same structure as a dict).

Sections (every key is optional; unknown keys are rejected)::

    [data]          deredden, ebv, extinction_law, rv, wave_range, buckets
    [components.<instance name>]   type = "<registered component>", options...
    [aperture]      type = "<registered aperture model>", options...
    [photometry]    system, bands, coverage, extra_scatter
    [likelihood]    frac_jitter, add_jitter
    [[inference]]   type = "<registered backend>", options...   (stages, in order)
    [priors]        "<component>.<param>" = {dist = "Normal", loc = 0.0, scale = 1.0}
    [derived]       wavelengths, cosmology, mbh_calibrations, host_fraction_wavelengths

Component, aperture and backend options are checked against the registered
factory's signature, so a typo is an error that lists the allowed options.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import inspect
import os
import tomllib
from pathlib import Path

import tomli_w

from .config_checks import check_values
from .errors import ConfigError

SECTIONS = ("data", "components", "aperture", "photometry", "likelihood", "inference", "priors", "derived")

SECTION_KEYS = {
    "data": {
        "deredden": True,
        "ebv": None,
        "extinction_law": "F99",
        "rv": 3.1,
        "wave_range": None,
        "buckets": [1024, 2048, 4096, 8192],
        "resolution_r": None,
        "sort_wavelengths": False,
    },
    "photometry": {"system": "speclite", "bands": [], "coverage": 0.97, "extra_scatter": True},
    "likelihood": {"frac_jitter": True, "add_jitter": True},
    "derived": {
        "host_fraction_wavelengths": [2500.0, 4200.0, 5100.0],
        "continuum_wavelengths": [1350.0, 3000.0, 5100.0],
        "cosmology": {"H0": 70.0, "Om0": 0.3},
        "mbh_calibrations": ["VP06_Hbeta", "GH05_Halpha", "S11_MgII", "VP06_CIV"],
        "bolometric_corrections": {"5100": 9.26, "3000": 5.15, "1350": 3.81},
    },
}


def _reject_unknown(keys, allowed, where):
    unknown = sorted(set(keys) - set(allowed))
    if unknown:
        hints = {k: difflib.get_close_matches(k, list(allowed), n=1) for k in unknown}
        hint = "; ".join(f"{k!r} (did you mean {v[0]!r}?)" if v else repr(k) for k, v in hints.items())
        raise ConfigError(f"unknown key(s) in {where}: {hint}. Allowed: {sorted(allowed)}")


def check_options(factory, options: dict, where: str, skip=("name",)) -> None:
    """Check ``options`` against the keyword parameters of a registered ``factory``."""
    sig = inspect.signature(factory)
    if any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values()):
        return
    allowed = [p for p in sig.parameters if p not in skip]
    _reject_unknown(options, allowed, where)


@dataclasses.dataclass(eq=True)
class Config:
    """A validated fit configuration (see the module docstring for the schema)."""

    data: dict
    components: dict
    aperture: dict | None
    photometry: dict
    likelihood: dict
    inference: list
    priors: dict
    derived: dict

    @classmethod
    def from_dict(cls, raw: dict, validate_plugins: bool = True) -> "Config":
        """Validate ``raw`` (the TOML structure as a dict) and fill in the section defaults.

        Args:
            raw: the configuration; unknown sections and keys are a ConfigError.
            validate_plugins: also check that every named plugin exists and accepts its options.
        """
        if not isinstance(raw, dict):
            raise ConfigError(f"a config must be a table/dict, got {type(raw).__name__}")
        _reject_unknown(raw, SECTIONS, "the config")
        raw = copy.deepcopy(raw)
        sections = {}
        for sec, defaults in SECTION_KEYS.items():
            given = raw.get(sec, {}) or {}
            if not isinstance(given, dict):
                raise ConfigError(f"[{sec}] must be a table, got {type(given).__name__}")
            _reject_unknown(given, defaults, f"[{sec}]")
            sections[sec] = {**copy.deepcopy(defaults), **given}
        check_values(sections)
        comps = raw.get("components", {}) or {}
        if not isinstance(comps, dict):
            raise ConfigError("[components] must be a table of '[components.<name>]' tables")
        for name, spec in comps.items():
            if not isinstance(spec, dict) or "type" not in spec:
                raise ConfigError(f"[components.{name}] needs a 'type' key naming a registered component")
            if "." in name:
                raise ConfigError(f"component name {name!r} must not contain '.'")
        aperture = raw.get("aperture")
        if aperture is not None and (not isinstance(aperture, dict) or "type" not in aperture):
            raise ConfigError("[aperture] needs a 'type' key naming a registered aperture model")
        inference = raw.get("inference", [{"type": "map"}])
        if isinstance(inference, dict):
            inference = [inference]
        for i, stage in enumerate(inference):
            if not isinstance(stage, dict) or "type" not in stage:
                raise ConfigError(f"[[inference]] stage {i} needs a 'type' key naming a registered backend")
        priors = raw.get("priors", {}) or {}
        for k, v in priors.items():
            if not isinstance(v, dict) or "dist" not in v:
                raise ConfigError(f"prior {k!r} must be a table like {{dist = 'Normal', loc = 0, scale = 1}}")
        cfg = cls(
            data=sections["data"],
            components=comps,
            aperture=aperture,
            photometry=sections["photometry"],
            likelihood=sections["likelihood"],
            inference=list(inference),
            priors=priors,
            derived=sections["derived"],
        )
        if validate_plugins:
            cfg.validate_plugins()
        return cfg

    def validate_plugins(self) -> None:
        """Check every named plugin exists and every option is accepted by its factory."""
        from .registry import get_registry

        reg = get_registry()
        for name, spec in self.components.items():
            factory = reg.get("component", spec["type"])
            check_options(factory, {k: v for k, v in spec.items() if k != "type"}, f"[components.{name}]")
        if self.aperture is not None:
            factory = reg.get("aperture", self.aperture["type"])
            check_options(factory, {k: v for k, v in self.aperture.items() if k != "type"}, "[aperture]", ("name", "bands"))
        if self.photometry["bands"]:
            reg.get("photometric_system", self.photometry["system"])
        for i, stage in enumerate(self.inference):
            factory = reg.get("inference", stage["type"])
            check_options(factory, {k: v for k, v in stage.items() if k != "type"}, f"[[inference]] stage {i}")

    def to_dict(self) -> dict:
        """The configuration as a plain dict (None values left out), as written to TOML and result files."""
        out = {
            "data": self.data,
            "components": self.components,
            "photometry": self.photometry,
            "likelihood": self.likelihood,
            "inference": self.inference,
            "priors": self.priors,
            "derived": self.derived,
        }
        if self.aperture is not None:
            out["aperture"] = self.aperture
        return _drop_none(copy.deepcopy(out))

    def to_toml(self) -> str:
        """The configuration as TOML text (loadable by :func:`load_config`)."""
        return tomli_w.dumps(self.to_dict())

    def replace(self, **changes) -> "Config":
        """A copy with the given sections replaced (not validated again)."""
        return dataclasses.replace(self, **changes)


def _drop_none(d):
    if isinstance(d, dict):
        return {k: _drop_none(v) for k, v in d.items() if v is not None}
    if isinstance(d, list):
        return [_drop_none(v) for v in d]
    return d


def load_config(source=None, validate_plugins: bool = True) -> Config:
    """A :class:`Config` from a TOML path, a TOML string, a dict, or None (the default)."""
    if source is None:
        return default_config()
    if isinstance(source, Config):
        return source
    if isinstance(source, dict):
        return Config.from_dict(source, validate_plugins)
    text = None
    if isinstance(source, str) and ("\n" in source or "=" in source):
        text, where = source, "<string>"
    elif isinstance(source, (str, os.PathLike)) and Path(source).is_file():
        text = Path(source).read_text()
        where = str(source)
    elif isinstance(source, str) and ("=" in source or "[" in source):
        text, where = source, "<string>"
    else:
        raise ConfigError(f"config file {source!r} does not exist")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"malformed TOML in {where}: {exc}") from None
    return Config.from_dict(raw, validate_plugins)


def save_config(cfg: Config, path) -> None:
    """Write ``cfg`` as TOML to ``path``."""
    Path(path).write_text(cfg.to_toml())


def default_config_dict() -> dict:
    """The default full model: AGN continuum, Fe II, Balmer continuum, host, lines, polynomial."""
    from .defaults import DEFAULT_CONFIG

    return copy.deepcopy(DEFAULT_CONFIG)


def default_config() -> Config:
    """The default model (:data:`agnfit.defaults.DEFAULT_TOML`) as a validated :class:`Config`."""
    return Config.from_dict(default_config_dict())

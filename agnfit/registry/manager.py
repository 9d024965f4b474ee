"""The plugin manager: built-ins first, then the ``agnfit`` entry-point group.

:class:`Registry` flattens every hook's ``{name: value}`` dicts into one table
per kind, remembering which distribution each entry came from, so a
duplicate name is an error that names both origins, and an unknown name is an
error that lists the available ones.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import importlib
from importlib import metadata

import pluggy

from ..errors import PluginError
from . import hookspecs

#: kind -> hook name
KINDS = {
    "component": "register_components",
    "aperture": "register_aperture_models",
    "photometric_system": "register_photometric_systems",
    "filter": "register_filters",
    "host_template": "register_host_templates",
    "feii_template": "register_feii_templates",
    "inference": "register_inference_backends",
    "data_file": "register_data_files",
}

ENTRY_POINT_GROUP = "agnfit"

#: modules of agnfit.plugins registered as built-in plugins
BUILTIN_MODULES = (
    "continuum",
    "balmer",
    "feii",
    "host",
    "lines",
    "calibration",
    "filters",
    "aperture",
    "inference",
    "datafiles",
)

BUILTIN_ORIGIN = "agnfit (built-in)"


@dataclasses.dataclass(frozen=True)
class Entry:
    kind: str
    name: str
    value: object
    origin: str


def _origin_of(pm: pluggy.PluginManager, plugin) -> str:
    for plug, dist in pm.list_plugin_distinfo():
        if plug is plugin:
            name = getattr(dist, "project_name", None) or dist.metadata["name"]
            return f"{name} {dist.version}"
    return BUILTIN_ORIGIN


class Registry:
    """All registered plugin entries, by kind and name."""

    def __init__(self, pm: pluggy.PluginManager):
        self.pm = pm
        self._table: dict[str, dict[str, Entry]] = {k: {} for k in KINDS}
        for kind, hook in KINDS.items():
            caller = getattr(pm.hook, hook)
            for impl in reversed(caller.get_hookimpls()):  # registration order
                origin = _origin_of(pm, impl.plugin)
                result = impl.function() or {}
                if not isinstance(result, dict):
                    raise PluginError(f"hook {hook} of {origin} returned {type(result).__name__}, expected dict")
                for name, value in result.items():
                    self._add(Entry(kind, name, value, origin))

    def _add(self, entry: Entry) -> None:
        table = self._table[entry.kind]
        if entry.name in table:
            other = table[entry.name]
            raise PluginError(
                f"duplicate {entry.kind} name {entry.name!r}: registered by {other.origin!r} "
                f"and by {entry.origin!r}; rename one of them"
            )
        table[entry.name] = entry

    def names(self, kind: str) -> list[str]:
        return list(self._table[kind])

    def get(self, kind: str, name: str):
        """The registered value (factory, loader, ...) of ``kind`` called ``name``."""
        if kind not in self._table:
            raise PluginError(f"unknown plugin kind {kind!r}; kinds are {sorted(self._table)}")
        try:
            return self._table[kind][name].value
        except KeyError:
            avail = sorted(self._table[kind])
            close = difflib.get_close_matches(str(name), avail, n=3)
            hint = f" Did you mean {close}?" if close else ""
            raise PluginError(f"unknown {kind} {name!r}.{hint} Available: {avail}") from None

    def entries(self) -> list[Entry]:
        return [e for table in self._table.values() for e in table.values()]

    def origin(self, kind: str, name: str) -> str:
        self.get(kind, name)
        return self._table[kind][name].origin


def make_plugin_manager(load_entry_points: bool = True, extra_plugins=()) -> pluggy.PluginManager:
    """A fresh plugin manager with the built-ins, entry points and ``extra_plugins``."""
    pm = pluggy.PluginManager("agnfit")
    pm.add_hookspecs(hookspecs)
    for mod in BUILTIN_MODULES:
        pm.register(importlib.import_module(f"agnfit.plugins.{mod}"), name=f"agnfit.plugins.{mod}")
    if load_entry_points:
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    for plugin in extra_plugins:
        pm.register(plugin)
    return pm


@functools.lru_cache(maxsize=1)
def get_registry() -> Registry:
    """The process-wide registry (built-ins + installed entry points)."""
    return Registry(make_plugin_manager())


def reset_registry() -> None:
    """Forget the cached registry (after installing a plugin package at run time)."""
    get_registry.cache_clear()
    metadata.distributions.cache_clear() if hasattr(metadata.distributions, "cache_clear") else None

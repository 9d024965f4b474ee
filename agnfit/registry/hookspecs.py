"""Every agnfit hook, in one flat file.

A plugin is a module (or object) with functions decorated by ``hookimpl``
whose names match the specs below. Each hook returns ``{name: value}``; names
must be unique across all plugins of one kind. Built-in plugins live in
``agnfit.plugins`` and register through exactly these hooks; third-party
packages declare an entry point in the group ``agnfit``::

    [project.entry-points.agnfit]
    myplugin = "my_package.agnfit_plugin"
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("agnfit")
hookimpl = pluggy.HookimplMarker("agnfit")


@hookspec
def register_components() -> dict:
    """Spectral component types: ``{type_name: factory}``.

    ``factory(name, **options)`` returns an ``AbstractComponent`` whose instance
    name is ``name``; its keyword arguments are the options a config may set.
    """


@hookspec
def register_aperture_models() -> dict:
    """Aperture models: ``{type_name: factory}``; ``factory(name, bands, **options)``."""


@hookspec
def register_photometric_systems() -> dict:
    """Photometric systems: ``{name: factory}``; ``factory(bands, **options)``."""


@hookspec
def register_filters() -> dict:
    """Filter curves: ``{band_name: loader}``; ``loader()`` returns (wave_A, response) arrays."""


@hookspec
def register_host_templates() -> dict:
    """Host-galaxy template sets: ``{name: loader}``; what the loader returns depends on the host component."""


@hookspec
def register_feii_templates() -> dict:
    """Fe II templates: ``{name: loader}``; ``loader()`` returns (rest wave_A, flux, intrinsic FWHM km/s)."""


@hookspec
def register_inference_backends() -> dict:
    """Inference backends: ``{name: factory}``; ``factory(**options)`` returns an ``AbstractInference``."""


@hookspec
def register_data_files() -> dict:
    """Reference data files: ``{relative_path: (url, sha256)}`` for the data registry."""

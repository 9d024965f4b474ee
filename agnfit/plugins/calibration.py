"""Built-in plugin: calibration."""

from ..registry.hookspecs import hookimpl

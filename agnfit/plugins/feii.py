"""Built-in plugin: feii."""

from ..registry.hookspecs import hookimpl

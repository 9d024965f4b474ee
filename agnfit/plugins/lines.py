"""Built-in plugin: lines."""

from ..registry.hookspecs import hookimpl

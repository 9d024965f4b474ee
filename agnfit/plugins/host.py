"""Built-in plugin: host."""

from ..registry.hookspecs import hookimpl

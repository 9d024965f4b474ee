"""Built-in plugin: balmer."""

from ..registry.hookspecs import hookimpl

"""Plugin registry: pluggy hooks, the built-in plugins and third-party entry points."""

from .hookspecs import hookimpl, hookspec
from .manager import KINDS, Registry, get_registry

__all__ = ["hookimpl", "hookspec", "KINDS", "Registry", "get_registry"]

"""The plugin registry: built-ins through hooks, duplicate and unknown names."""

import pytest

from agnfit.errors import PluginError
from agnfit.registry import get_registry, hookimpl
from agnfit.registry.manager import BUILTIN_ORIGIN, KINDS, Registry, make_plugin_manager


def test_builtins_registered_for_every_kind():
    reg = get_registry()
    for kind in ("component", "aperture", "photometric_system", "filter", "inference", "data_file"):
        assert reg.names(kind), kind
    assert "sdss2010-r" in reg.names("filter")
    assert reg.origin("component", "power_law") == BUILTIN_ORIGIN
    assert set(KINDS) >= {"component", "aperture", "photometric_system", "filter", "host_template", "inference"}


def test_unknown_name_lists_available_and_close_matches():
    with pytest.raises(PluginError) as exc:
        get_registry().get("component", "power_lwa")
    msg = str(exc.value)
    assert "power_law" in msg and "Did you mean" in msg and "Available" in msg


def test_unknown_kind():
    with pytest.raises(PluginError, match="unknown plugin kind"):
        get_registry().get("spaceship", "x")


class _Dup:
    @staticmethod
    @hookimpl
    def register_components():
        return {"power_law": lambda name: None}


def test_duplicate_name_names_both_origins():
    pm = make_plugin_manager(load_entry_points=False, extra_plugins=[_Dup()])
    with pytest.raises(PluginError) as exc:
        Registry(pm)
    msg = str(exc.value)
    assert "duplicate component name 'power_law'" in msg
    assert BUILTIN_ORIGIN in msg


class _BadReturn:
    @staticmethod
    @hookimpl
    def register_filters():
        return ["not", "a", "dict"]


def test_hook_returning_non_dict_is_an_error():
    with pytest.raises(PluginError, match="expected dict"):
        Registry(make_plugin_manager(load_entry_points=False, extra_plugins=[_BadReturn()]))

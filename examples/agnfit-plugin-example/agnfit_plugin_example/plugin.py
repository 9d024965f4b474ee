"""The hook implementations agnfit finds through the ``agnfit`` entry point.

Each hook returns ``{name: factory or loader}`` (see ``agnfit.registry.hookspecs``);
the names are what a config selects.
"""

from __future__ import annotations

import pluggy

hookimpl = pluggy.HookimplMarker("agnfit")


@hookimpl
def register_filters():
    """The 12 ``medband-m410`` ... ``medband-m850`` response tables."""
    from .medband import filter_loaders

    return filter_loaders()


@hookimpl
def register_photometric_systems():
    """``[photometry] system = "medband"``."""
    from .medband import medband_system

    return {"medband": medband_system}


@hookimpl
def register_host_templates():
    """``[components.<name>] type = "host_pca", templates = "bc03_eigen"``."""
    from .templates import SET_NAME, load_bc03_eigen

    return {SET_NAME: load_bc03_eigen}


@hookimpl
def register_inference_backends():
    """``[[inference]] type = "sample_adaptive"``."""
    from .sampler import sa_backend

    return {"sample_adaptive": sa_backend}

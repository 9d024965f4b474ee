"""From a Config (and the spectrum's rest range) to a ``Model``.

Components are created by name through the registry, then restricted to the
spectrum's rest-frame range; components with no support there are dropped
with a warning (an error if nothing is left). The model structure therefore
depends only on the config and on which components/lines are in range, and is
cached on that key, so spectra sharing it share compiled code.
"""

from __future__ import annotations

import logging
import warnings

from .config import Config
from .core.component import Sampling
from .core.model import Model, NoiseConfig
from .errors import AgnfitWarning, FitError
from .registry import get_registry

log = logging.getLogger(__name__)


_COMPONENTS: dict = {}
_PHOTOMETRY: dict = {}


def build_components(config: Config) -> list:
    """The configured components (cached per config: templates are loaded and transformed once)."""
    key = config.to_toml()
    if key not in _COMPONENTS:
        _COMPONENTS[key] = _make_components(config)
    return list(_COMPONENTS[key])


def _make_components(config: Config) -> list:
    reg = get_registry()
    out = []
    for name, spec in config.components.items():
        opts = {k: v for k, v in spec.items() if k != "type"}
        out.append(reg.get("component", spec["type"])(name, **opts))
    return out


def build_photometry(config: Config):
    """(aperture model, photometric system, extinction curve) or three Nones (cached per config)."""
    key = config.to_toml()
    if key not in _PHOTOMETRY:
        _PHOTOMETRY[key] = _make_photometry(config)
    return _PHOTOMETRY[key]


def _make_photometry(config: Config):
    bands = tuple(config.photometry["bands"])
    if not bands:
        return None, None, None
    reg = get_registry()
    photsys = reg.get("photometric_system", config.photometry["system"])(bands)
    ap = dict(config.aperture or {"type": "eta_delta_m"})
    aperture = reg.get("aperture", ap.pop("type"))(bands=bands, **ap)
    from .plugins.dust import extinction_curve

    import jax.numpy as jnp
    import numpy as np

    curve = extinction_curve(np.asarray(photsys.wave).ravel(), config.data["extinction_law"], config.data["rv"])
    return aperture, photsys, jnp.asarray(curve.reshape(photsys.wave.shape))


_CACHE: dict = {}


def build_model(config: Config, rest_range: tuple[float, float], with_photometry: bool = True, name: str = "",
                sampling: Sampling | None = None) -> Model:
    """The model for spectra covering ``rest_range`` (A); cached per (config, kept structure).

    With the spectrum's ``sampling`` (:class:`~agnfit.core.component.Sampling`) each kept component
    is specialised to it (``for_sampling``), e.g. line profiles evaluated on windows of pixels.
    """
    comps = build_components(config)
    kept, dropped = [], []
    for c in comps:
        r = c.restrict(*rest_range)
        if r is not None and sampling is not None:
            r = r.for_sampling(sampling)
        (kept if r is not None else dropped).append(r if r is not None else c.name)
    if dropped:
        msg = (f"{name or 'spectrum'}: component(s) with nothing (or, for templates, too little: see their "
               f"min_coverage) in the rest range {rest_range[0]:.0f}-{rest_range[1]:.0f} A dropped: {dropped}")
        warnings.warn(msg, AgnfitWarning, stacklevel=2)
        log.warning(msg)
    if not any(c.operation == "add" for c in kept):
        raise FitError(f"no additive component has support in the rest range {rest_range}; nothing to fit")
    key = (config.to_toml(), tuple(repr(c) for c in kept), with_photometry)
    if key in _CACHE:
        return _CACHE[key]
    skip = set(dropped)
    photometry_only = set()
    if not with_photometry and config.photometry["bands"]:
        # the photometric parameters do not exist when no band is left to fit
        skip.add(build_photometry(config)[0].name)
        photometry_only = {"noise.phot_extra"}
    overrides = {k: v for k, v in config.priors.items() if k.split(".", 1)[0] not in skip and k not in photometry_only}
    if len(overrides) < len(config.priors):
        log.info("prior overrides not used by this model (dropped components / no photometry): %s",
                 sorted(set(config.priors) - set(overrides)))
    lk = config.likelihood
    noise = NoiseConfig(bool(lk["frac_jitter"]), bool(lk["add_jitter"]), bool(config.photometry["extra_scatter"]))
    aperture, photsys, curve = build_photometry(config) if with_photometry else (None, None, None)
    model = Model(tuple(kept), aperture, photsys, curve, noise, overrides)
    model.priors()  # validates overrides now, with a clear error
    _CACHE[key] = model
    return model

"""Exception and warning types raised by agnfit.

Every error that bad input can cause is one of these, so a caller (or a batch
runner) can tell a user's mistake from a bug. Each derives from a builtin type
as well, so ``except ValueError`` keeps working for code written against
plain Python conventions.

=====================  ==========================================================
``AgnfitError``        base class of everything below
``InputError``         a spectrum, photometry table or file that cannot be fitted
``InputTypeError``     an argument of the wrong type, shape or dtype at a public
                       boundary (an ``InputError`` that is also a ``TypeError``)
``ConfigError``        a configuration that names unknown keys, options or priors
``PluginError``        an unknown or duplicate plugin name
``DataFileError``      a reference data file that is missing, corrupt or unreachable
``FitError``           a fit that cannot start (nothing left to fit, ...)
=====================  ==========================================================

Warnings: ``AgnfitWarning`` (dropped bands, dropped components, masked pixels)
and ``ConvergenceWarning`` (optimiser not converged, r-hat > 1.01, divergences).
"""

from __future__ import annotations


class AgnfitError(Exception):
    """Base class of every agnfit error."""


class InputError(AgnfitError, ValueError):
    """Input data (spectrum, photometry, file) is malformed or cannot be fitted."""


class InputTypeError(InputError, TypeError):
    """An argument of a public function has the wrong type, shape or dtype.

    Raised by the runtime checks of :mod:`agnfit.core.checks` (jaxtyping +
    beartype); the message names the function, the argument, what was given
    and what is expected. It is an :class:`InputError` (so batch runners treat
    it as bad input) and a ``TypeError`` (the builtin convention for a wrong
    argument type).
    """


class ConfigError(AgnfitError, ValueError):
    """A configuration key, option, prior or value is not allowed."""


class PluginError(AgnfitError, LookupError):
    """A plugin name is unknown or registered twice."""


class DataFileError(AgnfitError, OSError):
    """A reference data file is missing, unreachable or fails its checksum."""


class FitError(AgnfitError, RuntimeError):
    """A fit cannot be set up or run."""


class AgnfitWarning(UserWarning):
    """A stated fallback was taken (band dropped, component dropped, pixels masked)."""


class ConvergenceWarning(AgnfitWarning):
    """An optimiser or sampler did not converge; results are flagged."""


__all__ = [
    "AgnfitError",
    "InputError",
    "InputTypeError",
    "ConfigError",
    "PluginError",
    "DataFileError",
    "FitError",
    "AgnfitWarning",
    "ConvergenceWarning",
]

"""Runtime shape and dtype checks at the public boundaries (jaxtyping + beartype).

:func:`checked` enforces a function's jaxtyping annotations with beartype,
including the consistency of named axes across arguments (``" n"`` in two
annotations must be the same length), and turns a violation into an
:class:`~agnfit.errors.InputTypeError` that names the function, the argument,
what was given and what is expected::

    @checked
    def fwhm_of(v: Float[Array, " n"], f: Float[Array, " n"]): ...

Where the checks live: the Spectrum and Photometry constructors
(:mod:`agnfit.core.data`), :func:`agnfit.simulate`, :func:`agnfit.fit`,
``Model.fiber_flux`` / ``Model.component_fluxes`` and the derived-quantity
helpers (``fwhm_of``). Inside ``jax.jit`` a check runs once, while the
function is traced (shapes and dtypes are static there), so compiled code
pays nothing. ``JAXTYPING_DISABLE=1`` in the environment turns the checks off.

Only violations of the *parameters* become ``InputTypeError``; a wrong
return value is a bug in agnfit and stays a ``jaxtyping.TypeCheckError``.
"""

from __future__ import annotations

import functools
import re

from beartype import beartype
from jaxtyping import TypeCheckError, jaxtyped

from ..errors import InputTypeError

_PARAM = re.compile(r"typechecking parameter '([^']+)'")
_ACTUAL = re.compile(r"^Actual value: (.*)$", re.M)
_EXPECTED = re.compile(r"^Expected type: (.*?)\.?$", re.M)
_AXES_HEADER = "The current values for each jaxtyping axis annotation are as follows."


def _readable(annotation: str) -> str:
    """A jaxtyping/beartype type repr made shorter: ``<class 'Real[ndarray, 'n']'>`` -> ``Real[ndarray, 'n']``."""
    s = re.sub(r"<class '(.*?)'>", r"\1", annotation)
    s = s.replace("jaxlib._jax.Array", "jax.Array").replace("jaxlib.xla_extension.ArrayImpl", "jax.Array")
    s = re.sub(r"typing\.Union\[(.*)\]$", r"\1 (any of)", s)
    return s.replace("numpy.", "np.").replace("jaxtyping.", "")


def _axes(text: str) -> str:
    """``"n=500"``-style axis sizes bound before the failing argument, from a jaxtyping message."""
    if _AXES_HEADER not in text:
        return ""
    lines = text.split(_AXES_HEADER, 1)[1].strip().splitlines()
    return ", ".join(ln.strip() for ln in lines if "=" in ln and not ln.startswith("-"))


def describe(exc: TypeCheckError, where: str, hint: str = "") -> str:
    """A one-paragraph message for a parameter type-check failure of ``where``."""
    text = str(exc)
    param = _PARAM.search(text)
    actual = _ACTUAL.search(text)
    expected = _EXPECTED.search(text)
    name = param.group(1) if param else "?"
    msg = f"{where}: argument {name!r} is {actual.group(1) if actual else 'of the wrong type'}"
    if expected:
        msg += f", expected {_readable(expected.group(1))}"
    axes = _axes(text)
    if axes:
        msg += f" (axis sizes set by the other arguments: {axes})"
    if hint:
        msg += f". {hint}"
    return msg


def checked(fn=None, *, where: str | None = None, hint: str = ""):
    """Enforce ``fn``'s annotations at call time; raise InputTypeError naming the bad argument.

    Args:
        fn: the function (or method) to check; annotations use jaxtyping
            array types (``Float[Array, " n"]``) and ordinary types.
        where: name used in messages (default: the function's qualified name).
        hint: a sentence appended to the message, saying how to fix the input.

    Usable as ``@checked`` or ``@checked(where="Spectrum", hint="...")``.
    """
    if fn is None:
        return functools.partial(checked, where=where, hint=hint)
    inner = jaxtyped(typechecker=beartype)(fn)
    label = where or fn.__qualname__

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return inner(*args, **kwargs)
        except TypeCheckError as exc:
            if "checking the parameters" not in str(exc) or _PARAM.search(str(exc)) is None:
                raise
            raise InputTypeError(describe(exc, label, hint)) from None

    wrapper.__agnfit_checked__ = True
    return wrapper


__all__ = ["checked", "describe"]

"""The emulation layer's settings from environment variables, parsed one way.

Every setting reads its variable once, when the layer is built. An unset or
blank variable gives the default; a value that cannot be used is refused
with a ValueError that names the variable and quotes the value:
``NAME must be REQUIREMENT, got 'VALUE'``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping


def _refused(name: str, requirement: str, raw: str) -> ValueError:
    return ValueError(f"{name} must be {requirement}, got {raw!r}")


def number(environ: Mapping[str, str], name: str, default: float, *, allow_zero: bool,
           requirement: str | None = None) -> float:
    """A finite number, >= 0 (``allow_zero``) or > 0.

    ``requirement`` words the error (default ``a number >= 0`` or ``a number > 0``).
    """
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        if requirement is None:
            requirement = "a number >= 0" if allow_zero else "a number > 0"
        raise _refused(name, requirement, raw)
    return value


def seconds(environ: Mapping[str, str], name: str, default: float, *,
            allow_zero: bool = True) -> float:
    """A finite number of seconds, >= 0 (``allow_zero``) or > 0."""
    bound = ">= 0" if allow_zero else "> 0"
    return number(environ, name, default, allow_zero=allow_zero,
                  requirement=f"a number of seconds {bound}")


def whole_number(environ: Mapping[str, str], name: str, default: int, *, low: int = 0,
                 high: int | None = None) -> int:
    """A whole number >= ``low`` (and <= ``high`` when given)."""
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or value < low or (high is not None and value > high):
        requirement = (f"a whole number >= {low}" if high is None
                       else f"a whole number from {low} to {high}")
        raise _refused(name, requirement, raw)
    return value

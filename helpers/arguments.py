"""Argument checks, one way for every module: a bad argument raises an error that names it and says
what was expected (``width must be a positive int, got 0``), instead of failing later or silently."""
from __future__ import annotations

import math
import numbers


def integer(name: str, value: object, low: int = 1, high: int | None = None) -> int:
    """``value`` as an int in [low, high] (no upper bound when ``high`` is None). NumPy integers are
    accepted; bools and floats are not."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) \
            or value < low or (high is not None and value > high):
        if high is not None:
            expected = f"an int between {low} and {high}"
        else:
            expected = "a positive int" if low == 1 else f"an int >= {low}"
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    return int(value)


def number(name: str, value: object, low: float = -math.inf, high: float = math.inf) -> float:
    """``value`` as a finite float in [low, high]: TypeError when it is not a number at all (a string,
    a bool), ValueError when it is out of range or not finite."""
    if math.isinf(high):
        expected = "a finite number" + (f" >= {low}" if not math.isinf(low) else "")
    else:
        expected = f"a number between {low} and {high}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be {expected}, got {value!r}")
    if not (math.isfinite(value) and low <= value <= high):
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    return float(value)


def pair(name: str, value: int | tuple[int, int], low: int = 1) -> tuple[int, int]:
    """An int or a pair of ints (height, width), each >= ``low``, as a pair."""
    if isinstance(value, tuple) and len(value) == 2:
        return integer(name, value[0], low), integer(name, value[1], low)
    side = integer(name, value, low)
    return side, side

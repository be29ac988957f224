"""Argument types with ranges: a value outside them is an argparse error naming the option.

``type=positive_float`` and friends reject NaN, infinities and out-of-range values
before any command runs (exit code 2, usage line, the value and the reason).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

from lofi.io.names import path_component_problem


def _number(text: str, kind: type) -> float | int:
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not {'an integer' if kind is int else 'a number'}"
        ) from None
    if kind is float and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def bounded(
    kind: type, low: float | None = None, high: float | None = None, low_open: bool = False
) -> Callable:
    """An argparse type: a ``kind`` (int or float) in ``[low, high]``; ``low_open`` excludes ``low``."""

    def parse(text: str) -> float | int:
        value = _number(text, kind)
        if low is not None and (value <= low if low_open else value < low):
            raise argparse.ArgumentTypeError(f"{text} must be {'>' if low_open else '>='} {low:g}")
        if high is not None and value > high:
            raise argparse.ArgumentTypeError(f"{text} must be <= {high:g}")
        return value

    parse.__name__ = f"{kind.__name__} value"
    return parse


positive_float = bounded(float, 0.0, low_open=True)
non_negative_float = bounded(float, 0.0)
positive_int = bounded(int, 1)
non_negative_int = bounded(int, 0)
#: YOLO image sizes (px): ultralytics rounds to a multiple of 32; past 4096 px no webcam frame reaches.
IMGSZ = bounded(int, 32, 4096)


def folder_name(text: str) -> str:
    """An argparse type: a name that becomes one folder (a data set, a session id): no path."""
    problem = path_component_problem(text)
    if problem:
        raise argparse.ArgumentTypeError(f"{text!r} is not a plain folder name: {problem}")
    return text

"""The fitted foot-point correction, stored as a small JSON file the pipeline passes along.

``lofi fit-foot-offset`` fits the along-view offset on sessions of other people
(detector training) and writes it; ``lofi localize --foot-offset-from`` and
``lofi label-quality --foot-offset-from`` read it, so the walk labels and the
report use the same value.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from lofi.io.atomic import atomic_open


class FootCorrectionError(ValueError):
    """A foot-correction file is missing, malformed, or made for another foot-point model."""


@dataclass(frozen=True)
class FootCorrection:
    """Offset (m) away from the camera for the ``foot_point`` model, and where it was fitted.

    ``refined_bottom``: fitted on box bottoms refined against the empty room.
    """

    foot_offset_m: float
    foot_point: str
    detector: str
    fitted_on: list[str]
    refined_bottom: bool = False

    def note(self) -> str:
        """One line for reports."""
        bottoms = "refined box bottoms, " if self.refined_bottom else ""
        return (
            f"foot-point correction ({bottoms}{self.foot_point} foot point) {self.foot_offset_m} m fitted on "
            f"{len(self.fitted_on)} detector-training sessions (one value for every view)"
        )


def write_foot_correction(path: str | os.PathLike[str], correction: FootCorrection) -> None:
    """Write the correction as JSON, atomically."""
    with atomic_open(path, "w") as handle:
        json.dump(asdict(correction), handle, indent=2)
        handle.write("\n")


def _field(data: dict, key: str, kinds: tuple[type, ...], path: Path, default: object = None) -> object:
    """``data[key]`` if it is of ``kinds`` (a bool is no number); a missing or mistyped field is named."""
    if key not in data and default is None:
        raise FootCorrectionError(f"{path}: not a foot-correction file: field {key!r} is missing")
    value = data.get(key, default)
    if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
        names = " or ".join(k.__name__ for k in kinds)
        raise FootCorrectionError(f"{path}: field {key!r} is {value!r}, not {names}")
    return float(value) if kinds == (int, float) else value


def read_foot_correction(
    path: str | os.PathLike[str], foot_point: str | None = None, refined_bottom: bool | None = None
) -> FootCorrection:
    """Read a correction; with ``foot_point`` / ``refined_bottom``, check it was fitted for them."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError as err:
        raise FootCorrectionError(f"{path}: no such file (run `lofi fit-foot-offset`)") from err
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise FootCorrectionError(f"{path}: not a foot-correction file (not JSON: {err})") from err
    if not isinstance(data, dict):
        raise FootCorrectionError(f"{path}: not a foot-correction file (a JSON object is expected)")
    correction = FootCorrection(
        _field(data, "foot_offset_m", (int, float), path),
        _field(data, "foot_point", (str,), path),
        _field(data, "detector", (str,), path),
        _field(data, "fitted_on", (list,), path),
        _field(data, "refined_bottom", (bool,), path, default=False),
    )
    if not all(isinstance(name, str) for name in correction.fitted_on):
        raise FootCorrectionError(f"{path}: fitted_on must list session names, got {correction.fitted_on!r}")
    if not math.isfinite(correction.foot_offset_m) or abs(correction.foot_offset_m) > 1.0:
        raise FootCorrectionError(
            f"{path}: foot_offset_m {correction.foot_offset_m!r} is not a usable offset (finite, |x| <= 1 m)"
        )
    if foot_point is not None and correction.foot_point != foot_point:
        raise FootCorrectionError(
            f"{path}: fitted for the {correction.foot_point} foot point, but {foot_point} was asked for"
        )
    if refined_bottom is not None and correction.refined_bottom != refined_bottom:
        fitted, asked = ("refined" if v else "detector" for v in (correction.refined_bottom, refined_bottom))
        raise FootCorrectionError(f"{path}: fitted on {fitted} box bottoms, but {asked} ones were asked for")
    return correction

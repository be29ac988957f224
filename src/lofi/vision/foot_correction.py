"""The fitted foot-point correction, stored as a small JSON file the pipeline passes along.

``lofi fit-foot-offset`` fits the along-view offset on sessions of other people
(detector training) and writes it; ``lofi localize --foot-offset-from`` and
``lofi label-quality --foot-offset-from`` read it, so the walk labels and the
report use the same value.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from lofi.io.atomic import atomic_open


class FootCorrectionError(ValueError):
    """A foot-correction file is missing, malformed, or made for another foot-point model."""


@dataclass(frozen=True)
class FootCorrection:
    """Offset (m) away from the camera for the ``foot_point`` model, and where it was fitted."""

    foot_offset_m: float
    foot_point: str
    detector: str
    fitted_on: list[str]

    def note(self) -> str:
        """One line for reports."""
        return (
            f"foot-point correction ({self.foot_point} foot point) {self.foot_offset_m} m fitted on "
            f"{len(self.fitted_on)} detector-training sessions (one value for every view)"
        )


def write_foot_correction(path: str | os.PathLike[str], correction: FootCorrection) -> None:
    """Write the correction as JSON, atomically."""
    with atomic_open(path, "w") as handle:
        json.dump(asdict(correction), handle, indent=2)
        handle.write("\n")


def read_foot_correction(path: str | os.PathLike[str], foot_point: str | None = None) -> FootCorrection:
    """Read a correction; with ``foot_point``, check it was fitted for that model."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
        correction = FootCorrection(
            float(data["foot_offset_m"]),
            str(data["foot_point"]),
            str(data["detector"]),
            list(data["fitted_on"]),
        )
    except FileNotFoundError as err:
        raise FootCorrectionError(f"{path}: no such file (run `lofi fit-foot-offset`)") from err
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
        raise FootCorrectionError(f"{path}: not a foot-correction file ({err})") from err
    if foot_point is not None and correction.foot_point != foot_point:
        raise FootCorrectionError(
            f"{path}: fitted for the {correction.foot_point} foot point, but {foot_point} was asked for"
        )
    return correction

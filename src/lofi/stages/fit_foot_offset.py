"""Stage ``fit-foot-offset``: the foot-point correction, fitted on sessions of other people.

The median along-view label error (m) of a detector on sessions with truth (the
detector-training sessions, never the evaluated ones) is the offset that
``lofi localize --foot-offset-from`` applies: one value for every view.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lofi.io.foot_correction import FootCorrection, write_foot_correction
from lofi.stages.detect import DetectorChoice
from lofi.stages.study import StudySession, detect_for_study, evaluate
from lofi.vision.foot_refine import FootRefineOptions
from lofi.vision.localize import fit_foot_offset


def fitted_foot_offset(
    sessions: list[StudySession],
    detector: DetectorChoice,
    progress: bool,
    foot_point: str = "bottom_middle",
    refine: FootRefineOptions | None = None,
) -> float:
    """Median along-view label error (m) of ``detector`` over ``sessions``, for the ``foot_point``
    model, with box bottoms refined when ``refine`` is given."""
    errors = []
    for session in sessions:
        run = detect_for_study(session, detector, progress, refine)
        result = evaluate(
            session, run, detector.name, foot_point=foot_point, refined_bottom=refine is not None
        )
        truth = session.truth.set_index("frame")
        xy = truth.loc[result.positions["frame"], ["x_m", "y_m"]].to_numpy()
        errors.append(fit_foot_offset(result.positions, xy, session.calibration, foot_point))
    along = np.concatenate(errors)
    if not np.isfinite(along).any():
        names = ", ".join(s.name for s in sessions)
        raise ValueError(f"{detector.name} found no one in {names}: there is nothing to fit a foot offset on")
    return float(np.nanmedian(along))


def run_fit_foot_offset(
    sessions: list[Path],
    detector: DetectorChoice,
    out: Path,
    foot_point: str,
    refine: FootRefineOptions | None,
    progress: bool = True,
) -> FootCorrection:
    """Fit the correction on ``sessions`` and write it to ``out`` (JSON)."""
    correction = fit_correction(sessions, detector, foot_point, refine, progress)
    write_foot_correction(out, correction)
    return correction


def fit_correction(
    sessions: list[Path],
    detector: DetectorChoice,
    foot_point: str,
    refine: FootRefineOptions | None,
    progress: bool = True,
) -> FootCorrection:
    """The foot-point correction (offset rounded to the mm) fitted on ``sessions``, with its provenance."""
    offset = fitted_foot_offset(
        [StudySession.load(s) for s in sessions], detector, progress, foot_point, refine
    )
    return FootCorrection(
        round(offset, 3), foot_point, detector.name, [str(p) for p in sessions], refine is not None
    )

"""The fitted foot-point correction file: round trip and the checks on reading it."""

from __future__ import annotations

import pytest

from lofi.vision.foot_correction import (
    FootCorrection,
    FootCorrectionError,
    read_foot_correction,
    write_foot_correction,
)


def test_round_trip_and_model_check(tmp_path):
    correction = FootCorrection(0.238, "upright", "yolo", ["data/raw/a", "data/raw/b"])
    write_foot_correction(tmp_path / "f.json", correction)
    assert read_foot_correction(tmp_path / "f.json", "upright") == correction
    assert "0.238 m fitted on 2 detector-training sessions" in correction.note()
    with pytest.raises(FootCorrectionError, match="fitted for the upright foot point"):
        read_foot_correction(tmp_path / "f.json", "bottom_middle")


def test_missing_or_malformed_files_are_clear_errors(tmp_path):
    with pytest.raises(FootCorrectionError, match="lofi fit-foot-offset"):
        read_foot_correction(tmp_path / "none.json")
    (tmp_path / "bad.json").write_text('{"foot_offset_m": 0.2}')
    with pytest.raises(FootCorrectionError, match="not a foot-correction file"):
        read_foot_correction(tmp_path / "bad.json")

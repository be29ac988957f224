"""The fitted foot-point correction file: round trip and the checks on reading it."""

from __future__ import annotations

import pytest

from lofi.io.foot_correction import (
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


def test_refined_bottom_must_match(tmp_path):
    refined = FootCorrection(0.199, "upright", "yolo", ["data/raw/a"], refined_bottom=True)
    write_foot_correction(tmp_path / "f.json", refined)
    assert read_foot_correction(tmp_path / "f.json", "upright", refined_bottom=True) == refined
    assert "refined box bottoms" in refined.note()
    with pytest.raises(FootCorrectionError, match="fitted on refined box bottoms, but detector ones"):
        read_foot_correction(tmp_path / "f.json", "upright", refined_bottom=False)


def test_files_from_before_refinement_read_as_detector_bottoms(tmp_path):
    (tmp_path / "old.json").write_text(
        '{"foot_offset_m": 0.21, "foot_point": "upright", "detector": "yolo", "fitted_on": []}'
    )
    assert read_foot_correction(tmp_path / "old.json", refined_bottom=False).refined_bottom is False
    with pytest.raises(FootCorrectionError, match="fitted on detector box bottoms"):
        read_foot_correction(tmp_path / "old.json", refined_bottom=True)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ({"foot_offset_m": True}, "field 'foot_offset_m' is True, not int or float"),
        ({"fitted_on": "abc"}, "field 'fitted_on' is 'abc', not list"),
        ({"fitted_on": [1, 2]}, "fitted_on must list session names"),
        ({"refined_bottom": "false"}, "field 'refined_bottom' is 'false', not bool"),
        ({"detector": None}, "field 'detector' is None, not str"),
    ],
)
def test_every_field_has_its_type(tmp_path, edit, message):
    import json

    data = {"foot_offset_m": 0.2, "foot_point": "upright", "detector": "yolo", "fitted_on": ["a"]} | edit
    (tmp_path / "f.json").write_text(json.dumps(data))
    with pytest.raises(FootCorrectionError, match=message.replace("(", r"\(")):
        read_foot_correction(tmp_path / "f.json")


def test_a_missing_field_is_named(tmp_path):
    (tmp_path / "f.json").write_text('{"foot_offset_m": 0.2}')
    with pytest.raises(FootCorrectionError, match="field 'foot_point' is missing"):
        read_foot_correction(tmp_path / "f.json")

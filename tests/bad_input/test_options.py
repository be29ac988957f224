"""Numeric options outside their range are refused by the parser, before any command runs."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("args", "option", "reason"),
    [
        (["detect", "S", "--imgsz", "0"], "--imgsz", "must be >= 32"),
        (["detect", "S", "--stride", "0"], "--stride", "must be >= 1"),
        (["detect", "S", "--stride", "1.5"], "--stride", "not an integer"),
        (["localize", "S", "--foot-offset-m", "nan"], "--foot-offset-m", "not a finite number"),
        (["label-quality", "--survey", "S", "--foot-offset-m", "2"], "--foot-offset-m", "must be <= 1"),
        (["fit-foot-offset", "--session", "S", "--imgsz", "99999"], "--imgsz", "must be <= 4096"),
        (["train-detector", "--session", "S", "--epochs", "0"], "--epochs", "must be >= 1"),
        (["train-detector", "--session", "S", "--batch", "-4"], "--batch", "must be >= 1"),
        (["train-detector", "--session", "S", "--seed", "-1"], "--seed", "must be >= 0"),
        (
            ["train-detector", "--session", "S", "--frames-per-session", "0"],
            "--frames-per-session",
            "must be >= 1",
        ),
    ],
)
def test_out_of_range_options_are_usage_errors(lofi, tmp_path, args, option, reason):
    lofi(*args).refused(option, reason)
    assert list(tmp_path.iterdir()) == []

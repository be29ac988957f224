"""``--trust-weights`` reaches the YOLO options of every command that takes ``--weights``, and the
optional package's ``.pt`` needs it like any other pickle."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import SimpleNamespace

import pytest

from lofi.cli import build_parser
from lofi.cli.options import detector_choice
from lofi.vision.detectors import yolo
from lofi.vision.detectors.yolo import FALL_DETECTION, WeightsError, checked_weights

COMMANDS = {
    "detect": ["detect", "SESSION"],
    "fit-foot-offset": ["fit-foot-offset", "--session", "SESSION"],
    "label-quality": ["label-quality", "--survey", "SESSION", "--detectors", "yolo"],
}


@pytest.fixture
def pt_file(tmp_path) -> Path:
    path = tmp_path / "model.pt"
    path.write_bytes(b"never opened by these tests")
    return path


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_trust_weights_reaches_the_yolo_options(command, pt_file):
    args = build_parser().parse_args([*COMMANDS[command], "--weights", str(pt_file), "--trust-weights"])
    choice = detector_choice(args, "yolo")
    assert choice.options["trust_weights"] is True and choice.options["weights"] == str(pt_file)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_without_trust_the_choice_itself_refuses_a_pt(command, pt_file):
    args = build_parser().parse_args([*COMMANDS[command], "--weights", str(pt_file)])
    assert args.trust_weights is False
    with pytest.raises(WeightsError, match=r"model\.pt.*--trust-weights"):
        detector_choice(args, "yolo")


def test_other_detectors_ignore_the_weights(pt_file):
    args = build_parser().parse_args(["detect", "SESSION", "--detector", "hog", "--weights", str(pt_file)])
    assert detector_choice(args).options == {}


def test_fall_detection_weights_are_a_pickle_too(tmp_path, monkeypatch):
    package = tmp_path / "fall_detection"
    (package / "models").mkdir(parents=True)
    (package / "models" / "best.pt").write_bytes(b"never opened")
    spec = SimpleNamespace(origin=str(package / "__init__.py"))
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        yolo.importlib.util,
        "find_spec",
        lambda name, *a: spec if name == "fall_detection" else real_find_spec(name, *a),
    )
    with pytest.raises(WeightsError, match=r"best\.pt.*--trust-weights"):
        checked_weights(FALL_DETECTION)
    assert checked_weights(FALL_DETECTION, trust_weights=True) == package / "models" / "best.pt"

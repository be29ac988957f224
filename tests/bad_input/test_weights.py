"""YOLO weights from an untrusted folder: a .pt pickle is refused before it is opened, a broken
.onnx or a missing file is a clear error, and a payload inside the weights never runs."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest
import torch

from lofi.cli import main


class Payload:
    """Unpickling this calls ``os.mkdir(sentinel)``: what a hostile weights file would do."""

    def __init__(self, sentinel: Path) -> None:
        self.sentinel = str(sentinel)

    def __reduce__(self):
        return os.mkdir, (self.sentinel,)


def pickled(folder: Path, sentinel: Path) -> Path:
    """``folder/evil.pt``: a plain pickle of the payload."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "evil.pt"
    path.write_bytes(pickle.dumps({"model": Payload(sentinel)}))
    return path


def torch_saved(folder: Path, sentinel: Path) -> Path:
    """``folder/evil.pt``: a zip-format ``torch.save`` checkpoint holding the payload."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "evil.pt"
    torch.save({"model": Payload(sentinel), "train_args": {}}, path)
    return path


MAKERS = {"pickle": pickled, "torch-zip": torch_saved}


@pytest.fixture(scope="module")
def session(tmp_path_factory) -> Path:
    """A 2-second simulated session (video, frames, calibration, truth)."""
    out = tmp_path_factory.mktemp("weights") / "S1_session"
    assert main(["simulate", "--subject", "S1", "--seconds", "2", "--out", str(out), "--quiet"]) == 0
    return out


def commands(session: Path, weights: Path, out: Path) -> dict[str, list[str | Path]]:
    """The three commands that take ``--weights``, each given ``weights``."""
    yolo = ["--weights", weights, "--quiet"]
    return {
        "detect": ["detect", session, *yolo, "--out", out / "detections.parquet"],
        "fit-foot-offset": ["fit-foot-offset", "--session", session, *yolo, "--out", out / "offset.json"],
        "label-quality": [
            "label-quality",
            "--survey",
            session,
            "--detectors",
            "yolo",
            *yolo,
            "--out-dir",
            out,
        ],
    }


def test_the_payloads_are_live(tmp_path):
    """The control: loading these files as pickles does run the payload."""
    for kind, make in MAKERS.items():
        sentinel = tmp_path / f"ran-{kind}"
        path = make(tmp_path / kind, sentinel)
        if kind == "pickle":
            pickle.loads(path.read_bytes())
        else:
            torch.load(path, weights_only=False)
        assert sentinel.is_dir()


@pytest.mark.parametrize("command", ["detect", "fit-foot-offset", "label-quality"])
@pytest.mark.parametrize("kind", sorted(MAKERS))
def test_a_pickled_pt_is_refused_and_never_opened(lofi, session, tmp_path, command, kind):
    sentinel = tmp_path / "payload-ran"
    evil = MAKERS[kind](tmp_path / "untrusted", sentinel)
    outcome = lofi(*commands(session, evil, tmp_path / "out")[command])
    outcome.refused("evil.pt", "--trust-weights", "pickle")
    assert not sentinel.exists()
    assert not (tmp_path / "out").exists()


def test_weights_are_checked_before_the_session_is_read(lofi, tmp_path):
    sentinel = tmp_path / "payload-ran"
    evil = pickled(tmp_path, sentinel)
    outcome = lofi("detect", tmp_path / "no-such-session", "--weights", evil)
    outcome.refused("evil.pt", "--trust-weights")
    assert "no-such-session" not in outcome.err and not sentinel.exists()


def test_a_pickle_named_onnx_is_not_unpickled(lofi, session, tmp_path):
    sentinel = tmp_path / "payload-ran"
    evil = pickled(tmp_path, sentinel).rename(tmp_path / "evil.onnx")
    lofi("detect", session, "--weights", evil, "--out", tmp_path / "d.parquet").refused("evil.onnx")
    assert not sentinel.exists() and not (tmp_path / "d.parquet").exists()


@pytest.mark.parametrize("content", [b"", os.urandom(2048)], ids=["empty", "random-bytes"])
def test_a_broken_onnx_is_refused_with_its_name(lofi, session, tmp_path, content):
    broken = tmp_path / "x.onnx"
    broken.write_bytes(content)
    outcome = lofi("detect", session, "--weights", broken, "--out", tmp_path / "d.parquet")
    outcome.refused("x.onnx", "cannot be loaded")
    assert not (tmp_path / "d.parquet").exists()


def test_missing_weights_say_how_to_get_them(lofi, session, tmp_path):
    missing = tmp_path / "missing.onnx"
    lofi("detect", session, "--weights", missing).refused("missing.onnx", "lofi train-detector")


def test_another_format_is_refused(lofi, session, tmp_path):
    engine = tmp_path / "model.engine"
    engine.write_bytes(b"\0" * 64)
    lofi("detect", session, "--weights", engine, "--trust-weights").refused("model.engine", "unsupported")


def test_train_detector_refuses_a_pt_output(lofi, session, tmp_path):
    outcome = lofi("train-detector", "--session", session, "--out", tmp_path / "person.pt", "--epochs", "1")
    outcome.refused("person.pt", ".onnx")
    assert not (tmp_path / "person.pt").exists()

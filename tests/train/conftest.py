"""Shared by the training tests: a tiny data set (3 sessions x 20 s) and composing the real configs."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from lofi.stages.dataset import SessionInputs, build_dataset
from tests.stages.conftest import make_interim

CONF = Path(__file__).resolve().parents[2] / "conf"


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("train")
    interim = [make_interim(root, s, seconds=20.0, seed=k) for k, s in enumerate(("S1", "S2", "S3"))]
    build_dataset("tiny", [SessionInputs.from_folder(f) for f in interim], root / "tiny")
    return root / "tiny"


def config(dataset: Path, run_dir: Path, *overrides: str):
    with initialize_config_dir(str(CONF), version_base="1.3"):
        return compose(
            "train",
            overrides=[
                f"data.dir={dataset}",
                f"paths.output_dir={run_dir}",
                "trainer=smoke",
                "trainer.threads=1",  # tiny models: a second thread only adds overhead
                "logger=none",
                "data.train_windows_per_epoch=64",
                "data.batch_size=16",
                *overrides,
            ],
        )

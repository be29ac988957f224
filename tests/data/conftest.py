"""A tiny synthetic data set with truth (two 20-s sessions, subjects S1 and S3), shared by the data tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from lofi.io.session import TRUTH_PINGS
from lofi.io.tables import write_table
from lofi.sim.session import SessionSpec, ping_truth, simulate_csi_only
from lofi.stages.dataset import SessionInputs, build_dataset
from lofi.stages.scenes import load_scene
from tests.stages.conftest import make_interim

SECONDS = 20.0


def write_ping_truth(root: Path, subject: str, seed: int) -> Path:
    """``truth/pings.parquet`` of the raw session :func:`make_interim` simulated (same spec, same seed)."""
    spec = SessionSpec(f"t_{subject}", (subject,), "paper", "walk", SECONDS, seed=seed)
    path = root / "raw" / spec.session_id / TRUTH_PINGS
    path.parent.mkdir(parents=True, exist_ok=True)
    write_table(path, ping_truth(spec, simulate_csi_only(load_scene("lab"), spec)))
    return path


@pytest.fixture(scope="session")
def synthetic_root(tmp_path_factory) -> Path:
    """Interim folders of two sessions whose raw folders hold the ping truth."""
    root = tmp_path_factory.mktemp("synthetic")
    for subject, seed in (("S1", 1), ("S3", 2)):
        make_interim(root, subject, seconds=SECONDS, seed=seed)
        write_ping_truth(root, subject, seed)
    return root


@pytest.fixture(scope="session")
def synthetic_set(synthetic_root) -> Path:
    """The processed data set folder of the two sessions."""
    out = synthetic_root / "processed" / "demo"
    folders = sorted((synthetic_root / "interim").iterdir())
    build_dataset("demo", [SessionInputs.from_folder(f) for f in folders], out)
    return out

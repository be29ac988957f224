"""The installed package works anywhere: a non-editable install, run from a folder outside the checkout."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_chain_runs_outside_the_checkout_from_a_wheel(tmp_path):
    wheels, site, work = tmp_path / "wheels", tmp_path / "site", tmp_path / "work"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", wheels, ROOT], check=True)
    wheel = next(wheels.glob("lofi-*.whl"))
    subprocess.run([*pip, "install", "--no-deps", "--target", site, wheel], check=True)
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}  # ahead of the checkout's editable install

    def lofi(*args: str | Path) -> str:
        result = subprocess.run([sys.executable, "-m", "lofi", *map(str, args)], cwd=work, env=env,
                                capture_output=True, text=True, timeout=300)  # fmt: skip
        assert result.returncode == 0, result.stderr
        return result.stdout

    where = subprocess.run([sys.executable, "-c", "import lofi; print(lofi.__file__)"], cwd=work, env=env,
                           capture_output=True, text=True, check=True)  # fmt: skip
    assert where.stdout.startswith(str(site))
    lofi(
        "simulate", "--scene", "lab", "--subject", "S1", "--seconds", "3", "--out", "data/raw/walk", "--quiet"
    )
    lofi("preview-scene", "--scene", "lab", "--out", "preview.png")
    lofi("inspect", "data/raw/walk", "--out", "results/inspect.json")
    lofi("detect", "data/raw/walk", "--detector", "bgsub", "--quiet")
    lofi("localize", "data/raw/walk")
    lofi("csi", "data/raw/walk")
    lofi("align", "data/raw/walk")
    summary = lofi("dataset", "demo", "--interim", "data/interim/walk")
    assert "demo: 1 sessions" in summary
    for name in ("detections", "positions", "csi", "aligned"):
        assert (work / "data" / "interim" / "walk" / f"{name}.parquet").is_file()
    assert (work / "data" / "processed" / "demo" / "manifest.json").is_file()
    assert (work / "preview.png").stat().st_size > 10_000 and (work / "results" / "inspect.json").is_file()

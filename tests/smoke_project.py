"""A scratch copy of the project and the smoke pipeline run in it, shared by the end-to-end tests.

The smoke DAG (``conf/pipeline/smoke.yaml``, about 2 minutes on 2 cores) runs once per test session
(``smoke_project`` in ``tests/conftest.py``); tests that change its files work on a copy
(``copy_project``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: The files a scratch project needs to run the pipeline.
PROJECT_FILES = ("Snakefile", "conf", "workflow", "profiles")
SMOKE_CONFIG = "conf/pipeline/smoke.yaml"
#: The smoke scale's own root inside the project (data/ and results/ below it).
SMOKE_ROOT = Path("scales") / "smoke"


def environment() -> dict[str, str]:
    """This environment with the venv first on PATH, no LOFI_ROOT and no MLFLOW_TRACKING_URI: the
    scratch copy is the project, its mlflow.db the store."""
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    env.pop("LOFI_ROOT", None)
    env.pop("MLFLOW_TRACKING_URI", None)
    return env


def snakemake(workdir: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """``snakemake --cores 2 ARGS`` in ``workdir``, output captured."""
    cmd = [sys.executable, "-m", "snakemake", "--cores", "2", *args]
    return subprocess.run(
        cmd, cwd=workdir, env=environment(), capture_output=True, text=True, timeout=timeout
    )


def scratch_copy(folder: Path, extra: tuple[str, ...] = ()) -> Path:
    """The pipeline's files (and ``extra`` ones) in ``folder``: a run there never touches the repository's."""
    for name in (*PROJECT_FILES, *extra):
        source, target = ROOT / name, folder / name
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copy(source, target)
    return folder


def run_smoke(folder: Path) -> Path:
    """A scratch copy in ``folder`` with the smoke pipeline run to its report; returns ``folder``."""
    scratch_copy(folder)
    result = snakemake(folder, "--configfile", SMOKE_CONFIG)
    assert result.returncode == 0, result.stderr[-3000:]
    return folder


def copy_project(source: Path, target: Path) -> Path:
    """A copy of a scratch project (its runs, data and MLflow store included), modification times kept."""
    shutil.copytree(source, target, symlinks=True)
    return target

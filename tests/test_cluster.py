"""Many machines, checked without a cluster: the Snakemake SLURM profile plans the smoke pipeline
(a dry run, no SLURM command called) and Hydra composes the submitit SLURM launcher."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.utils import get_class, instantiate
from omegaconf import OmegaConf

from tests.smoke_project import SMOKE_CONFIG, scratch_copy, snakemake

ROOT = Path(__file__).resolve().parents[1]
PROFILE = "profiles/slurm"
#: What the SLURM executor would call on a cluster (stand-ins here that record the call and fail).
SLURM_COMMANDS = ("sbatch", "srun", "squeue", "sacct", "sinfo", "scontrol", "scancel", "sacctmgr", "sshare")
#: Those that submit, start or cancel jobs: a dry run never calls them.
SUBMITTING = ("sbatch", "srun", "scancel")


def fake_slurm(folder: Path) -> Path:
    """A folder of SLURM commands that only write their name and arguments to ``called.txt``."""
    folder.mkdir()
    for name in SLURM_COMMANDS:
        script = folder / name
        script.write_text(f'#!/bin/sh\necho "{name} $*" >> "{folder}/called.txt"\nexit 1\n')
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return folder


def planned_jobs(stdout: str) -> dict[str, int]:
    """The dry run's "Job stats" table: jobs per rule."""
    table = stdout.split("Job stats:", 1)[1].split("\n\n", 1)[0]
    rows = (re.fullmatch(r"(\w+)\s+(\d+)", line.strip()) for line in table.splitlines())
    return {m[1]: int(m[2]) for m in rows if m and m[1] != "total"}


def job_resources(stdout: str, rule: str) -> list[dict[str, str]]:
    """The ``resources:`` of each planned job of ``rule`` (values as printed)."""
    found = []
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", stdout):
        if re.match(rf"(?:local)?rule {rule}:", block) and (line := re.search(r"resources: (.+)", block)):
            found.append(dict(part.split("=", 1) for part in line[1].split(", ")))
    return found


def test_the_slurm_profile_plans_the_smoke_pipeline_without_calling_slurm(tmp_path, monkeypatch):
    """`snakemake -n --profile profiles/slurm --configfile conf/pipeline/smoke.yaml` exits 0
    and plans every job with its SLURM resources; with train.trainer: gpu the training jobs ask
    for a GPU and for train.threads CPUs."""
    (tmp_path / "project").mkdir()
    project = scratch_copy(tmp_path / "project")
    slurm = fake_slurm(tmp_path / "slurm-bin")
    monkeypatch.setenv("PATH", f"{slurm}{os.pathsep}{os.environ['PATH']}")  # snakemake() puts the venv first

    result = snakemake(project, "-n", "--profile", PROFILE, "--configfile", SMOKE_CONFIG, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "This was a dry-run" in result.stdout
    jobs = planned_jobs(result.stdout)
    assert jobs["train"] >= 1 and jobs["pretrain"] == 1 and jobs["report"] == 1 and jobs["dataset"] == 1
    train = job_resources(result.stdout, "train")
    assert len(train) == jobs["train"]
    assert all(
        r["slurm_partition"] == "cpu" and r["runtime"] == "480" and r["mem_mb"] == "16000" for r in train
    )
    assert all(r["cpus_per_task"] == "1" and r.get("gpu", "0") == "0" for r in train)  # smoke: threads 1, CPU

    overlay = project / "gpu.yaml"
    overlay.write_text("train:\n  trainer: gpu\n  threads: 2\n")  # at most --cores 2 here
    result = snakemake(
        project, "-n", "--profile", PROFILE, "--configfile", SMOKE_CONFIG, str(overlay), timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for rule in ("train", "pretrain"):
        resources = job_resources(result.stdout, rule)
        assert resources and all(r["gpu"] == "1" and r["cpus_per_task"] == "2" for r in resources), rule
    called = (slurm / "called.txt").read_text().splitlines() if (slurm / "called.txt").exists() else []
    # The executor may ask SLURM about itself (`scontrol show config`); nothing is submitted or cancelled.
    assert not [c for c in called if c.split()[0] in SUBMITTING], called
    assert not (project / "scales").exists()  # planned, nothing run


def test_hydra_composes_the_submitit_slurm_launcher():
    """`python -m lofi.train --multirun hydra/launcher=slurm ...`: the launcher resolves (its CPUs
    are the run's torch threads) and is submitit's SLURM launcher."""
    with initialize_config_dir(str(ROOT / "conf"), version_base="1.3"):
        cfg = compose(
            "train",
            overrides=[
                "hydra/launcher=slurm",
                "trainer.threads=4",
                "hydra.launcher.partition=gpu",
                "hydra.launcher.gpus_per_node=1",
                "trainer=gpu",
            ],
            return_hydra_config=True,
        )
    launcher = OmegaConf.to_container(cfg.hydra.launcher, resolve=True)
    launcher_class = get_class(launcher["_target_"])
    assert launcher_class.__name__ == "SlurmLauncher" and launcher_class.__module__.startswith(
        "hydra_plugins"
    )
    assert (
        launcher["cpus_per_task"] == 4 and launcher["partition"] == "gpu" and launcher["gpus_per_node"] == 1
    )
    assert launcher["timeout_min"] > 0 and launcher["mem_gb"] > 0 and launcher["tasks_per_node"] == 1
    assert launcher["submitit_folder"].endswith("/.submitit/%j")
    assert instantiate(cfg.hydra.launcher).params["partition"] == "gpu"  # builds without a cluster

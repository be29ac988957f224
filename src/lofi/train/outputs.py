"""What every run records beside its metrics: MLflow logger, run facts (model, split, sizes, time,
memory, commit, config hash), and JSON-ready numbers."""

from __future__ import annotations

import hashlib
import json
import resource
import subprocess
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from lofi.data.datamodule import CsiDataModule
from lofi.models import count_parameters
from lofi.train.naming import NOT_SETTINGS
from lofi.train.tracking import init_store


def mlflow_logger(cfg: DictConfig):
    """Lightning's MLflow logger of ``cfg.logger`` (``False``: no tracking), once
    :func:`init_store` has checked the store (reachable, a database, the experiment there): a
    problem is one :class:`ValueError` or :class:`OSError` line naming the URI, not MLflow's."""
    uri = cfg.logger.get("tracking_uri")
    if not uri:
        return False
    from pytorch_lightning.loggers import MLFlowLogger

    from lofi.train.tracking import end_interrupted_runs, mlflow_errors

    experiment, name = str(cfg.logger.experiment), run_name(cfg)
    init_store(str(uri), experiment)
    end_interrupted_runs(str(uri), experiment, name)  # a killed earlier attempt of this run
    with mlflow_errors(str(uri)):
        return MLFlowLogger(experiment_name=experiment, tracking_uri=str(uri), run_name=name)


def run_name(cfg: DictConfig) -> str:
    """``cfg.run_name`` (``<experiment>-<normalize>[-<tag>]-seed<k>``, conf/train.yaml); a trial of a search
    (``optimized_metric`` set, inside a Hydra sweep) adds ``-trial<k>``, as its trials share
    experiment and seed."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    name = str(cfg.run_name)
    if cfg.get("optimized_metric") and HydraConfig.initialized():
        hydra = HydraConfig.get()
        name += f"-trial{hydra.job.num}" if hydra.mode == RunMode.MULTIRUN else ""
    return name


def run_facts(cfg: DictConfig, dm: CsiDataModule, model, seconds: float, epochs: int) -> dict:
    """Everything but the test metrics: model, split, sizes, time, memory, commit, the resolved config
    and its hashes (``config_sha256`` with the seed, ``settings_sha256`` without: like runs share it)."""
    resolved = OmegaConf.to_container(cfg, resolve=True)
    windows = dm.num_windows
    root = Path(str(cfg.paths.root_dir))
    return {
        "status": "finished",
        "model": str(cfg.model.name),
        "experiment": str(cfg.experiment_name),
        "seed": int(cfg.seed),
        "task": str(cfg.task),
        "split": dm.split,
        "fold": dm.fold,
        "normalize": dm.normalize,
        "length": dm.length,
        "label": dm.label,
        "label_source": dm.label_source,
        "extra": list(dm.extra),
        "pretrained": relative_to(str(cfg.model.get("pretrained") or ""), root),
        "windows": windows,
        "parameters": count_parameters(model),
        "epochs": epochs,
        "train_seconds": round(seconds, 2),
        "peak_memory_mb": peak_memory_mb(),
        "peak_memory_kind": "cuda max_memory_allocated" if torch.cuda.is_available() else "peak RSS (CPU)",
        "git_commit": git_commit(cfg.paths.root_dir),
        "config_sha256": _sha256({**run_settings(resolved), "seed": resolved.get("seed")}),
        "settings_sha256": settings_sha256(resolved, dm.dataset_sha256),
        "dataset_sha256": dm.dataset_sha256,
        "config": relative_to(resolved, root),
    }


#: Settings that name files, not how a run trains: only whether they are set counts (each seed of a
#: fine-tune starts from its own pre-training's file, the data set is named by its hash).
PATH_SETTINGS = (("data", "dir"), ("model", "pretrained"), ("recovery_eval", "checkpoint"))


def relative_to(value: object, root: Path) -> object:
    """``value`` with every path under ``root`` written relative to it (``root`` itself as ``.``):
    what a run records names the project's files, not the machine it ran on."""
    if isinstance(value, dict):
        return {k: relative_to(v, root) for k, v in value.items()}
    if isinstance(value, list):
        return [relative_to(v, root) for v in value]
    if isinstance(value, str) and value == str(root):
        return "."
    if isinstance(value, str):  # a path, or a URI holding one (sqlite:////project/mlflow.db)
        return value.replace(f"{root}/", "")
    return value


def run_settings(config: dict) -> dict:
    """What a run's settings are, without its seed, names and places (see :data:`PATH_SETTINGS`)."""
    settings = {k: v for k, v in config.items() if k not in (*NOT_SETTINGS, "seed")}
    for group, key in PATH_SETTINGS:
        if isinstance(settings.get(group), dict) and key in settings[group]:
            settings[group] = {**settings[group], key: bool(settings[group][key])}
    return settings


def settings_sha256(config: dict, dataset_sha256: str | None) -> str:
    """The hash runs of one Table II row share: the settings without the seed, and the data set."""
    return _sha256({**run_settings(config), "dataset_sha256": dataset_sha256})


def _sha256(value: dict) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


def peak_memory_mb() -> float:
    if torch.cuda.is_available():
        return round(torch.cuda.max_memory_allocated() / 2**20, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def git_commit(root: str | Path) -> str | None:
    """HEAD of the git repository whose top folder is ``root`` (the project), with ``-dirty`` when
    tracked files (outside ``results/`` and ``scales/``) differ from it; None when ``root`` is not the
    top of a repository (never the commit of another repository the run happens to sit in)."""

    def git(*args: str) -> str:
        try:
            done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            return ""
        return done.stdout.strip() if done.returncode == 0 else ""

    top = git("rev-parse", "--show-toplevel")
    if not top or Path(top).resolve() != Path(root).resolve():
        return None
    head = git("rev-parse", "HEAD")
    if not head:
        return None
    # tracked files changed since that commit (outputs the pipeline rewrites aside): the code differs
    changed = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!results", ":!scales")
    return f"{head}-dirty" if changed else head


def json_ready(metrics: dict) -> dict:
    return {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in metrics.items()}

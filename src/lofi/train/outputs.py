"""What every run records beside its metrics: MLflow logger, run facts (model, split, sizes, time,
memory, commit, config hash), and JSON-ready numbers."""

from __future__ import annotations

import hashlib
import json
import resource
import subprocess

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from lofi.data.datamodule import CsiDataModule
from lofi.models import count_parameters
from lofi.train.tracking import init_store


def mlflow_logger(cfg: DictConfig):
    uri = cfg.logger.get("tracking_uri")
    if not uri:
        return False
    from pytorch_lightning.loggers import MLFlowLogger

    experiment = str(cfg.logger.experiment)
    init_store(str(uri), experiment)
    return MLFlowLogger(experiment_name=experiment, tracking_uri=str(uri), run_name=run_name(cfg))


def run_name(cfg: DictConfig) -> str:
    """``cfg.run_name`` (``<experiment>-seed<k>``, conf/train.yaml); a trial of a search
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
    """Everything but the test metrics: model, split, sizes, time, memory, commit, config hash."""
    resolved = OmegaConf.to_container(cfg, resolve=True)
    resolved.get("paths", {}).pop("output_dir", None)  # names, not settings: no part of the hash
    resolved.pop("run_name", None)
    config_text = json.dumps(resolved, sort_keys=True, default=str)
    windows = dm.num_windows
    return {
        "model": str(cfg.model.name),
        "experiment": str(cfg.experiment_name),
        "seed": int(cfg.seed),
        "task": str(cfg.task),
        "split": dm.split,
        "fold": dm.fold,
        "normalize": dm.normalize,
        "pretrained": str(cfg.model.get("pretrained") or ""),
        "windows": windows,
        "parameters": count_parameters(model),
        "epochs": epochs,
        "train_seconds": round(seconds, 2),
        "peak_memory_mb": peak_memory_mb(),
        "peak_memory_kind": "cuda max_memory_allocated" if torch.cuda.is_available() else "peak RSS (CPU)",
        "git_commit": git_commit(),
        "config_sha256": hashlib.sha256(config_text.encode()).hexdigest()[:16],
        "dataset_sha256": dm.dataset_sha256,
    }


def peak_memory_mb() -> float:
    if torch.cuda.is_available():
        return round(torch.cuda.max_memory_allocated() / 2**20, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def git_commit() -> str:
    try:
        result = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
    except OSError:
        return "unknown"
    return result.stdout.strip() or "unknown"


def json_ready(metrics: dict) -> dict:
    return {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in metrics.items()}

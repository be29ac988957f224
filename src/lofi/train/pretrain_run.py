"""``task: pretrain``: pre-train CSI-BERT by masked-frame recovery and write ``csibert_recovery.pt``.

Checkpoint and early stopping on the validation recovery loss; one test at the best
checkpoint. ``metrics.json`` holds the test recovery loss and MAE (standardised units)
and the amplitude MAE (int8 units) of CSI-BERT, linear and spline fill on bursts of
received test frames hidden for the purpose (:func:`lofi.train.recovery_eval.recovery_errors`).
"""

from __future__ import annotations

import time
from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf

from lofi.data.datamodule import CsiDataModule
from lofi.io.json_report import write_json
from lofi.io.recovery_checkpoint import RecoveryCheckpoint, load_recovery_checkpoint, save_recovery_checkpoint
from lofi.models.csibert import CSIBert
from lofi.models.recovery import CsiBertFiller
from lofi.train.fitting import fit_and_test, trainer_settings
from lofi.train.outputs import git_commit, json_ready, relative_to, run_facts
from lofi.train.pretrain import PretrainModule
from lofi.train.recovery_eval import mean_bursts, recovery_errors
from lofi.train.tracking import log_run, pipeline_tags

RECOVERY_FILE = "csibert_recovery.pt"


def pretrain(cfg: DictConfig, dm: CsiDataModule, model: CSIBert, out: Path, logger) -> dict:
    """Pre-train ``model`` on ``dm``'s training windows, logging to ``logger`` (MLflow or ``False``);
    returns the metrics written to metrics.json."""
    normalize = str(cfg.data.normalize)
    if normalize not in ("window", "global") or dm.view != "series" or dm.extra:
        raise ValueError(
            "CSI-BERT pre-training reads amplitude series standardised per window or globally: "
            f"got data.normalize={normalize}, view={dm.view}, extra={list(dm.extra)}"
        )
    options = cfg.get("pretrain") or {}
    adversarial = float(options.get("adversarial_weight", 0.0))
    trainer_cfg = trainer_settings(cfg)
    clip = trainer_cfg.pop("gradient_clip_val", None) if adversarial > 0 else None  # manual optimisation
    module = PretrainModule(
        model, float(cfg.model.lr), float(cfg.model.weight_decay),
        tuple(options.get("mask_ratio", (0.1, 0.7))), adversarial, clip, int(cfg.seed),
        standardize_visible=normalize == "window",
    )  # fmt: skip
    start = time.perf_counter()
    fitted = fit_and_test(cfg, module, dm, out, logger, trainer=trainer_cfg)
    epochs, best = fitted.epochs, fitted.best_val
    tested = {k: v for k, v in fitted.tested.items() if k.startswith("test/")}
    seconds = time.perf_counter() - start
    path = save_recovery_checkpoint(
        out / RECOVERY_FILE, _recovery_checkpoint(cfg, dm, model, best, normalize)
    )
    filler = CsiBertFiller.from_checkpoint(load_recovery_checkpoint(path), str(path))
    evaluation = cfg.get("recovery_eval") or {}
    metrics = tested | {"val/best_loss": best}
    share, bursts = float(evaluation.get("hide_share", 0.2)), mean_bursts(evaluation)
    metrics |= recovery_errors(dm.source, dm.part_rows("test"), dm.runs, filler, share, bursts, int(cfg.seed))
    # the windows were read raw when standardised per visible frames: report the standardisation used
    metrics |= run_facts(cfg, dm, model, seconds, epochs) | {
        "normalize": normalize,
        "recovery_file": relative_to(str(path), Path(str(cfg.paths.root_dir))),
    }
    write_json(out / "metrics.json", json_ready(metrics))
    OmegaConf.save(cfg, out / "config.yaml", resolve=True)
    if logger:
        tags = {"model": "csibert", "task": "pretrain", "split": dm.split, "normalize": dm.normalize,
                "seed": str(cfg.seed), "dataset_sha256": metrics["dataset_sha256"],
                "git_commit": metrics["git_commit"] or "none"} | pipeline_tags()  # fmt: skip
        log_run(logger, cfg, metrics, out, tags)
    return metrics


def _recovery_checkpoint(
    cfg: DictConfig, dm: CsiDataModule, model: CSIBert, best: float, normalize: str
) -> RecoveryCheckpoint:
    """The recovery file's contents: weights, options, window length, standardisation, provenance."""
    stats = dm.features.stats or {}
    amplitude = stats.get("amplitude") if normalize == "global" else None
    empty = torch.zeros(0)
    return RecoveryCheckpoint(
        state_dict=model.state_dict(),
        options=OmegaConf.to_container(cfg.model.options, resolve=True)
        | {"mask_input": model.encoder.mask_input},
        n_features=model.encoder.n_features,
        length=dm.length,
        normalize=normalize,
        mean=torch.from_numpy(amplitude.mean) if amplitude else empty,
        std=torch.from_numpy(amplitude.std) if amplitude else empty,
        source=pretraining_source(cfg, dm) | {"val_loss": best},
    )


def pretraining_source(cfg: DictConfig, dm: CsiDataModule) -> dict:
    """What a recovery file was pre-trained on: data set hash, split, fold, seed, commit."""
    return {
        "data_dir": str(dm.data_dir),
        "dataset_sha256": dm.dataset_sha256,
        "split": dm.split,
        "fold": dm.fold,
        "seed": int(cfg.seed),
        "git_commit": git_commit(cfg.paths.root_dir) or "none",
    }

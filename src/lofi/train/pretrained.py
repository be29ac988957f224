"""Starting from, or testing with, a CSI-BERT recovery file: every check before training starts.

``model.pretrained`` starts a CSI-BERT from a pre-training run's ``csibert_recovery.pt``;
``recovery_eval.checkpoint`` fills damaged test windows with one. Both are refused when the
file is pre-trained on another data set, split or fold (its pre-training may have seen this
run's test rows), on other inputs, or is of another size.
"""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig

from lofi.data.datamodule import CsiDataModule
from lofi.io.recovery_checkpoint import RecoveryCheckpoint, RecoveryCheckpointError, load_recovery_checkpoint
from lofi.models.csibert import load_encoder
from lofi.models.recovery import CsiBertFiller
from lofi.train.recovery_eval import mean_bursts


def load_pretrained(model, path: str | Path, dm: CsiDataModule) -> None:
    """Start ``model`` (a CSIBert) from a pre-training run's ``csibert_recovery.pt``.

    Raises:
        RecoveryCheckpointError: not a recovery file, pre-trained on other inputs or with
            another normalisation, or an encoder of another size.
    """
    checkpoint = load_recovery_checkpoint(path)
    check_pretrained_on(checkpoint, path, dm)
    width = dm.input_shape[-1]
    if checkpoint.n_features != width or checkpoint.normalize != dm.normalize:
        raise RecoveryCheckpointError(
            f"{path}: pre-trained on {checkpoint.n_features} values per frame with normalize="
            f"{checkpoint.normalize}, but this run reads {width} with data.normalize={dm.normalize}: "
            "pre-train with the same data settings"
        )
    try:
        load_encoder(model, checkpoint.state_dict)
    except ValueError as err:
        raise RecoveryCheckpointError(f"{path}: {err}") from err


def recovery_filler(cfg: DictConfig, dm: CsiDataModule) -> CsiBertFiller | None:
    """The CSI-BERT filler of ``recovery_eval.checkpoint`` (None when unset), checked against the data."""
    options = cfg.get("recovery_eval") or {}
    share, bursts = float(options.get("hide_share", 0.2)), mean_bursts(options)
    if not 0.0 < share < 1.0 or min(bursts) < 1.0:
        raise ValueError(
            f"recovery_eval: hide_share must be in (0, 1) and bursts >= 1 frame, got {share}, {bursts}"
        )
    path = options.get("checkpoint")
    if not path:
        return None
    if cfg.task == "pretrain":
        raise ValueError(
            "recovery_eval.checkpoint is for localisation runs; a pre-training run measures itself"
        )
    checkpoint = load_recovery_checkpoint(path)
    filler = CsiBertFiller.from_checkpoint(checkpoint, str(path))
    if filler.n_features != dm.source.amplitude.shape[1]:
        raise RecoveryCheckpointError(
            f"{path}: recovers {filler.n_features} values per frame, "
            f"the data set has {dm.source.amplitude.shape[1]}"
        )
    check_pretrained_on(checkpoint, path, dm)
    return filler


def check_pretrained_on(checkpoint: RecoveryCheckpoint, path: str | Path, dm: CsiDataModule) -> None:
    """Refuse a recovery file pre-trained on another data set, split or fold: its pre-training
    may have seen this run's test rows (unlabelled, but still the held-out CSI)."""
    source = checkpoint.source
    here = {
        "dataset_sha256": dm.dataset_sha256,
        "split": dm.split,
        "fold": dm.fold,
    }
    there = {key: source.get(key) for key in here}
    if dm.split == "paper":  # the fold does not choose anything on the paper split
        here.pop("fold"), there.pop("fold")
    if there != here:
        raise RecoveryCheckpointError(
            f"{path}: pre-trained on {there}, this run uses {here}: its pre-training may have seen this "
            "run's test rows; pre-train on this data set and split"
        )

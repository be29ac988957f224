"""The CSI-BERT recovery file: pre-trained weights plus what is needed to use them on raw CSI.

``python -m lofi.train experiment=csibert_pretrain`` writes it (``csibert_recovery.pt`` in
the run folder); fine-tuning (``model.pretrained=``) and ``lofi csi --fill csibert
--checkpoint`` read it. It is a plain dict of tensors, strings and numbers saved with
``torch.save`` and read back with ``torch.load(weights_only=True)``: loading it runs no
pickled code.

=============== =================================================================
key             meaning
=============== =================================================================
``format``      :data:`FORMAT`
``state_dict``  the whole CSIBert model's weights (encoder, pooling, heads, recovery)
``options``     the model's constructor options (hidden, layers, heads, ... max_len)
``n_features``  values per frame the model reads (52 amplitudes)
``length``      frames per window in pre-training (the fill uses windows of this length)
``normalize``   how amplitudes were standardised: ``window`` or ``global``
``mean``/``std`` per-subcarrier statistics of the training split (``global``), else empty
``source``      provenance: data set hash, git commit, validation loss ...
=============== =================================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from lofi.io.atomic import atomic_open
from lofi.io.weights_only import load_format

FORMAT = "lofi-csibert-recovery/2"  # 2: ``options`` always name ``mask_input``
NORMALIZE = ("window", "global")


class RecoveryCheckpointError(ValueError):
    """A recovery file is missing, unreadable, not a CSI-BERT recovery file, or inconsistent."""


@dataclass
class RecoveryCheckpoint:
    """A pre-trained CSI-BERT and the amplitude standardisation it was trained with."""

    state_dict: dict[str, torch.Tensor]
    options: dict
    n_features: int
    length: int
    normalize: str
    mean: torch.Tensor = field(default_factory=lambda: torch.zeros(0))
    std: torch.Tensor = field(default_factory=lambda: torch.zeros(0))
    source: dict = field(default_factory=dict)

    def check(self, where: str) -> None:
        """Raise :class:`RecoveryCheckpointError` (naming ``where``) if the fields disagree."""
        if self.normalize not in NORMALIZE:
            raise RecoveryCheckpointError(
                f"{where}: normalize {self.normalize!r} is not one of {', '.join(NORMALIZE)}"
            )
        if "mask_input" not in self.options:
            raise RecoveryCheckpointError(f"{where}: options do not say mask_input (how hidden frames enter)")
        if self.n_features < 1 or self.length < 1:
            raise RecoveryCheckpointError(
                f"{where}: n_features and length must be positive, got {self.n_features}, {self.length}"
            )
        if self.normalize == "global":
            shapes = (tuple(self.mean.shape), tuple(self.std.shape))
            if shapes != ((self.n_features,), (self.n_features,)):
                raise RecoveryCheckpointError(
                    f"{where}: normalize=global needs mean and std of {self.n_features} values, got {shapes}"
                )
            if not (torch.isfinite(self.mean).all() and (self.std > 0).all()):
                raise RecoveryCheckpointError(f"{where}: mean must be finite and std positive")


def save_recovery_checkpoint(path: str | Path, checkpoint: RecoveryCheckpoint) -> Path:
    """Write ``checkpoint`` to ``path`` atomically; returns the path."""
    path = Path(path)
    checkpoint.check(str(path))
    payload = {
        "format": FORMAT,
        "state_dict": {k: v.detach().cpu() for k, v in checkpoint.state_dict.items()},
        "options": dict(checkpoint.options),
        "n_features": int(checkpoint.n_features),
        "length": int(checkpoint.length),
        "normalize": checkpoint.normalize,
        "mean": checkpoint.mean.detach().cpu().float(),
        "std": checkpoint.std.detach().cpu().float(),
        "source": dict(checkpoint.source),
    }
    with atomic_open(path, "wb") as handle:
        torch.save(payload, handle)
    return path


def load_recovery_checkpoint(path: str | Path) -> RecoveryCheckpoint:
    """Read a recovery file (``torch.load(weights_only=True)``: no code runs).

    Raises:
        RecoveryCheckpointError: the file is missing or unreadable, is another kind of
            checkpoint (a Lightning ``.ckpt``, another model's weights), or is inconsistent.
    """
    path = Path(path)
    if not path.is_file():
        raise RecoveryCheckpointError(f"{path}: no such CSI-BERT recovery file")
    payload = load_format(
        path,
        FORMAT,
        RecoveryCheckpointError,
        "CSI-BERT recovery file",
        "a Lightning checkpoint or another model's weights cannot fill CSI: use the csibert_recovery.pt "
        "of a `python -m lofi.train experiment=csibert_pretrain` run",
    )

    def field(key: str, kind: type, default: object = None) -> object:
        """``payload[key]`` as ``kind``; a missing or mistyped field is named."""
        if key not in payload and default is None:
            raise RecoveryCheckpointError(f"{path}: recovery file has no field {key!r}")
        value = payload.get(key, default)
        try:
            return kind(value)
        except (TypeError, ValueError, RuntimeError) as err:
            raise RecoveryCheckpointError(
                f"{path}: recovery file field {key!r} is {type(value).__name__}, not {kind.__name__} ({err})"
            ) from err

    checkpoint = RecoveryCheckpoint(
        state_dict=field("state_dict", dict),
        options=field("options", dict),
        n_features=field("n_features", int),
        length=field("length", int),
        normalize=field("normalize", str),
        mean=field("mean", torch.as_tensor),
        std=field("std", torch.as_tensor),
        source=field("source", dict, {}),
    )
    checkpoint.check(str(path))
    return checkpoint

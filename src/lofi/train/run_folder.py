"""A run's folder holds one run: a folder with another run's files is refused unless ``overwrite=true``.

Without this, a run written into an old run folder would leave the other run's
``checkpoints/best.ckpt`` beside its own files and log it to MLflow as its own.
"""

from __future__ import annotations

import shutil
from pathlib import Path

#: What a training or pre-training run writes into its folder (Hydra's own ``.hydra/`` is not ours).
RUN_FILES = (
    "metrics.json",
    "predictions.parquet",
    "config.yaml",
    "error_cdf.png",
    "csibert_recovery.pt",
    "model.pt",
    "checkpoints",
)


class RunFolderError(ValueError):
    """The run folder already holds another run's files."""


def prepare_run_folder(out: Path, overwrite: bool) -> list[str]:
    """Check that ``out`` holds no run's files; with ``overwrite``, remove them. Returns those removed."""
    found = [name for name in RUN_FILES if (out / name).exists()]
    if found and not overwrite:
        raise RunFolderError(
            f"{out}: already holds a run ({', '.join(found)}); name another run folder "
            "(hydra.run.dir=... or run_name=...) or pass overwrite=true to replace it"
        )
    for name in found:
        path = out / name
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    return found

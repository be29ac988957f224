"""A run's folder holds one run: a folder with another run's files is refused unless ``overwrite=true``.

Without this, a run written into an old run folder would leave the other run's
``checkpoints/best.ckpt`` beside its own files and log it to MLflow as its own.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from lofi.io.session_layout import raw_session_of

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
    """The run folder already holds another run's files, or is an input of the run."""


def check_not_an_input(out: Path, reads: tuple[Path, ...]) -> None:
    """Refuse a run folder in a recording or in what the run reads (inputs are read-only)."""
    target = out.resolve()
    session = raw_session_of(target)
    if session is not None:
        raise RunFolderError(
            f"{out}: lies in the raw session folder {session}; a run never writes into a recording"
        )
    for read in reads:
        source = Path(read).resolve()
        if source == target or source in target.parents or (source.is_file() and source.parent == target):
            raise RunFolderError(f"{out}: the run folder would hold or be its input {read}; name another one")


def prepare_run_folder(out: Path, overwrite: bool, reads: tuple[Path, ...] = ()) -> list[str]:
    """Check that ``out`` holds no run's files; with ``overwrite``, remove them. Returns those removed.

    ``out`` may not be a raw session folder (or lie in one), nor be or lie in a folder the run
    reads (``reads``: its data set, pre-trained weights).
    """
    check_not_an_input(out, reads)
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

"""One way to fit a LightningModule: checkpoint and early stopping on validation loss, one test.

Checkpoints are written atomically (:class:`AtomicCheckpointIO`): a full disk or a kill while
saving never leaves a truncated ``checkpoints/best.ckpt``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.plugins import TorchCheckpointIO

from lofi.io.atomic import atomic_open
from lofi.train.progress import EpochLog


@dataclass
class Fitted:
    """What a fit gives back: epochs run, the best validation loss, the test metrics at that checkpoint."""

    epochs: int
    best_val: float
    tested: dict[str, float]


@contextlib.contextmanager
def interrupt_after() -> Iterator[None]:
    """Hold a Ctrl-C (SIGINT) that arrives during the block until it ends, then raise it.

    ``torch.save`` writes its zip archive in C++: a KeyboardInterrupt raised inside it surfaces as
    a RuntimeError ("unexpected pos") with a traceback instead of the clean one-line stop. Only the
    main thread can hold signals, and only Python's own Ctrl-C handler is replaced.
    """
    if threading.current_thread() is not threading.main_thread() or (
        signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield
        return
    held: list[int] = []
    signal.signal(signal.SIGINT, lambda signum, frame: held.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if held:
        raise KeyboardInterrupt


class AtomicCheckpointIO(TorchCheckpointIO):
    """``torch.save`` to a temporary file beside the checkpoint, then a rename over it (Lightning's
    own writes the final path directly, so a full disk leaves a truncated file there). Remote paths
    (``s3://...``) and ``storage_options`` go to Lightning's; an :class:`OSError` names the path."""

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: str | os.PathLike[str], storage_options: Any = None
    ) -> None:
        """Write ``checkpoint`` to ``path`` completely, or leave ``path`` as it was."""
        if storage_options is not None or "://" in str(path):
            super().save_checkpoint(checkpoint, path, storage_options)
            return
        try:
            with interrupt_after(), atomic_open(path, "wb") as handle:
                torch.save(checkpoint, handle)
        except OSError as err:
            message = f"cannot write checkpoint {path}: {err.strerror or str(err) or type(err).__name__}"
            raise (OSError(err.errno, message) if err.errno else OSError(message)) from err


def is_global_zero() -> bool:
    """Whether this process is rank zero of a DDP run, or the only process: the one that writes the
    run folder and logs to MLflow (the others evaluated their share of the windows and stop there)."""
    from pytorch_lightning.utilities.rank_zero import rank_zero_only

    return getattr(rank_zero_only, "rank", 0) == 0


def trainer_settings(cfg: DictConfig) -> dict:
    """``cfg.trainer`` as ``pl.Trainer`` keyword arguments (``threads`` is ours: torch's thread count)."""
    return {k: v for k, v in OmegaConf.to_container(cfg.trainer).items() if k != "threads"}


def fit_and_test(
    cfg: DictConfig,
    module: pl.LightningModule,
    dm: pl.LightningDataModule,
    out: Path,
    logger,
    callbacks: list[pl.Callback] = (),
    trainer: dict | None = None,
) -> Fitted:
    """Fit ``module``, checkpointing on ``cfg.callbacks.monitor`` (early stopping with its patience),
    then test once at the best checkpoint. ``trainer``: Trainer settings (default from ``cfg``)."""
    monitor = str(cfg.callbacks.monitor)
    checkpoint = pl.callbacks.ModelCheckpoint(
        dirpath=out / "checkpoints",
        monitor=monitor,
        mode="min",
        filename="best",
        auto_insert_metric_name=False,
    )
    stopping = pl.callbacks.EarlyStopping(monitor=monitor, mode="min", patience=int(cfg.callbacks.patience))
    if not any(isinstance(c, EpochLog) for c in callbacks):
        callbacks = [*callbacks, EpochLog()]
    runner = pl.Trainer(
        **(trainer_settings(cfg) if trainer is None else trainer),
        callbacks=[checkpoint, stopping, *callbacks],
        plugins=[AtomicCheckpointIO()],
        logger=logger,
        default_root_dir=out,
        enable_model_summary=False,
    )
    if runner.num_devices * runner.num_nodes > 1:
        # Lightning's DDP launch sets torch's threads to cores / processes unless OMP_NUM_THREADS is
        # set; keep trainer.threads (set before this), which the other processes inherit too.
        os.environ.setdefault("OMP_NUM_THREADS", str(torch.get_num_threads()))
    try:
        runner.fit(module, datamodule=dm)
    except SystemExit:  # Lightning turns Ctrl-C into a shutdown and exit(1)
        if runner.interrupted:
            raise KeyboardInterrupt from None
        raise
    if runner.interrupted:  # an interrupted fit is no run to test or report
        raise KeyboardInterrupt
    results = runner.test(
        module, datamodule=dm, ckpt_path="best" if checkpoint.best_model_path else None, verbose=False
    )
    best = checkpoint.best_model_score
    return Fitted(
        epochs=int(runner.fit_loop.epoch_progress.current.completed),
        best_val=float(best) if best is not None else float("nan"),
        tested={k: float(v) for k, v in (results[0] if results else {}).items()},
    )

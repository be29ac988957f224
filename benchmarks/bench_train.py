"""Training throughput: forward + backward samples/s per model at batch 64, through the DataModule.

Set-up (not timed): a CSI-only synthetic data set (7 sessions x 60 s, labels from the
simulator's truth). Timed per model: ``steps`` optimiser steps on batches drawn by the real
training DataLoader, split into the time spent waiting for the next batch and the time in
forward + backward + step. Target: waiting for data < 10 % of the step time.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ingest import make_session

from lofi.csi.complete import CompletionOptions
from lofi.data.datamodule import CsiDataModule
from lofi.models import INPUT_VIEW, MODELS, build_model, count_parameters, multitask_loss
from lofi.stages.align import run_align
from lofi.stages.csi import run_csi
from lofi.stages.dataset import SessionInputs, build_dataset

WAIT_TARGET = 0.10


def make_dataset(root: Path, sessions: int, seconds: float) -> Path:
    """A small processed data set of CSI-only synthetic sessions (labels from truth)."""
    folders = []
    for k in range(sessions):
        folder = root / f"S{k + 1}"
        make_session((f"S{k + 1}", seconds, str(folder)))
        run_csi(folder, CompletionOptions(), folder / "csi.parquet")
        run_align(folder, folder / "csi.parquet", folder / "positions.parquet", folder / "aligned.parquet")
        folders.append(folder)
    build_dataset("bench", [SessionInputs.from_folder(f) for f in folders], root / "bench")
    return root / "bench"


def time_model(name: str, data: Path, steps: int, batch: int) -> tuple[float, float, int]:
    """Samples/s of training steps and the share of time spent waiting for batches."""
    dm = CsiDataModule(
        data, view=INPUT_VIEW[name], batch_size=batch, train_windows_per_epoch=batch * (steps + 1)
    )
    dm.setup()
    model = build_model(name)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    batches = iter(dm.train_dataloader())
    next(batches)  # the first batch pays for worker start-up and lazy imports
    waiting = computing = 0.0
    for _ in range(steps):
        start = time.perf_counter()
        batch_data = next(batches)
        ready = time.perf_counter()
        loss, _ = multitask_loss(model(batch_data["x"]), batch_data, "multitask")
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        waiting, computing = waiting + ready - start, computing + time.perf_counter() - ready
    return steps * batch / (waiting + computing), waiting / (waiting + computing), count_parameters(model)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30, help="timed steps per model (default: 30)")
    parser.add_argument("--batch", type=int, default=64, help="batch size (default: 64)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default: 2)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        data = make_dataset(Path(tmp), sessions=7, seconds=60.0)
        print(
            f"training throughput, batch {args.batch}, {args.threads} CPU threads, {args.steps} steps each:"
        )
        for name in (m for m in MODELS if build_model(m).trainable):
            rate, wait, params = time_model(name, data, args.steps, args.batch)
            verdict = "meets" if wait < WAIT_TARGET else "MISSES"
            print(
                f"  {name:9s} {params:>10,} params  {rate:8.0f} samples/s  "
                f"waiting for data {100 * wait:4.1f} % ({verdict} the {100 * WAIT_TARGET:.0f} % target)"
            )


if __name__ == "__main__":
    main()

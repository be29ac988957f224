"""Model tests run on 2 CPU threads with a fixed seed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True)
def _two_threads_and_a_seed() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(min(threads, 2))
    torch.manual_seed(0)
    yield
    torch.set_num_threads(threads)


def random_input(view: str, batch: int = 4, channels: int = 1, frames: int = 100) -> torch.Tensor:
    """A random batch of the view a model reads: (B, C, 52, 52) or (B, T, 52 C)."""
    if view == "correlation":
        m = torch.rand(batch, channels, frames, 52)
        return m.transpose(-1, -2) @ m
    return torch.randn(batch, frames, 52 * channels)

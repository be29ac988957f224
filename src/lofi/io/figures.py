"""Saving matplotlib figures as PNG atomically (the figure is rendered in memory first)."""

from __future__ import annotations

import io
from pathlib import Path

from lofi.io.atomic import atomic_open


def save_png(fig, path: str | Path) -> Path:
    """Write ``fig`` to ``path`` (PNG, tight bounding box) atomically and close it; returns the path."""
    import matplotlib.pyplot as plt

    path = Path(path)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path, "wb") as handle:
        handle.write(buffer.getvalue())
    plt.close(fig)
    return path

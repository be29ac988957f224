"""Table II metrics on test windows: Euclidean error (m) and region accuracy, both protocols.

The honest protocol scores every test window once, at the checkpoint chosen on validation.
The reference code's protocol (``paper_protocol``) is kept only to compare with the paper:
its "std" is the mean over batches of each batch's std, and its numbers are the best test
values over epochs. Both are labelled in the outputs.
"""

from __future__ import annotations

import numpy as np

from lofi.io.constants import REGION_COUNTS as REGIONS  # noqa: F401  (the grids scored: acc2/4/6)


def euclidean_errors(predicted_xy: np.ndarray, target_xy: np.ndarray) -> np.ndarray:
    """Per-window floor distance (m) between predictions and targets (N x 2 each); NaN targets give NaN."""
    predicted, target = np.asarray(predicted_xy, np.float64), np.asarray(target_xy, np.float64)
    if predicted.shape != target.shape or predicted.ndim != 2 or predicted.shape[1] != 2:
        raise ValueError(f"predictions {predicted.shape} and targets {target.shape} must both be N x 2")
    return np.hypot(*(predicted - target).T)


def error_summary(errors: np.ndarray, prefix: str = "err") -> dict[str, float]:
    """Mean, std (over windows), median and 90th percentile of the finite errors (m)."""
    finite = np.asarray(errors, np.float64)
    finite = finite[np.isfinite(finite)]
    if not len(finite):
        return {f"{prefix}_{k}": float("nan") for k in ("mean", "std", "median", "p90")}
    return {
        f"{prefix}_mean": float(finite.mean()),
        f"{prefix}_std": float(finite.std()),
        f"{prefix}_median": float(np.median(finite)),
        f"{prefix}_p90": float(np.percentile(finite, 90)),
    }


def batch_mean_std(errors: np.ndarray, batch_size: int) -> float:
    """The reference code's "std": the mean over consecutive batches of each batch's std (m)."""
    errors = np.asarray(errors, np.float64)
    stds = [errors[k : k + batch_size].std() for k in range(0, len(errors), batch_size)]
    return float(np.mean(stds)) if stds else float("nan")


def region_accuracy(predicted: np.ndarray, target: np.ndarray) -> float:
    """Share of windows whose predicted region index equals the true one (0..1)."""
    predicted, target = np.asarray(predicted), np.asarray(target)
    if predicted.shape != target.shape:
        raise ValueError(f"predicted {predicted.shape} and true regions {target.shape} differ in shape")
    return float((predicted == target).mean()) if len(target) else float("nan")

"""Filling lost CSI frames with a pre-trained CSI-BERT (the ``csibert`` fill of ``lofi csi``).

The completed CSI of a session is cut, per segment, into windows of the pre-training
length, half a window apart. Each row to fill takes its value from the window whose
centre is nearest, so it is recovered with context on both sides. In each window every
row that was not received (lost or outage) is hidden behind the mask token and never
read; the recovery head predicts the amplitude of those rows from the received ones.
Amplitudes are standardised as in pre-training (``global``: the training split's
per-subcarrier mean and std; ``window``: the received rows of each window) and
de-standardised afterwards.
"""

from __future__ import annotations

import itertools

import numpy as np
import torch

from lofi.csi.fill import FillResult
from lofi.io.recovery_checkpoint import RecoveryCheckpoint, RecoveryCheckpointError
from lofi.models.csibert import CSIBert, standardize_visible

#: Windows per forward pass.
BATCH = 256
#: A window needs this many received rows to be recovered (and to standardise itself).
MIN_RECEIVED = 2


class CsiBertFiller:
    """Recover the amplitude of lost frames with a pre-trained :class:`CSIBert`.

    Args:
        model: the pre-trained model (its recovery head is used).
        length: frames per window (the pre-training window length).
        normalize: ``global`` or ``window`` (see the module docstring).
        mean, std: per-subcarrier statistics for ``global`` (amplitude units).
    """

    def __init__(
        self,
        model: CSIBert,
        length: int,
        normalize: str,
        mean: np.ndarray | None = None,
        std: np.ndarray | None = None,
    ) -> None:
        self.model = model.eval()
        self.length, self.normalize = int(length), normalize
        self.mean = None if mean is None else np.asarray(mean, dtype=np.float32)
        self.std = None if std is None else np.asarray(std, dtype=np.float32)

    @classmethod
    def from_checkpoint(cls, checkpoint: RecoveryCheckpoint, where: str = "checkpoint") -> CsiBertFiller:
        """The filler of a recovery file; a weight set that does not fit the model is an error."""
        try:
            model = CSIBert(n_features=checkpoint.n_features, **checkpoint.options)
            model.load_state_dict(checkpoint.state_dict)
        except (TypeError, RuntimeError, ValueError) as err:
            first = str(err).strip().splitlines()[0]
            raise RecoveryCheckpointError(
                f"{where}: weights do not fit a CSI-BERT of its options ({first})"
            ) from err
        if checkpoint.length > model.encoder.max_len:
            raise RecoveryCheckpointError(
                f"{where}: window length {checkpoint.length} exceeds the model's "
                f"max_len {model.encoder.max_len}"
            )
        stats = (
            (checkpoint.mean.numpy(), checkpoint.std.numpy())
            if checkpoint.normalize == "global"
            else (None, None)
        )
        return cls(model, checkpoint.length, checkpoint.normalize, *stats)

    @property
    def n_features(self) -> int:
        """Values per frame the model reads."""
        return self.model.encoder.n_features

    def fill(
        self, amplitude: np.ndarray, fill: np.ndarray, received: np.ndarray, runs: np.ndarray
    ) -> FillResult:
        """``amplitude`` (rows x S) with the rows ``fill`` recovered by CSI-BERT.

        Args:
            amplitude: rows x S amplitudes; rows to fill hold a fallback (e.g. linear) value.
            fill: rows to recover; received: rows measured; runs: run id per row (segments:
                a window never spans two).
        """
        amplitude = np.asarray(amplitude, dtype=np.float32)
        if amplitude.ndim != 2 or amplitude.shape[1] != self.n_features:
            raise ValueError(
                f"CSI-BERT fill needs rows x {self.n_features} amplitudes, got {amplitude.shape}"
            )
        out = amplitude.copy()
        fallback = 0
        for rows in run_blocks(np.asarray(runs)):
            if fill[rows].any():
                fallback += self._fill_block(out, rows, fill[rows], received[rows])
        return FillResult(out, fallback)

    def _fill_block(self, out: np.ndarray, rows: slice, fill: np.ndarray, received: np.ndarray) -> int:
        """Fill one run's rows of ``out`` in place; returns the rows left at their fallback."""
        block = out[rows]
        length = min(self.length, len(block))
        starts = window_starts(len(block), length)
        targets = np.flatnonzero(fill)
        chosen = nearest_window(targets, starts, length)
        used = np.unique(chosen)
        index = starts[used][:, None] + np.arange(length)
        windows, hidden = block[index], ~received[index]
        x, ok, scale, shift = self._standardize(windows, hidden)
        recovered = self._recover(x, hidden) * scale + shift
        where = np.searchsorted(used, chosen)
        offset = targets - starts[chosen]
        good = ok[where]
        block[targets[good]] = recovered[where[good], offset[good]]
        return int((~good).sum())

    def _standardize(self, windows: np.ndarray, hidden: np.ndarray):
        """Standardised windows (hidden rows zeroed), usable windows, and the inverse scale and shift.

        ``window``: each window by its visible rows (:func:`standardize_visible`, as in
        pre-training); ``global``: by the training split's statistics.
        """
        if self.normalize == "global":
            x = np.where(hidden[..., None], 0.0, (windows - self.mean) / self.std).astype(np.float32)
            return x, (~hidden).sum(axis=1) >= MIN_RECEIVED, self.std, self.mean
        z, shift, scale, count = standardize_visible(torch.from_numpy(windows), torch.from_numpy(~hidden))
        return z.numpy(), count.numpy() >= MIN_RECEIVED, scale.numpy(), shift.numpy()

    def _recover(self, x: np.ndarray, hidden: np.ndarray) -> np.ndarray:
        """Recovery head output (W, length, S) for standardised windows, hidden frames unseen."""
        parts = []
        with torch.no_grad():
            for lo in range(0, len(x), BATCH):
                batch = torch.from_numpy(x[lo : lo + BATCH])
                mask = torch.from_numpy(hidden[lo : lo + BATCH])
                parts.append(self.model.recover(batch, mask).float().numpy())
        return np.concatenate(parts) if parts else np.zeros((0, *x.shape[1:]), np.float32)


def window_starts(n: int, length: int) -> np.ndarray:
    """Starts of windows of ``length`` rows, half a window apart, the last one ending at row ``n``."""
    step = max(1, length // 2)
    starts = np.arange(0, n - length + 1, step)
    if starts[-1] != n - length:
        starts = np.append(starts, n - length)
    return starts


def nearest_window(rows: np.ndarray, starts: np.ndarray, length: int) -> np.ndarray:
    """For each row, the index into ``starts`` of the window whose centre is nearest (it holds the row)."""
    centres = starts + (length - 1) / 2
    after = (
        np.clip(np.searchsorted(centres, rows), 1, len(starts) - 1)
        if len(starts) > 1
        else np.zeros_like(rows)
    )
    before = np.maximum(after - 1, 0)
    pick = np.where(np.abs(centres[before] - rows) <= np.abs(centres[after] - rows), before, after)
    return pick.astype(np.int64)


def run_blocks(runs: np.ndarray) -> list[slice]:
    """Slices of consecutive rows with the same run id."""
    edges = np.flatnonzero(np.diff(runs) != 0) + 1
    bounds = np.concatenate([[0], edges, [len(runs)]])
    return [slice(int(a), int(b)) for a, b in itertools.pairwise(bounds)]

"""The training data: windows of a processed data set as a torch ``Dataset`` and a Lightning DataModule.

:class:`CsiDataModule` loads ``data/processed/<name>/`` once (through
:func:`lofi.io.dataset_store.load_dataset`) into contiguous arrays, splits its rows
(:mod:`lofi.data.splits`), finds the windows (:mod:`lofi.data.windows`) and serves them
as :class:`WindowDataset` items. Training draws ``train_windows_per_epoch`` random
windows per epoch from a generator seeded with ``(seed, epoch)``; validation and test use
fixed windows every ``eval_stride`` rows.

A batch is a dict:

=========== ======== ================================================================
key         dtype    shape and meaning
=========== ======== ================================================================
``x``       float32  (B, length, F) series or (B, C, 52, 52) correlation
                     (see :mod:`lofi.data.features`; :attr:`CsiDataModule.input_shape`)
``xy``      float32  (B, 2) window label (m, region frame)
``region2`` int64    (B,) region of the label, 2-region grid (:mod:`lofi.data.regions`)
``region4`` int64    (B,) 4-region grid
``region6`` int64    (B,) 6-region grid
``xy_true`` float32  (B, 2) true position by the same rule as the label (NaN: no truth)
``session`` int64    (B,) index into :attr:`CsiDataModule.session_names`
``start``   int64    (B,) data-set row of the window's first row
``received`` bool    (B, length) rows measured (False: a lost packet the csi stage filled)
=========== ======== ================================================================
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from lofi.data.features import (
    NORMALIZE,
    VIEWS,
    FeatureSpec,
    channel_stats,
    check_choice,
    check_extra,
    needed_stats,
)
from lofi.data.regions import DEFAULT_REGION_M, GRIDS, check_region, region_index
from lofi.data.splits import SPLITS, SplitWindows, make_split, session_points, split_windows
from lofi.data.windows import LABELS, WINDOW_FRAMES, run_ids, window_labels
from lofi.io.constants import PARTS
from lofi.io.dataset_store import (
    FRAMES_FILE,
    MANIFEST_FILE,
    DatasetError,
    dataset_sha256,
    load_dataset,
    session_ranges,
)
from lofi.io.dataset_store import Dataset as StoredDataset

#: ``label_source``: the vision labels (the paper's) or the true positions (synthetic data only).
LABEL_SOURCES = ("labels", "truth")
#: How far (in region sizes) beyond each side of the floor region a label-valid position may lie:
#: 1 allows x in [-w, 2w] and y in [-d, 2d]. A label further out is a unit slip (mm) or an overflow.
LABEL_MARGIN_REGIONS = 1.0


@dataclass(frozen=True)
class WindowSource:
    """The data set's per-row arrays, loaded once: CSI (rows x 52), RSSI, labels, truth, session.

    ``amplitude`` and ``phase`` are float32 (rows x 52), ``rssi`` float32 (rows,) in dBm,
    ``xy`` and ``xy_true`` float64 (rows x 2) in m, ``session`` int64 (rows,), ``received``
    bool (rows,): the packet was measured, not filled.
    """

    amplitude: np.ndarray
    phase: np.ndarray
    rssi: np.ndarray
    xy: np.ndarray
    xy_true: np.ndarray
    session: np.ndarray
    received: np.ndarray

    @classmethod
    def from_dataset(cls, data: StoredDataset, session: np.ndarray) -> WindowSource:
        """Contiguous, writable copies of the arrays of a loaded data set."""
        frames = data.frames

        def column(name: str) -> np.ndarray:
            return frames[name].to_numpy(np.float64)

        return cls(
            amplitude=np.require(data.amplitude, np.float32, ["C", "W"]),
            phase=np.require(data.phase, np.float32, ["C", "W"]),
            rssi=np.require(frames["rssi"].to_numpy(np.float32), np.float32, ["C", "W"]),
            xy=np.stack([column("x_m"), column("y_m")], axis=1),
            xy_true=np.stack([column("x_true"), column("y_true")], axis=1),
            session=np.asarray(session, dtype=np.int64),
            received=~frames["lost"].to_numpy(bool),
        )


def window_targets(
    source: WindowSource, starts: np.ndarray, length: int, label: str, region_m: tuple[float, float]
) -> dict[str, np.ndarray]:
    """Per window: label ``xy`` and ``xy_true`` (float32, m), regions (int64), ``session``, ``start``."""
    xy = window_labels(source.xy[:, 0], source.xy[:, 1], starts, length, label)
    truth = window_labels(source.xy_true[:, 0], source.xy_true[:, 1], starts, length, label)
    targets = {"xy": xy.astype(np.float32), "xy_true": truth.astype(np.float32)}
    for n in GRIDS:
        targets[f"region{n}"] = region_index(xy, region_m, n)
    targets["session"] = source.session[starts]
    targets["start"] = np.asarray(starts, dtype=np.int64)
    return targets


class WindowDataset(Dataset):
    """Windows of ``length`` rows starting at ``starts``, sliced from the source's arrays.

    Item ``i`` is a dict of tensors (see the module docstring, without the batch axis).
    Labels, regions and truth are computed once for all windows (:attr:`targets`).
    """

    def __init__(
        self,
        source: WindowSource,
        starts: np.ndarray,
        length: int,
        features: FeatureSpec,
        label: str = "mean",
        region_m: tuple[float, float] = DEFAULT_REGION_M,
    ) -> None:
        self.source, self.length, self.features = source, int(length), features
        self.starts = np.asarray(starts, dtype=np.int64)
        self.targets = window_targets(source, self.starts, self.length, label, region_m)

    def __len__(self) -> int:
        return len(self.starts)

    def batch_inputs(self, indices: np.ndarray) -> np.ndarray:
        """Model inputs of the windows ``indices`` (float32, (B, *shape)), built in one go.

        The rows of every window are gathered with one fancy index (a copy, never a view of
        the source) and the features computed on the whole (B, length, 52) block.
        """
        rows = self.starts[np.asarray(indices, dtype=np.int64)][:, None] + np.arange(self.length)
        extra = self.features.extra
        phase = self.source.phase[rows] if "phase" in extra else None
        rssi = self.source.rssi[rows] if "rssi" in extra else None
        x = self.features(self.source.amplitude[rows], phase, rssi)
        return np.require(x, np.float32, ["C", "W"])

    def batch(self, indices: Sequence[int] | np.ndarray) -> dict[str, torch.Tensor]:
        """The windows ``indices`` as one batch (the dict of the module docstring)."""
        indices = np.asarray(indices, dtype=np.int64)
        batch = {"x": torch.from_numpy(self.batch_inputs(indices))}
        for key, values in self.targets.items():
            batch[key] = torch.from_numpy(np.ascontiguousarray(values[indices]))
        rows = self.starts[indices][:, None] + np.arange(self.length)
        batch["received"] = torch.from_numpy(self.source.received[rows])
        return batch

    def __getitems__(self, indices: list[int]) -> dict[str, torch.Tensor]:
        """A whole batch at once (the DataLoader calls this; see :func:`collate_windows`)."""
        return self.batch(indices)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {key: value[0] for key, value in self.batch([i]).items()}


def collate_windows(batch: dict[str, torch.Tensor] | list) -> dict[str, torch.Tensor]:
    """DataLoader ``collate_fn``: a batch from :meth:`WindowDataset.__getitems__` is already whole;
    a list of items (another dataset's) goes through torch's default collation."""
    if isinstance(batch, dict):
        return batch
    return torch.utils.data.default_collate(batch)


class EpochSampler(Sampler[int]):
    """``draws`` random indices of ``range(n)`` per epoch, reproducible from ``seed``.

    Epoch ``e`` draws from ``numpy.random.default_rng([seed, e])``, without replacement
    (with replacement if ``draws > n``). Lightning calls :meth:`set_epoch` before each
    epoch; without it, each pass over the sampler moves on to the next epoch.
    """

    def __init__(self, n: int, draws: int, seed: int = 0) -> None:
        if n < 1 or draws < 1:
            raise ValueError(f"EpochSampler needs n >= 1 and draws >= 1, got n={n}, draws={draws}")
        self.n, self.draws, self.seed, self.epoch = int(n), int(draws), int(seed), 0

    def set_epoch(self, epoch: int) -> None:
        """Draw the windows of ``epoch`` on the next pass."""
        self.epoch = int(epoch)

    def indices(self, epoch: int) -> np.ndarray:
        """The indices of ``epoch`` (int64)."""
        rng = np.random.default_rng([self.seed, epoch])
        return rng.choice(self.n, self.draws, replace=self.draws > self.n).astype(np.int64)

    def __len__(self) -> int:
        return self.draws

    def __iter__(self) -> Iterator[int]:
        indices = self.indices(self.epoch)
        self.epoch += 1
        return iter(indices.tolist())


def _positive(name: str, value: int) -> int:
    if int(value) != value or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _session_codes(data: StoredDataset, folder: Path) -> tuple[list[str], list[tuple[int, int]], list[str]]:
    """Session names, row ranges and subjects from the manifest (:func:`load_dataset` checked that
    the ranges tile the rows and match the table's ``session`` column)."""
    ranges = session_ranges(data.manifest, folder / MANIFEST_FILE)
    return [r[0] for r in ranges], [(r[2], r[3]) for r in ranges], [r[1] for r in ranges]


def label_bounds(region_m: tuple[float, float]) -> np.ndarray:
    """Plausible label range (2 x 2: [[x_lo, x_hi], [y_lo, y_hi]], m) of a floor region (w, d) in m:
    the region widened by :data:`LABEL_MARGIN_REGIONS` region sizes on each side."""
    size = np.asarray(region_m, dtype=np.float64)
    return np.stack([-LABEL_MARGIN_REGIONS * size, (1.0 + LABEL_MARGIN_REGIONS) * size], axis=1)


def check_labels(
    xy: np.ndarray,
    valid: np.ndarray,
    region_m: tuple[float, float],
    names: list[str],
    bounds: list,
    folder: Path,
) -> None:
    """Every label-valid row's ``x_m, y_m`` (m) finite and within :func:`label_bounds`, or a
    DatasetError naming the session, the row and the value."""
    limits = label_bounds(region_m)
    for axis, column in enumerate(("x_m", "y_m")):
        lo, hi = limits[axis]
        values = xy[:, axis]
        bad = np.flatnonzero(valid & ~((values >= lo) & (values <= hi)))  # NaN and inf fail the test
        if len(bad):
            row = int(bad[0])
            k = next(i for i, (a, b) in enumerate(bounds) if a <= row < b)
            raise DatasetError(
                f"{folder / FRAMES_FILE}: session {names[k]!r} row {row} (row {row - bounds[k][0]} "
                f"of the session): label-valid {column} = {float(values[row])!r} is not a position in the "
                f"{region_m[0]:g} x {region_m[1]:g} m region (allowed {lo:g} .. {hi:g} m, "
                f"{LABEL_MARGIN_REGIONS:g} region size beyond each side): mm instead of m? (another "
                "floor: region_m in the manifest or +data.region_m=[w,d])"
            )


class CsiDataModule(pl.LightningDataModule):
    """Windows of a processed data set for training, validation and test (see the module docstring).

    Args:
        data_dir: ``data/processed/<name>/`` (manifest.json + frames.parquet).
        length: rows per window (100 = 1 s at 100 Hz).
        label: window label, ``mean``, ``last`` or ``center`` (:func:`lofi.data.windows.window_labels`).
        split: ``paper``, ``cross_subject`` or ``cross_point``; ``fold``: the held-out subject
            (cross_subject) or surveyed point (cross_point; the manifest's ``position_m``).
        view: ``series`` or ``correlation``; ``normalize``: ``window``, ``global`` or ``none``;
            ``extra``: extra channels (``phase``, ``rssi``) — see :mod:`lofi.data.features`.
        batch_size: windows per batch.
        train_windows_per_epoch: random training windows drawn per epoch.
        eval_stride: rows between validation/test windows (default ``length``: no overlap).
        num_workers: DataLoader worker processes.
        region_m: floor region (w, d) in m for the region grids; default the manifest's
            ``region_m`` if it has one, else 1.8 x 4.8 m.
        seed: seed of the training draws.
        label_source: what training and validation windows learn from: ``labels`` (the vision
            labels, the paper's) or ``truth`` (the true positions of a synthetic data set, to
            measure what the labels cost); test windows are scored the same way for both.
    """

    def __init__(
        self,
        data_dir: str | Path,
        length: int = WINDOW_FRAMES,
        label: str = "mean",
        split: str = "paper",
        fold: int = 0,
        view: str = "series",
        normalize: str = "window",
        extra: Sequence[str] = (),
        batch_size: int = 64,
        train_windows_per_epoch: int = 2000,
        eval_stride: int | None = None,
        num_workers: int = 0,
        region_m: Sequence[float] | None = None,
        seed: int = 0,
        label_source: str = "labels",
    ) -> None:
        super().__init__()
        self.data_dir = Path(data_dir)
        self.length = _positive("length", length)
        self.label = check_choice("label", label, LABELS)
        self.split = check_choice("split", split, SPLITS)
        self.fold = int(fold)
        self.view = check_choice("view", view, VIEWS)
        self.normalize = check_choice("normalize", normalize, NORMALIZE)
        self.label_source = check_choice("label_source", label_source, LABEL_SOURCES)
        self.extra = check_extra(tuple(extra))
        self.batch_size = _positive("batch_size", batch_size)
        self.train_windows_per_epoch = _positive("train_windows_per_epoch", train_windows_per_epoch)
        self.eval_stride = _positive("eval_stride", self.length if eval_stride is None else eval_stride)
        if int(num_workers) != num_workers or num_workers < 0:
            raise ValueError(f"num_workers must be an integer >= 0, got {num_workers!r}")
        self.num_workers, self.seed = int(num_workers), int(seed)
        self._region_m = None if region_m is None else check_region(tuple(region_m))
        self.session_names: list[str] = []
        self.windows: SplitWindows | None = None
        self.features: FeatureSpec | None = None
        self.datasets: dict[str, WindowDataset] = {}
        self._width = 52
        self._source: WindowSource | None = None
        self._valid = self._runs = np.zeros(0)
        self._sha256: str | None = None
        self.save_hyperparameters(logger=False)

    @property
    def region_m(self) -> tuple[float, float]:
        """Floor region (w, d) in m used for the region grids."""
        return self._region_m or DEFAULT_REGION_M

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one window's ``x`` (no batch axis)."""
        if self.features is not None:
            return self.features.shape(self.length, self._width)
        return FeatureSpec(self.view, "none", self.extra).shape(self.length, self._width)

    @property
    def num_windows(self) -> dict[str, int]:
        """Windows per split: training candidates (every usable start), fixed val and test windows."""
        return {part: len(self.datasets[part]) if part in self.datasets else 0 for part in PARTS}

    @property
    def dataset_sha256(self) -> str:
        """The data set's identity: 16 hex digits over ``manifest.json`` and ``frames.parquet``
        (:func:`lofi.io.dataset_store.dataset_sha256`), hashed once."""
        if self._sha256 is None:
            self._sha256 = dataset_sha256(self.data_dir)
        return self._sha256

    @property
    def source(self) -> WindowSource:
        """The loaded per-row arrays (after :meth:`setup`)."""
        self.setup()
        return self._source

    @property
    def runs(self) -> np.ndarray:
        """Run id per row (int64): a session's segment; no window spans two runs."""
        self.setup()
        return self._runs

    def part_rows(self, part: str) -> np.ndarray:
        """Boolean mask of the rows of ``part`` (train, val or test)."""
        self.setup()
        return self.windows.part_rows(check_choice("part", part, PARTS))

    def windows_of(self, source: WindowSource, part: str) -> WindowDataset:
        """The fixed windows of ``part`` read from another ``source`` with the same rows
        (e.g. the CSI with frames hidden and re-filled)."""
        self.setup()
        if len(source.amplitude) != len(self._source.amplitude):
            raise ValueError(
                f"source has {len(source.amplitude)} rows, the data set {len(self._source.amplitude)}"
            )
        return self._windows(source, self.datasets[part].starts)

    def setup(self, stage: str | None = None) -> None:
        """Load the data set, split it and build the three window sets (once; later calls do nothing)."""
        if self.datasets:
            return
        data = self._load()
        names, bounds, subjects = _session_codes(data, self.data_dir)
        session = np.repeat(np.arange(len(names), dtype=np.int64), [b - a for a, b in bounds])
        valid = data.frames["label_valid"].to_numpy(bool)
        source = WindowSource.from_dataset(data, session)
        if self._region_m is None and data.manifest.get("region_m") is not None:
            self._region_m = check_region(tuple(data.manifest["region_m"]))
        if not valid.any():
            raise DatasetError(
                f"{self.data_dir}: none of its {len(valid):,} rows is labelled (label_valid is false "
                "everywhere): nothing to train or test on; see the manifest's unlabelled_by_reason"
            )
        check_labels(source.xy, valid, self.region_m, names, bounds, self.data_dir)
        self._check_finite(source, valid)
        runs = run_ids(session, data.frames["segment"].to_numpy())
        strides = {"train": 1, "val": self.eval_stride, "test": self.eval_stride}
        try:
            points = session_points(data.manifest)
            windows = make_split(
                bounds, subjects, valid, runs, self.length, self.split, self.fold, strides, points=points
            )
        except ValueError as err:
            raise ValueError(f"{self.data_dir}: {err}") from err
        train_rows = windows.part_rows("train") & valid
        self.features = FeatureSpec(self.view, self.normalize, self.extra, self._stats(source, train_rows))
        self.session_names, self.windows, self._width = names, windows, source.amplitude.shape[1]
        self._source, self._valid, self._runs = source, valid, runs
        self._fit_source = self._learning_source(source, windows, valid)
        self.datasets = {part: self._windows(self._part_source(part), windows.starts[part]) for part in PARTS}

    def _learning_source(
        self, source: WindowSource, windows: SplitWindows, valid: np.ndarray
    ) -> WindowSource:
        """What training and validation learn from: the labels, or (``label_source=truth``) the truth."""
        if self.label_source == "labels":
            return source
        rows = (windows.part_rows("train") | windows.part_rows("val")) & valid
        missing = int((~np.isfinite(source.xy_true[rows]).all(axis=1)).sum())
        if missing:
            raise DatasetError(
                f"{self.data_dir}: label_source=truth, but {missing} training/validation row(s) have no true "
                "position (x_true, y_true): only synthetic sessions carry the truth"
            )
        return replace(source, xy=source.xy_true)

    def _part_source(self, part: str) -> WindowSource:
        return self._source if part == "test" else self._fit_source

    def _windows(self, source: WindowSource, starts: np.ndarray) -> WindowDataset:
        return WindowDataset(source, starts, self.length, self.features, self.label, self.region_m)

    def strided_dataset(self, part: str, stride: int | None = None) -> WindowDataset:
        """The windows of ``part`` every ``stride`` rows (default ``length``: non-overlapping).

        For fitting baselines on the training split without stacking every usable window
        (``datasets["train"]`` holds every start, stride 1, for the random draws).
        """
        self.setup()
        check_choice("part", part, PARTS)
        stride = _positive("stride", self.length if stride is None else stride)
        strides = dict.fromkeys(PARTS, stride)
        starts = split_windows(self.windows.parts, self._valid, self._runs, self.length, strides)[part]
        return self._windows(self._part_source(part), starts)

    def _load(self) -> StoredDataset:
        if not self.data_dir.is_dir():
            raise DatasetError(f"{self.data_dir}: no such data set folder (build it with `lofi dataset`)")
        return load_dataset(self.data_dir)

    def _check_finite(self, source: WindowSource, valid: np.ndarray) -> None:
        """Label-valid rows must have CSI (and the extra inputs): windows hold only such rows."""
        arrays = {"amplitude": source.amplitude, "phase": source.phase, "rssi": source.rssi}
        for name in ("amplitude", *self.extra):
            values = arrays[name][valid]
            bad = ~np.isfinite(values.reshape(len(values), -1)).all(axis=1)
            if bad.any():
                raise DatasetError(
                    f"{self.data_dir}: {int(bad.sum())} label-valid row(s) have NaN {name} "
                    "(an unlabelled row should say csi_missing); rebuild the data set"
                )

    def _stats(self, source: WindowSource, rows: np.ndarray) -> dict:
        """Training-split statistics of each input (only where the features need them)."""
        arrays = {"amplitude": source.amplitude, "phase": source.phase, "rssi": source.rssi}
        wanted = needed_stats(self.view, self.normalize, self.extra)
        return {name: channel_stats(arrays[name][rows]) for name in wanted}

    def _loader(self, part: str, sampler: Sampler | None = None) -> DataLoader:
        return DataLoader(
            self.datasets[part],
            batch_size=self.batch_size,
            sampler=sampler,
            shuffle=False,
            collate_fn=collate_windows,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )

    def train_sampler(self) -> EpochSampler:
        """A fresh sampler of the training draws (epoch 0 first)."""
        return EpochSampler(len(self.datasets["train"]), self.train_windows_per_epoch, self.seed)

    def train_dataloader(self) -> DataLoader:
        """``train_windows_per_epoch`` random training windows per epoch (see :class:`EpochSampler`)."""
        self.setup()
        return self._loader("train", self.train_sampler())

    def val_dataloader(self) -> DataLoader:
        """The fixed validation windows, in row order."""
        self.setup()
        return self._loader("val")

    def test_dataloader(self) -> DataLoader:
        """The fixed test windows, in row order."""
        self.setup()
        return self._loader("test")

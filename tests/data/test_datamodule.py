"""The DataModule on a tiny synthetic data set: batches, draws, fixed evaluation windows, truth, errors."""

from __future__ import annotations

import shutil

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from lofi.data.datamodule import CsiDataModule, EpochSampler
from lofi.data.regions import region_index
from lofi.io.dataset_store import DatasetError, load_dataset

KEYS = {"x", "xy", "region2", "region4", "region6", "xy_true", "session", "start", "received"}


def _module(folder, **options) -> CsiDataModule:
    dm = CsiDataModule(folder, **{"train_windows_per_epoch": 200, **options})
    dm.setup()
    return dm


def _starts(loader) -> list[int]:
    return [s for batch in loader for s in batch["start"].tolist()]


@pytest.mark.parametrize(
    ("view", "extra", "shape"),
    [
        ("series", (), (100, 52)),
        ("series", ("phase", "rssi"), (100, 156)),
        ("correlation", (), (1, 52, 52)),
        ("correlation", ("phase",), (2, 52, 52)),
    ],
)
def test_batches_have_the_documented_shapes_and_dtypes(synthetic_set, view, extra, shape):
    dm = _module(synthetic_set, view=view, extra=extra, batch_size=16)
    assert dm.input_shape == shape and dm.session_names == ["t_S1", "t_S3"] and dm.region_m == (1.8, 4.8)
    batch = next(iter(dm.train_dataloader()))
    assert set(batch) == KEYS and batch["x"].shape == (16, *shape) and batch["x"].dtype == torch.float32
    assert batch["xy"].shape == batch["xy_true"].shape == (16, 2) and batch["xy"].dtype == torch.float32
    for key in ("region2", "region4", "region6", "session", "start"):
        assert batch[key].shape == (16,) and batch[key].dtype == torch.int64
    assert torch.isfinite(batch["x"]).all()
    for n in (2, 4, 6):
        assert batch[f"region{n}"].tolist() == region_index(batch["xy"].numpy(), dm.region_m, n).tolist()


def test_windows_hold_the_rows_they_name(synthetic_set):
    dm = _module(synthetic_set, normalize="none")
    data = load_dataset(synthetic_set)
    batch = next(iter(dm.val_dataloader()))
    for x, start, xy in zip(batch["x"], batch["start"], batch["xy"], strict=True):
        rows = slice(int(start), int(start) + 100)
        assert np.array_equal(x.numpy(), data.amplitude[rows])
        expected = data.frames[["x_m", "y_m"]].to_numpy()[rows].mean(axis=0)
        np.testing.assert_allclose(xy.numpy(), expected, rtol=1e-6)


@pytest.mark.parametrize(("view", "extra"), [("series", ("phase", "rssi")), ("correlation", ("rssi",))])
@pytest.mark.parametrize("normalize", ["window", "global", "none"])
def test_a_batch_built_at_once_equals_its_windows_one_by_one(synthetic_set, view, extra, normalize):
    """The DataLoader's vectorised batches hold exactly what each window gives on its own."""
    dm = _module(synthetic_set, view=view, extra=extra, normalize=normalize, batch_size=8)
    dataset = dm.datasets["train"]
    sampler = dm.train_sampler()
    batch = next(iter(dm.train_dataloader()))
    src = dataset.source
    for k, i in enumerate(sampler.indices(0)[:8]):
        rows = slice(int(dataset.starts[i]), int(dataset.starts[i]) + 100)
        alone = dataset.features(src.amplitude[rows], src.phase[rows], src.rssi[rows])  # one 2-D window
        np.testing.assert_allclose(batch["x"][k].numpy(), alone, rtol=1e-5, atol=1e-5)
        item = dataset[int(i)]
        for key in KEYS:
            np.testing.assert_array_equal(batch[key][k].numpy(), item[key].numpy())
    assert dataset[0]["start"].shape == () and dataset[0]["x"].shape == dm.input_shape


def test_training_draws_are_reproducible_for_a_seed_and_differ_between_epochs(synthetic_set):
    loader = _module(synthetic_set, seed=7).train_dataloader()
    first, second = _starts(loader), _starts(loader)
    assert len(first) == 200 and first != second
    again = _module(synthetic_set, seed=7).train_dataloader()
    assert _starts(again) == first and _starts(again) == second
    assert _starts(_module(synthetic_set, seed=8).train_dataloader()) != first
    sampler = EpochSampler(10, 4, seed=7)
    sampler.set_epoch(1)  # what Lightning does before each epoch
    assert list(sampler) == EpochSampler(10, 4, seed=7).indices(1).tolist()


def test_validation_and_test_windows_are_fixed_and_do_not_overlap(synthetic_set):
    dm, other = _module(synthetic_set), _module(synthetic_set)
    for first, fresh in (
        (dm.val_dataloader, other.val_dataloader),
        (dm.test_dataloader, other.test_dataloader),
    ):
        starts = _starts(first())
        assert starts == _starts(first()) == _starts(fresh()) and np.all(np.diff(starts) >= 100)
    assert dm.num_windows == {"train": len(dm.datasets["train"]), "val": 4, "test": 4}
    rows = {p: set((dm.datasets[p].starts[:, None] + np.arange(100)).ravel()) for p in dm.num_windows}
    assert not (rows["train"] & rows["val"]) and not (rows["val"] & rows["test"])
    train = dm.strided_dataset("train")
    assert np.all(np.diff(train.starts) >= 100) and set(train.starts) <= set(dm.datasets["train"].starts)
    assert np.array_equal(dm.strided_dataset("test").starts, dm.datasets["test"].starts)


def test_truth_columns_are_present_for_the_synthetic_set(synthetic_set):
    data = load_dataset(synthetic_set)
    assert np.isfinite(data.frames[["x_true", "y_true"]].to_numpy()).all()
    assert all(e["truth_rows"] == e["frames"] for e in data.manifest["sessions"])
    batch = next(iter(_module(synthetic_set).test_dataloader()))
    assert torch.isfinite(batch["xy_true"]).all()
    assert (batch["xy_true"] - batch["xy"]).norm(dim=1).max() < 0.05  # camera labels of a perfect camera


def test_global_statistics_come_from_training_rows_only(synthetic_set):
    dm = _module(synthetic_set, normalize="global", extra=("rssi",))
    data = load_dataset(synthetic_set)
    train = dm.windows.part_rows("train") & data.frames["label_valid"].to_numpy(bool)
    stats = dm.features.stats["amplitude"]
    np.testing.assert_allclose(stats.mean, data.amplitude[train].astype(np.float64).mean(axis=0), rtol=1e-6)
    assert not np.allclose(stats.mean, data.amplitude.astype(np.float64).mean(axis=0), rtol=1e-6)
    assert dm.features.stats["rssi"].mean == pytest.approx(data.frames["rssi"][train].mean(), rel=1e-6)


def test_cross_subject_tests_on_the_left_out_subject(synthetic_set):
    dm = _module(synthetic_set, split="cross_subject", fold=1)  # subjects S1, S3: fold 1 is S3
    s3 = dm.session_names.index("t_S3")
    assert set(dm.datasets["test"].targets["session"].tolist()) == {s3}
    assert s3 not in set(dm.datasets["train"].targets["session"]) | set(dm.datasets["val"].targets["session"])
    assert dm.num_windows["test"] == 20


def test_a_data_set_without_truth_reads_with_nan_truth(synthetic_set, tmp_path):
    old = tmp_path / "old"
    shutil.copytree(synthetic_set, old)
    frames = old / "frames.parquet"
    pq.write_table(pq.read_table(frames).drop_columns(["x_true", "y_true"]), frames)
    assert np.isnan(load_dataset(old).frames["x_true"]).all()
    batch = next(iter(_module(old, region_m=(2.0, 5.0)).val_dataloader()))
    assert torch.isnan(batch["xy_true"]).all() and torch.isfinite(batch["xy"]).all()


def test_label_source_truth_learns_the_truth_and_is_tested_as_before(synthetic_set, tmp_path):
    labels, truth = _module(synthetic_set), _module(synthetic_set, label_source="truth")
    for part in ("train", "val"):  # the same windows, learning the true positions
        assert np.array_equal(labels.datasets[part].starts, truth.datasets[part].starts)
        np.testing.assert_array_equal(
            truth.datasets[part].targets["xy"], truth.datasets[part].targets["xy_true"]
        )
        assert not np.array_equal(labels.datasets[part].targets["xy"], truth.datasets[part].targets["xy"])
    for key, values in labels.datasets["test"].targets.items():  # scored exactly as a label-trained run
        np.testing.assert_array_equal(values, truth.datasets["test"].targets[key])
    fitted = truth.strided_dataset("train")
    np.testing.assert_array_equal(fitted.targets["xy"], fitted.targets["xy_true"])
    old = tmp_path / "old"
    shutil.copytree(synthetic_set, old)
    frames = old / "frames.parquet"
    pq.write_table(pq.read_table(frames).drop_columns(["x_true", "y_true"]), frames)
    with pytest.raises(DatasetError, match=r"label_source=truth, but .* have no true position"):
        _module(old, label_source="truth")


def test_clear_errors_name_the_folder_or_the_option(synthetic_set, tmp_path):
    with pytest.raises(DatasetError, match=r"nowhere: no such data set folder"):
        _module(tmp_path / "nowhere")
    old = tmp_path / "older"
    shutil.copytree(synthetic_set, old)
    pq.write_table(pq.read_table(old / "frames.parquet").drop_columns(["segment"]), old / "frames.parquet")
    with pytest.raises(DatasetError, match=r"older/frames\.parquet: missing column\(s\) segment"):
        _module(old)
    with pytest.raises(ValueError, match=r"demo: split 'cross_subject' fold 2: no such fold"):
        _module(synthetic_set, split="cross_subject", fold=2)
    with pytest.raises(ValueError, match=r"demo: split 'paper' fold 0: no val / test windows of 1000 rows"):
        _module(synthetic_set, length=1000)
    bad = {"view": "image", "normalize": "batch", "label": "median", "split": "random"}
    for option, value in bad.items():
        with pytest.raises(ValueError, match=f"unknown {option} '{value}'"):
            CsiDataModule(synthetic_set, **{option: value})
    with pytest.raises(ValueError, match="unknown extra channel 'doppler'"):
        CsiDataModule(synthetic_set, extra=("doppler",))
    with pytest.raises(ValueError, match="batch_size"):
        CsiDataModule(synthetic_set, batch_size=0)


def test_a_data_set_without_labelled_rows_is_refused_in_words(synthetic_set, tmp_path):
    unlabelled = tmp_path / "unlabelled"
    shutil.copytree(synthetic_set, unlabelled)
    frames = pq.read_table(unlabelled / "frames.parquet")
    column = frames.column_names.index("label_valid")
    frames = frames.set_column(column, "label_valid", pa.array(np.zeros(len(frames), bool)))
    pq.write_table(frames, unlabelled / "frames.parquet")
    with pytest.raises(DatasetError, match=r"none of its .* rows is labelled"):
        _module(unlabelled)

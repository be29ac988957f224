"""Data sets that lie: ``lofi dataset`` and the training data module refuse them in one clear line.

``lofi dataset`` cases run the command as a user would (exit 2, the file and the field named, no
traceback, no new data set). Training-side cases edit a built data set and construct
:class:`CsiDataModule` directly: each error names the file, the session or column, and the value.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from lofi.data.datamodule import CsiDataModule
from lofi.io.dataset_store import DatasetError, dataset_sha256
from lofi.io.json_report import write_json
from lofi.stages.dataset import SessionInputs, build_dataset
from tests.stages.conftest import make_interim

SUBJECTS = ("S1", "S3")


@pytest.fixture(scope="module")
def interim(tmp_path_factory) -> list[Path]:
    """Two sessions' interim folders (csi -> align), made once; cases copy them before editing."""
    root = tmp_path_factory.mktemp("lying")
    return [make_interim(root, s, seconds=20.0, seed=k + 1) for k, s in enumerate(SUBJECTS)]


@pytest.fixture
def folders(interim, tmp_path) -> list[Path]:
    """Copies of the two interim folders that a case may edit."""
    return [Path(shutil.copytree(f, tmp_path / "interim" / f.name)) for f in interim]


@pytest.fixture
def built(interim, tmp_path) -> Path:
    """A fresh copy of a data set built from the two sessions."""
    out = tmp_path / "processed" / "demo"
    build_dataset("demo", [SessionInputs.from_folder(f) for f in interim], out)
    return out


def dataset(lofi, folders: list[Path], out_dir: Path, *extra: str):
    return lofi("dataset", "demo", "--interim", *folders, "--out-dir", out_dir, *extra)


def edit_column(path: Path, name: str, change) -> None:
    """Rewrite one column of a parquet table (``change``: Arrow column -> Arrow array), keeping the rest."""
    table = pq.read_table(path)
    index = table.column_names.index(name)
    pq.write_table(table.set_column(index, name, change(table.column(name))), path)


def valid_row(path: Path) -> int:
    """The first label-valid row of a table."""
    return int(np.flatnonzero(pq.read_table(path, columns=["label_valid"]).column(0).to_numpy())[0])


def with_value(column: pa.ChunkedArray, row: int, value: float) -> pa.Array:
    values = column.to_numpy().copy()
    values[row] = value
    return pa.array(values)


# ---- lofi dataset ---------------------------------------------------------------------------------


@pytest.mark.parametrize("report", ["csi.json", "aligned.json"])
def test_dataset_refuses_another_sessions_report(lofi, folders, tmp_path, report):
    shutil.copy(folders[1] / report, folders[0] / report)
    result = dataset(lofi, folders, tmp_path / "processed")
    result.refused(str(folders[0] / report), str(folders[0] / "aligned.parquet"), "another session")
    assert not (tmp_path / "processed" / "demo" / "manifest.json").exists()


def test_dataset_refuses_fill_none_beside_filled_rows(lofi, folders, tmp_path):
    path = folders[0] / "csi.json"
    report = json.loads(path.read_text())
    assert report["filled"] > 0
    write_json(path, {**report, "fill_method": "none", "options": {**report["options"], "fill": "none"}})
    result = dataset(lofi, folders, tmp_path / "processed")
    result.refused(str(path), "fill_method is 'none'", f"{report['filled']} lost row(s) with filled CSI")
    assert not (tmp_path / "processed" / "demo").exists()


@pytest.mark.parametrize(
    ("value", "shown"), [(np.nan, "x_m = nan"), (np.inf, "x_m = inf"), (1.2e6, "x_m = 1200000.0")]
)
def test_dataset_refuses_a_valid_label_without_a_floor_position(lofi, folders, tmp_path, value, shown):
    path = folders[0] / "aligned.parquet"
    row = valid_row(path)
    edit_column(path, "x_m", lambda c: with_value(c, row, value))
    result = dataset(lofi, folders, tmp_path / "processed")
    result.refused(str(path), f"session 't_S1' row {row}", shown, "label-valid")
    assert not (tmp_path / "processed" / "demo").exists()


def test_dataset_refuses_booleans_stored_as_text(lofi, folders, tmp_path):
    path = folders[1] / "aligned.parquet"
    edit_column(path, "label_valid", lambda c: pc.if_else(c, "true", "false"))
    result = dataset(lofi, folders, tmp_path / "processed")
    result.refused(str(path), "column label_valid is string, not bool")
    assert not (tmp_path / "processed" / "demo").exists()


def test_dataset_removes_the_export_of_an_earlier_build(lofi, folders, tmp_path):
    out = tmp_path / "processed" / "demo"
    assert dataset(lofi, folders, tmp_path / "processed", "--export-lofi").code == 0
    assert (out / "wiloc.pkl").is_file()
    (out / "notes.txt").write_text("mine")
    assert dataset(lofi, folders, tmp_path / "processed").code == 0
    assert not (out / "wiloc.pkl").exists()
    assert {p.name for p in out.iterdir()} == {"frames.parquet", "manifest.json", "notes.txt"}


def test_a_refused_build_keeps_the_earlier_data_set_whole(lofi, folders, tmp_path):
    out = tmp_path / "processed" / "demo"
    assert dataset(lofi, folders, tmp_path / "processed", "--export-lofi").code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    shutil.copy(folders[1] / "csi.json", folders[0] / "csi.json")
    dataset(lofi, folders, tmp_path / "processed").refused("csi.json", "another session")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


# ---- training: CsiDataModule ----------------------------------------------------------------------


def edit_manifest(folder: Path, change) -> None:
    path = folder / "manifest.json"
    manifest = json.loads(path.read_text())
    change(manifest)
    path.write_text(json.dumps(manifest))


def shift_rows(manifest: dict) -> None:
    first, second = manifest["sessions"]
    first["rows"][1] -= 1
    second["rows"][0] -= 1


def test_training_refuses_manifest_rows_shifted_by_one(built):
    edit_manifest(built, shift_rows)
    end = json.loads((built / "manifest.json").read_text())["sessions"][0]["rows"][1]
    with pytest.raises(DatasetError) as caught:
        CsiDataModule(built).setup()
    message = str(caught.value)
    assert f"frames.parquet: row {end} has session 't_S1'" in message
    assert f"gives rows [{end}, " in message and "to session 't_S3'" in message


@pytest.mark.parametrize(
    ("change", "fragments"),
    [
        (lambda m: m["sessions"][1].update(session="t_S1"), ["session 't_S1' appears twice"]),
        (
            lambda m: m["sessions"][1]["rows"].__setitem__(0, 5),
            ["session 't_S3' has rows [5, ", "start at row"],
        ),
        (lambda m: m["sessions"].pop(), ["rows end at row"]),
        (lambda m: m["sessions"][0].update(rows="all"), ["sessions[0]", "rows 'all'"]),
    ],
)
def test_training_refuses_manifest_sessions_that_do_not_tile_the_table(built, change, fragments):
    edit_manifest(built, change)
    with pytest.raises(DatasetError) as caught:
        CsiDataModule(built).setup()
    assert str(built / "manifest.json") in str(caught.value)
    for fragment in fragments:
        assert fragment in str(caught.value)


@pytest.mark.parametrize("column", ["label_valid", "lost"])
def test_training_refuses_booleans_stored_as_text(built, column):
    edit_column(built / "frames.parquet", column, lambda c: pc.if_else(c, "true", "false"))
    with pytest.raises(DatasetError, match=rf"frames.parquet: column {column} is \w+, not bool"):
        CsiDataModule(built).setup()


@pytest.mark.parametrize(
    ("column", "value", "shown"),
    [("x_m", np.inf, "x_m = inf"), ("y_m", np.nan, "y_m = nan"), ("x_m", None, "x_m = ")],
)
def test_training_refuses_labels_outside_the_region(built, column, value, shown):
    frames = built / "frames.parquet"
    row = valid_row(frames)
    if value is None:  # labels in micrometres: every value x 1e6
        edit_column(frames, column, lambda c: pc.multiply(c, 1e6))
    else:
        edit_column(frames, column, lambda c: with_value(c, row, value))
    with pytest.raises(DatasetError) as caught:
        CsiDataModule(built).setup()
    message = str(caught.value)
    assert f"session 't_S1' row {row} (row {row} of the session): label-valid {shown}" in message
    allowed = "-1.8 .. 3.6" if column == "x_m" else "-4.8 .. 9.6"
    assert f"1.8 x 4.8 m region (allowed {allowed} m" in message


def test_the_region_of_the_manifest_widens_the_plausible_labels(built):
    frames = built / "frames.parquet"
    edit_column(frames, "x_m", lambda c: pc.add(c, 3.0))  # a wider floor: x up to 4.8 m
    with pytest.raises(DatasetError, match="x_m = "):
        CsiDataModule(built).setup()
    edit_manifest(built, lambda m: m.update(region_m=[6.0, 4.8]))
    CsiDataModule(built).setup()


def test_the_data_set_identity_covers_the_table(built):
    before = CsiDataModule(built).dataset_sha256
    assert len(before) == 16 and before == dataset_sha256(built)
    edit_column(built / "frames.parquet", "rssi", lambda c: pc.add(c, pa.scalar(1.0, pa.float32())))
    assert dataset_sha256(built) != before


def test_training_refuses_an_infinite_truth(built):
    edit_column(built / "frames.parquet", "y_true", lambda c: with_value(c, 7, -np.inf))
    with pytest.raises(DatasetError, match=r"frames\.parquet: row 7: y_true = -inf is not a position"):
        CsiDataModule(built).setup()


def test_a_folder_of_someone_elses_files_is_not_replaced(lofi, tmp_path):
    """Files named like a data set's, without a manifest lofi dataset wrote, are not an earlier build."""
    out = tmp_path / "sets" / "mine"
    out.mkdir(parents=True)
    (out / "frames.parquet").write_bytes(b"my own table")
    interim = tmp_path / "interim" / "walk"
    interim.mkdir(parents=True)
    lofi("dataset", "mine", "--interim", interim, "--out-dir", out.parent).refused(
        "holds frames.parquet but no manifest.json written by `lofi dataset`"
    )
    assert (out / "frames.parquet").read_bytes() == b"my own table"

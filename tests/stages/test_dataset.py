"""The processed data set: one store + manifest, read back; the LoFi-compatible export."""

from __future__ import annotations

import json
import pickle
import shutil

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lofi.io.dataset_store import DatasetError, load_dataset
from lofi.io.lofi_pickles import export_wiloc
from lofi.io.matrix_table import TableFileError
from lofi.io.provenance import with_provenance
from lofi.io.tables import read_csi_table
from lofi.stages.dataset import SessionInputs, build_dataset, run_dataset


def test_dataset_holds_every_session_and_the_manifest_explains_coverage(two_sessions, tmp_path):
    manifest = build_dataset("demo", [SessionInputs.from_folder(f) for f in two_sessions], tmp_path / "demo")
    data = load_dataset(tmp_path / "demo")
    assert data.amplitude.shape == (len(data.frames), 52) and data.amplitude.dtype == np.float32
    assert json.loads((tmp_path / "demo" / "manifest.json").read_text()) == manifest
    for folder, entry in zip(two_sessions, manifest["sessions"], strict=True):
        table, amplitude, _ = read_csi_table(folder / "aligned.parquet", aligned=True)
        rows = data.session_rows(entry["session"])
        np.testing.assert_array_equal(data.amplitude[rows], amplitude)
        assert entry["frames"] == len(table) == rows.stop - rows.start
        assert entry["label_valid"] == int(table["label_valid"].sum())
        unlabelled = sum(entry["unlabelled_by_reason"].values())
        assert entry["label_valid"] + unlabelled == entry["frames"]
        assert entry["lost"] == int(table["lost"].sum()) and entry["fill_method"] == "linear"
        assert len(entry["sources"]["csi_sha256"]) == 64 and entry["config_hash"]
    assert manifest["sessions"][0]["subject"] == "S1"


def test_a_session_given_twice_or_missing_is_an_error(two_sessions, tmp_path):
    inputs = SessionInputs.from_folder(two_sessions[0])
    with pytest.raises(DatasetError, match="given twice"):
        build_dataset("x", [inputs, inputs], tmp_path / "x")
    with pytest.raises(DatasetError, match=r"csi\.json"):
        SessionInputs.from_folder(tmp_path / "nothing")


def test_lofi_export_has_the_published_shape(two_sessions, tmp_path):
    build_dataset("demo", [SessionInputs.from_folder(f) for f in two_sessions], tmp_path / "demo")
    data = load_dataset(tmp_path / "demo")
    assert export_wiloc(data, tmp_path / "wiloc.pkl") == 2
    with open(tmp_path / "wiloc.pkl", "rb") as handle:
        records = pickle.load(handle)  # our own file, just written
    first = records[0]
    assert set(first) == {"magnitude", "phase", "x", "y", "img_path", "time", "people"}
    rows = data.session_rows(data.manifest["sessions"][0]["session"])
    assert first["magnitude"].shape == (rows.stop - rows.start, 52) and first["people"] == "S1"
    lost = data.frames["lost"].to_numpy()[rows]
    assert lost.any() and (first["magnitude"][lost] == -1000).all()
    assert np.all(first["magnitude"][~lost] >= 0)
    unlabelled = ~data.frames["label_valid"].to_numpy()[rows]
    assert (np.array(first["x"])[unlabelled] == -1000).all()
    assert np.all(np.array(first["x"])[~unlabelled] != -1000)


def test_truth_is_nan_without_truth_and_taken_from_an_aligned_table_that_has_it(two_sessions, tmp_path):
    manifest = build_dataset("demo", [SessionInputs.from_folder(f) for f in two_sessions], tmp_path / "demo")
    data = load_dataset(tmp_path / "demo")
    assert manifest["columns"][-2:] == ["x_true", "y_true"]
    assert np.isnan(data.frames[["x_true", "y_true"]].to_numpy()).all()
    assert all(e["sources"]["truth"] is None and e["truth_rows"] == 0 for e in manifest["sessions"])
    folder = tmp_path / "with_truth"
    shutil.copytree(two_sessions[0], folder)
    table = pq.read_table(folder / "aligned.parquet")
    x = np.linspace(0.0, 1.0, table.num_rows)
    table = table.append_column("x_true", pa.array(x)).append_column("y_true", pa.array(2 * x))
    pq.write_table(table, folder / "aligned.parquet")
    manifest = build_dataset("t", [SessionInputs.from_folder(folder)], tmp_path / "t")
    frames = load_dataset(tmp_path / "t").frames
    assert manifest["sessions"][0]["sources"]["truth"] == "aligned"
    np.testing.assert_array_equal(frames["x_true"], x)
    np.testing.assert_array_equal(frames["y_true"], 2 * x)


def test_an_older_data_set_without_truth_columns_reads_with_nan(two_sessions, tmp_path):
    build_dataset("demo", [SessionInputs.from_folder(f) for f in two_sessions], tmp_path / "demo")
    frames_file = tmp_path / "demo" / "frames.parquet"
    pq.write_table(pq.read_table(frames_file).drop_columns(["x_true", "y_true"]), frames_file)
    frames = load_dataset(tmp_path / "demo").frames
    assert frames["x_true"].dtype == np.float64 and np.isnan(frames["y_true"]).all()


def _copy(folder, tmp_path):
    return shutil.copytree(folder, tmp_path / "interim" / folder.name)


def test_reports_must_name_the_sources_the_aligned_table_records(two_sessions, tmp_path):
    folder = _copy(two_sessions[0], tmp_path)
    path = folder / "aligned.parquet"
    table = pq.read_table(path)
    pq.write_table(with_provenance(table, {"csi_csv_sha256": "0" * 64, "session": "t_S1"}), path)
    with pytest.raises(DatasetError) as caught:
        build_dataset("x", [SessionInputs.from_folder(folder)], tmp_path / "x")
    assert f"{folder / 'csi.json'}: source_sha256 is '" in str(caught.value)
    assert f"but {path} has '{'0' * 64}'" in str(caught.value)
    positions = tmp_path / "other_positions.parquet"
    pq.write_table(with_provenance(pa.table({"t": [1.0]}), {"session": "t_S3"}), positions)
    pq.write_table(table, path)  # no provenance: the csi.csv is not checked
    summary = json.loads((folder / "aligned.json").read_text())
    (folder / "aligned.json").write_text(json.dumps({**summary, "positions": str(positions)}))
    with pytest.raises(DatasetError, match=r"aligned\.json: positions' session is 't_S3', but .* has 't_S1'"):
        build_dataset("x", [SessionInputs.from_folder(folder)], tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_rebuilding_without_export_removes_only_the_stale_export(two_sessions, tmp_path):
    out = tmp_path / "demo"
    first = run_dataset("demo", two_sessions, out, export_lofi=True)
    assert first["exported"] == 2 and first["removed"] == []
    (out / "wiloc.pkl.bak").write_bytes(b"the user's")
    second = run_dataset("demo", two_sessions, out)
    assert second["removed"] == [str(out / "wiloc.pkl")] and "exported" not in second
    assert sorted(p.name for p in out.iterdir()) == ["frames.parquet", "manifest.json", "wiloc.pkl.bak"]
    assert json.loads((out / "manifest.json").read_text()) == {
        k: v for k, v in second.items() if k != "removed"
    }


def test_interim_tables_with_text_booleans_are_refused(two_sessions, tmp_path):
    folder = _copy(two_sessions[0], tmp_path)
    path = folder / "aligned.parquet"
    table = pq.read_table(path)
    index = table.column_names.index("filled")
    text = pa.array(np.where(table.column(index).to_numpy(), "true", "false"))
    pq.write_table(table.set_column(index, "filled", text), path)
    with pytest.raises(TableFileError, match=r"aligned\.parquet: column filled is \w+, not bool"):
        read_csi_table(path, aligned=True)
    with pytest.raises(DatasetError, match=r"aligned\.parquet: column filled is string, not bool"):
        build_dataset("x", [SessionInputs.from_folder(folder)], tmp_path / "x")

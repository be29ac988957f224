"""Surveyed-point sessions: no video, no host times; labelled at their point, gathered, trained on."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lofi.cli import main
from lofi.data.datamodule import CsiDataModule
from lofi.io import read_csi_log
from lofi.io.dataset_store import load_dataset
from lofi.io.session import read_session_meta, read_yaml, write_yaml
from lofi.io.tables import read_csi_table
from lofi.sim.scene import SceneError
from lofi.stages.align import surveyed_point
from lofi.stages.record import RecordOptions, record_session
from lofi.stages.scenes import scene_path, session_region
from lofi.train.run import train
from lofi.vision.calibration import FloorRegion, RegionError
from tests.stages.survey import POINTS, csi_and_align, make_point_session, surveyed_interim
from tests.train.conftest import config


@pytest.fixture(scope="module")
def surveyed(tmp_path_factory) -> list:
    """Two 12-s sessions at each of four points, completed and aligned from session.yaml."""
    return surveyed_interim(tmp_path_factory.mktemp("survey"))


def test_an_esp_csi_log_has_no_host_times_but_is_read_and_completed(tmp_path):
    raw = make_point_session(tmp_path / "raw" / "p", (0.9, 2.4), seconds=3.0)
    log = read_csi_log(raw / "csi.csv")
    assert log.layout == "esp-csi" and len(log) == 300
    assert log.table["t_host"].isna().all()
    np.testing.assert_allclose(np.diff(log.table["t_device"].to_numpy()), 0.01, atol=1e-9)
    assert main(["csi", str(raw), "--out", str(tmp_path / "csi.parquet")]) == 0
    report = json.loads((tmp_path / "csi.json").read_text())
    assert report["layout"] == "esp-csi" and report["received"] == 300 and not report.get("host_fit")
    table, amplitude, _ = read_csi_table(tmp_path / "csi.parquet")
    assert len(table) == 300 and table["t_host"].isna().all() and np.isfinite(amplitude).all()


def test_align_labels_every_row_at_the_session_yaml_point_without_host_times(tmp_path):
    raw = make_point_session(tmp_path / "raw" / "p", (0.9, 2.4), seconds=6.0, gap_s=(2.0, 3.0))
    interim = csi_and_align(raw, tmp_path / "interim")
    table, _, _ = read_csi_table(interim / "aligned.parquet", aligned=True)
    summary = json.loads((interim / "aligned.json").read_text())
    assert (
        table["t_host"].isna().all() and table["lost"].sum() == 100
    )  # the 1-s gap, found on the device clock
    outage = table["outage"].to_numpy(bool)  # a gap over --max-gap-s stays NaN: its rows have no CSI
    assert outage.sum() == 100
    assert (table.loc[outage, "reason"] == "csi_missing").all() and not table.loc[outage, "label_valid"].any()
    valid = table["label_valid"].to_numpy(bool)
    assert valid.sum() == len(table) - 100
    np.testing.assert_array_equal(table[["x_m", "y_m"]].to_numpy(), np.tile([0.9, 2.4], (len(table), 1)))
    assert (table["frame"] == -1).all() and table["label_dt"].isna().all()
    assert summary["position_m"] == [0.9, 2.4] and summary["position_source"] == str(raw / "session.yaml")
    assert summary["positions"] is None and summary["tolerance_s"] is None
    assert summary["label_valid"] == int(valid.sum()) and summary["rows"] == len(table)


def test_at_labels_a_session_without_position_m_and_wins_over_it(tmp_path):
    bare = make_point_session(tmp_path / "raw" / "bare", None, seconds=2.0)
    interim = csi_and_align(bare, tmp_path / "bare", "--at", "1.5,0.25")
    table, _, _ = read_csi_table(interim / "aligned.parquet", aligned=True)
    assert (table["x_m"] == 1.5).all() and (table["y_m"] == 0.25).all() and table["label_valid"].all()
    assert json.loads((interim / "aligned.json").read_text())["position_source"] == "--at"
    marked = make_point_session(tmp_path / "raw" / "marked", (0.3, 0.3), seconds=2.0)
    interim = csi_and_align(marked, tmp_path / "marked", "--at", "1,4")
    table, _, _ = read_csi_table(interim / "aligned.parquet", aligned=True)
    assert (table["x_m"] == 1.0).all() and (table["y_m"] == 4.0).all()


def test_a_calibration_region_decides_what_lies_inside(tmp_path):
    raw = make_point_session(tmp_path / "raw" / "p", None, seconds=2.0)
    (raw / "calibration.yaml").write_text("region: {x_m: [0, 6], y_m: [0, 8]}\n")
    interim = csi_and_align(raw, tmp_path / "interim", "--at", "5.5,7")  # outside the default 1.8 x 4.8 m
    table, _, _ = read_csi_table(interim / "aligned.parquet", aligned=True)
    assert (table["x_m"] == 5.5).all()


#: A calibration whose region does not start at 0: only its size (1.8 x 4.8 m) matters.
OFFSET_CALIBRATION = {
    "anchors": [
        {"pixel": [100, 400], "floor": [0.0, 0.0]},
        {"pixel": [540, 400], "floor": [1.8, 0.0]},
        {"pixel": [500, 150], "floor": [1.8, 4.8]},
        {"pixel": [140, 150], "floor": [0.0, 4.8]},
    ],
    "region": {"x_m": [1.0, 2.8], "y_m": [0.0, 4.8]},
}


def _record_check(tmp_path: Path, at_m: tuple[float, float], **where: object) -> str:
    """What ``lofi record --no-camera --at`` says of ``at_m`` before it opens the (missing) serial
    port: ``"refused: <message>"``, or ``"accepted"`` when it got as far as the port."""
    options = RecordOptions(
        out_dir=tmp_path / "rec", serial_port=str(tmp_path / "ttyUSB9"), at_m=at_m, **where
    )
    try:
        record_session(options, status=False)
    except RegionError as err:
        return f"refused: {err}"
    except OSError as err:
        assert "no such serial port" in str(err)
        return "accepted"
    raise AssertionError("record_session ran without a serial port")


def _align_check(session: Path, at_m: tuple[float, float]) -> str:
    """What ``lofi align --at`` says of ``at_m`` for ``session``: ``"refused: ..."`` or ``"accepted"``."""
    try:
        surveyed_point(session, read_session_meta(session), None, at_m)
    except RegionError as err:
        return f"refused: {err}"
    return "accepted"


@pytest.mark.parametrize(("point", "inside"), [((2.5, 1.0), False), ((1.5, 1.0), True), ((1.8, 4.8), True)])
def test_record_and_align_agree_on_a_calibration_region_that_does_not_start_at_0(tmp_path, point, inside):
    calibration = tmp_path / "calibration.yaml"
    write_yaml(calibration, OFFSET_CALIBRATION)
    session = make_point_session(tmp_path / "raw" / "p", None, seconds=1.0)
    shutil.copyfile(calibration, session / "calibration.yaml")
    recorded = _record_check(tmp_path, point, calibration=calibration)
    aligned = _align_check(session, point)
    assert recorded.split(":")[0] == aligned.split(":")[0] == ("accepted" if inside else "refused")
    if not inside:
        assert "x 0..1.8 m, y 0..4.8 m" in recorded and "x 0..1.8 m, y 0..4.8 m" in aligned
        assert str(calibration) in recorded and str(session / "calibration.yaml") in aligned
    assert not (tmp_path / "rec").exists()


def _scene_file(path: Path, size_m: list[float]) -> Path:
    """The packaged lab scene with another floor region size (m), as a scene file of one's own."""
    data = read_yaml(scene_path("lab"))
    data["name"] = "bigroom"
    data["region"]["size_m"] = size_m
    write_yaml(path, data)
    return path


def test_a_scene_only_survey_session_is_checked_against_the_scenes_region(tmp_path):
    """`lofi record --no-camera --scene FILE` writes no calibration.yaml: align finds the region
    through session.yaml's scene_file (2.6 x 2.4 m here), not the default 1.8 x 4.8 m lab."""
    scene = _scene_file(tmp_path / "bigroom.yaml", [2.6, 2.4])
    raw = make_point_session(tmp_path / "raw" / "p", (2.5, 1.0), seconds=2.0)
    meta = read_yaml(raw / "session.yaml")
    write_yaml(raw / "session.yaml", {**meta, "room": "bigroom", "scene_file": str(scene)})
    assert session_region(raw) == FloorRegion((2.6, 2.4), f"scene {scene}")
    interim = csi_and_align(raw, tmp_path / "interim")  # (2.5, 1): outside the lab, inside bigroom
    table, _, _ = read_csi_table(interim / "aligned.parquet", aligned=True)
    assert (table["x_m"] == 2.5).all() and (table["y_m"] == 1.0).all()
    assert (
        _record_check(tmp_path, (2.5, 1.0), scene=str(scene)) == _align_check(raw, (2.5, 1.0)) == "accepted"
    )
    recorded = _record_check(tmp_path, (1.0, 3.0), scene=str(scene))  # inside the lab, outside bigroom
    aligned = _align_check(raw, (1.0, 3.0))
    for refused in (recorded, aligned):
        assert refused.startswith(
            "refused: --at = 1,3 m lies outside the floor region x 0..2.6 m, y 0..2.4 m"
        )
        assert f"(scene {scene})" in refused


def test_a_session_yaml_scene_that_cannot_be_found_is_named(tmp_path):
    raw = make_point_session(tmp_path / "raw" / "p", (0.9, 2.4), seconds=1.0)
    write_yaml(
        raw / "session.yaml", {**read_yaml(raw / "session.yaml"), "scene_file": str(tmp_path / "gone.yaml")}
    )
    with pytest.raises(SceneError, match=r"session\.yaml: scene_file: .*gone\.yaml: no such scene file"):
        session_region(raw)


def test_surveyed_sessions_make_a_data_set_whose_manifest_records_each_point(surveyed, tmp_path):
    args = ["dataset", "points", "--interim", *map(str, surveyed), "--out-dir", str(tmp_path)]
    assert main(args) == 0
    data = load_dataset(tmp_path / "points")
    entries = data.manifest["sessions"]
    assert [tuple(e["position_m"]) for e in entries] == [p for p in POINTS for _ in range(2)]
    assert all(e["duration_s"] is None and e["sources"]["positions"] is None for e in entries)
    assert data.frames["t_host"].isna().all() and data.frames["label_valid"].all()
    for entry in entries:
        rows = data.session_rows(entry["session"])
        xy = data.frames[["x_m", "y_m"]].to_numpy()[rows]
        np.testing.assert_array_equal(xy, np.tile(entry["position_m"], (len(xy), 1)))


def test_cross_point_holds_out_whole_points_and_trains(surveyed, tmp_path):
    assert main(["dataset", "points", "--interim", *map(str, surveyed), "--out-dir", str(tmp_path)]) == 0
    folder = tmp_path / "points"
    for fold in range(len(POINTS)):
        dm = CsiDataModule(folder, split="cross_point", fold=fold)
        dm.setup()
        xy = dm.source.xy
        test_points = {tuple(p) for p in xy[dm.part_rows("test")]}
        val_points = {tuple(p) for p in xy[dm.part_rows("val")]}
        train_points = {tuple(p) for p in xy[dm.part_rows("train")]}
        assert test_points == {sorted(POINTS)[fold]}  # folds take the points sorted by x, then y
        assert len(val_points) == 1 and val_points.isdisjoint(test_points)
        assert train_points == set(POINTS) - test_points - val_points
    metrics = train(config(folder, tmp_path / "run", "data.split=cross_point", "data.fold=2", "model=gru"))
    written = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert written["split"] == "cross_point" and str(written["fold"]) == "2"
    assert metrics["test/windows"] > 0 and np.isfinite(metrics["test/err_mean"])
    predictions = pd.read_parquet(tmp_path / "run" / "predictions.parquet")
    np.testing.assert_allclose(
        predictions[["x_label", "y_label"]].to_numpy(), [sorted(POINTS)[2]] * len(predictions)
    )

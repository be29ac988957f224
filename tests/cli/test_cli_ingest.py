"""``lofi csi``, ``align``, ``dataset`` and ``import-lofi`` end to end on small inputs."""

from __future__ import annotations

import json
import pickle

import numpy as np

from lofi.cli import main
from tests.conftest import ESP_CSI_LOG
from tests.stages.conftest import make_interim


def test_csi_align_dataset_commands(tmp_path, capsys):
    interim = make_interim(tmp_path, "S2", seconds=10.0)
    raw = tmp_path / "raw" / interim.name
    out = tmp_path / "cli"
    assert main(["csi", str(raw), "--fill", "spline", "--out", str(out / "csi.parquet")]) == 0
    assert "lost" in capsys.readouterr().out
    report = json.loads((out / "csi.json").read_text())
    assert report["fill_method"] == "spline" and report["host_fit"]["residual_rms_ms"] < 3
    args = [
        "align",
        str(raw),
        "--csi",
        str(out / "csi.parquet"),
        "--positions",
        str(interim / "positions.parquet"),
    ]
    assert main([*args, "--out", str(out / "aligned.parquet")]) == 0
    assert "labelled" in capsys.readouterr().out
    assert main(["dataset", "demo", "--interim", str(out), "--out-dir", str(tmp_path / "processed")]) == 0
    manifest = json.loads((tmp_path / "processed" / "demo" / "manifest.json").read_text())
    assert manifest["sessions"][0]["fill_method"] == "spline"


def test_align_without_host_times_says_so(tmp_path, capsys):
    assert main(["csi", str(ESP_CSI_LOG), "--out", str(tmp_path / "csi.parquet")]) == 0
    assert "no host timestamps" in capsys.readouterr().out
    positions = tmp_path / "positions.csv"
    positions.write_text("t_host,x_m,y_m\n1.0,0.5,0.5\n2.0,0.6,0.5\n")
    args = ["align", str(tmp_path), "--csi", str(tmp_path / "csi.parquet"), "--positions", str(positions)]
    assert main([*args, "--tolerance-s", "0.05", "--out", str(tmp_path / "a.parquet")]) == 2
    assert "no host times" in capsys.readouterr().err


def test_align_with_bad_positions_names_the_row(tmp_path, capsys):
    interim = make_interim(tmp_path, "S1", seconds=5.0)
    positions = tmp_path / "positions.csv"
    positions.write_text("t_host,x_m,y_m\n1.0,0.5,0.5\n2.0,abc,0.5\n")
    args = ["align", str(tmp_path / "raw" / interim.name), "--csi", str(interim / "csi.parquet")]
    assert main([*args, "--positions", str(positions), "--out", str(tmp_path / "a.parquet")]) == 2
    assert "row 2: x_m is not a number" in capsys.readouterr().err


def test_import_lofi_refuses_untrusted_pickles(tmp_path, capsys):
    with open(tmp_path / "wiloc.pkl", "wb") as handle:
        pickle.dump([{"magnitude": np.zeros((3, 52)), "phase": np.zeros((3, 52)), "time": [1, 2, 3],
                      "people": "p"}], handle)  # fmt: skip
    assert main(["import-lofi", str(tmp_path / "wiloc.pkl"), "--interim-dir", str(tmp_path / "i")]) == 2
    assert "--trust-pickle" in capsys.readouterr().err
    args = [
        "import-lofi",
        str(tmp_path / "wiloc.pkl"),
        "--interim-dir",
        str(tmp_path / "i"),
        "--trust-pickle",
    ]
    assert main(args) == 0
    assert (tmp_path / "i" / "lofi_p" / "aligned.parquet").is_file()

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
    session = tmp_path / "session"  # a recording's folder is read-only: outputs go beside it
    session.mkdir()
    args = ["align", str(session), "--csi", str(tmp_path / "csi.parquet"), "--positions", str(positions)]
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


def _recovery_file(path):
    """An (untrained) CSI-BERT recovery file of the ESP32's 52 amplitudes."""
    import torch

    from lofi.io.recovery_checkpoint import RecoveryCheckpoint, save_recovery_checkpoint
    from lofi.models.csibert import CSIBert

    options = {"hidden": 16, "layers": 1, "heads": 2, "intermediate": 32, "mask_input": "linear"}
    torch.manual_seed(0)
    model = CSIBert(n_features=52, **options)
    return save_recovery_checkpoint(path, RecoveryCheckpoint(model.state_dict(), options, 52, 100, "window"))


def test_csibert_fill_recovers_only_the_lost_amplitudes(tmp_path, capsys):
    import pandas as pd

    from lofi.io.tables import read_csi_table

    interim = make_interim(tmp_path, "S2", seconds=10.0)
    raw, out = tmp_path / "raw" / interim.name, tmp_path / "cli"
    checkpoint = _recovery_file(tmp_path / "csibert_recovery.pt")
    assert main(["csi", str(raw), "--out", str(out / "linear.parquet")]) == 0
    args = ["csi", str(raw), "--fill", "csibert", "--checkpoint", str(checkpoint)]
    assert main([*args, "--out", str(out / "csibert.parquet")]) == 0
    assert "recovered by CSI-BERT" in capsys.readouterr().out
    report = json.loads((out / "csibert.json").read_text())
    assert report["fill_method"] == "csibert" and len(report["checkpoint_sha256"]) == 64
    table, amplitude, phase = read_csi_table(out / "csibert.parquet")
    linear_table, linear_amplitude, linear_phase = read_csi_table(out / "linear.parquet")
    filled = table["filled"].to_numpy()
    assert filled.sum() == report["filled"] > 0
    np.testing.assert_array_equal(amplitude[~filled], linear_amplitude[~filled])
    assert not np.allclose(amplitude[filled], linear_amplitude[filled])
    assert np.isfinite(amplitude[filled]).all()
    np.testing.assert_array_equal(phase, linear_phase)  # phase: linear in both
    pd.testing.assert_frame_equal(table, linear_table)

"""``lofi inspect`` on the bundled real logs, session folders and bad paths."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from lofi.cli import main
from tests.conftest import CSI_TOOL_LOG, CSIKIT_LOG, ESP_CSI_LOG

EXPECTED = {
    CSIKIT_LOG: {
        "layout": "esp32-csi-tool",
        "rows": 833,
        "skipped": 1,
        "skipped_by_reason": {"unknown_length": 1},
    },
    CSI_TOOL_LOG: {"layout": "esp32-csi-tool", "rows": 13, "skipped": 0, "skipped_by_reason": {}},
    ESP_CSI_LOG: {"layout": "esp-csi", "rows": 116, "skipped": 0, "skipped_by_reason": {}},
}


@pytest.mark.parametrize("path", list(EXPECTED), ids=lambda p: p.parent.name)
def test_inspect_json_reports_the_asserted_counts(path, capsys):
    assert main(["inspect", "--json", str(path)]) == 0
    out = capsys.readouterr().out
    summary = json.loads(out)
    assert out.count("\n") == 1
    for key, value in EXPECTED[path].items():
        assert summary[key] == value
    assert summary["subcarriers"] == 52
    for key in ("duration_s", "rate_hz", "loss_pct"):
        assert summary[key] > 0


def test_inspect_csikit_timing_figures(capsys):
    main(["inspect", "--json", str(CSIKIT_LOG)])
    summary = json.loads(capsys.readouterr().out)
    assert summary["duration_s"] == pytest.approx((13142613 - 7313) / 1e6)
    assert (summary["rssi_min_dbm"], summary["rssi_max_dbm"]) == (-61, -51)


def test_inspect_session_folder_uses_nominal_rate(tmp_path, capsys):
    (tmp_path / "csi.csv").write_bytes(ESP_CSI_LOG.read_bytes())
    (tmp_path / "session.yaml").write_text("csi_rate_hz: 10\n")
    assert main(["inspect", "--json", str(tmp_path)]) == 0
    assert json.loads(capsys.readouterr().out)["nominal_rate_hz"] == 10.0


def test_inspect_human_output(capsys):
    assert main(["inspect", str(ESP_CSI_LOG)]) == 0
    out = capsys.readouterr().out
    assert "esp-csi" in out and "116" in out and "loss (eq. 4)" in out


@pytest.mark.parametrize("make_path", [lambda p: p / "missing.csv", lambda p: p])
def test_bad_paths_give_one_error_line_and_nonzero_exit(tmp_path, make_path):
    result = subprocess.run(
        [sys.executable, "-m", "lofi", "inspect", str(make_path(tmp_path))], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert result.stdout == "" and result.stderr.count("\n") == 1
    assert result.stderr.startswith("lofi inspect: error:")


def test_empty_file_reports_zero_rows_and_why(tmp_path, capsys):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert main(["inspect", "--json", str(empty)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["rows"] == 0 and summary["empty_reason"] == "the file is empty"

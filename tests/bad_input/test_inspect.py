"""Bad input to ``lofi inspect``: its numbers stay true for damaged logs, its JSON stays JSON.

``lofi inspect`` is the diagnostic command: a log without CSI rows (empty, binary) is
reported with exit 0, naming the file and why it holds no rows; every other problem
(missing path, bad session.yaml, an --out that cannot be written) is exit 2.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import ESP_CSI_LOG
from tests.csi.logs import HOST_START, write_log

PINGS = 3000  # 30 s at 100 Hz


def strict_json(text: str) -> dict:
    """Parse JSON, refusing the NaN and Infinity that Python's json would accept."""

    def refuse(name: str) -> None:
        raise AssertionError(f"{name} in the JSON output")

    return json.loads(text, parse_constant=refuse)


def _clean() -> tuple[np.ndarray, np.ndarray]:
    t = 1.0 + 0.01 * np.arange(PINGS)
    return t, HOST_START + t


def _reboot(uptime_s: float) -> tuple[np.ndarray, np.ndarray]:
    """The counter restarts at ping 1500 (near 0 s); the host clock runs on, 3 s later."""
    t = uptime_s + 0.01 * np.arange(PINGS)
    t[1500:] = 0.8 + 0.01 * np.arange(PINGS - 1500)
    host = HOST_START + 0.01 * np.arange(PINGS)
    host[1500:] += 3.0
    return t, host


def _bad_host(value: float) -> tuple[np.ndarray, np.ndarray]:
    t, host = _clean()
    host[1234] = value
    return t, host


def _duplicated() -> tuple[np.ndarray, np.ndarray]:
    t, host = _clean()
    every = np.sort(np.concatenate([np.arange(PINGS), np.arange(0, PINGS, 2)]))  # half the packets twice
    return t[every], host[every]


@pytest.mark.parametrize(
    ("timing", "expected"),
    [
        (_reboot(10.0), {"reboots": 1, "segments": 2, "lost_packets": 0, "duplicates": 0}),
        (_reboot(3000.0), {"reboots": 1, "segments": 2, "lost_packets": 0, "duplicates": 0}),
        (_bad_host(0.0), {"bad_host_times": 1, "reboots": 0, "segments": 1, "lost_packets": 0}),
        (_bad_host(HOST_START - 365 * 86400.0), {"bad_host_times": 1, "segments": 1, "lost_packets": 0}),
        (_duplicated(), {"duplicates": PINGS // 2, "rows": PINGS + PINGS // 2, "lost_packets": 0}),
    ],
    ids=["reboot", "reboot_after_35_min_uptime", "host_1970", "host_a_year_off", "duplicated_rows"],
)
def test_damaged_timing_gives_true_rate_and_loss(lofi, tmp_path, timing, expected):
    write_log(tmp_path / "csi.csv", *timing)
    result = lofi("inspect", "--json", tmp_path / "csi.csv")
    assert result.code == 0, result.err
    summary = strict_json(result.out)
    assert {k: summary[k] for k in expected} == expected
    assert summary["rate_hz"] == pytest.approx(100.0, rel=1e-3)
    assert summary["nominal_rate_hz"] == pytest.approx(100.0, rel=1e-3) and summary["loss_pct"] == 0.0
    human = lofi("inspect", tmp_path / "csi.csv").out
    assert "packet rate     100.00 Hz" in human and "loss (eq. 4)    0.00 %" in human
    for key, word in (("reboots", "reboots"), ("duplicates", "duplicates"), ("bad_host_times", "bad host")):
        assert (word in human) == bool(summary[key])


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (np.random.default_rng(3).bytes(5000), "the file looks binary, not a text CSI log"),
        (b"", "the file is empty"),
        (b"\xff\xfe\x00\x00garbage \xc3\x28 not utf-8\n" * 20, "the file looks binary"),
        (b"hello,world\n1,2\n", "no line is a complete CSI row"),
    ],
    ids=["random_bytes", "empty", "not_utf8", "other_csv"],
)
def test_a_log_without_rows_names_the_file_and_why(lofi, tmp_path, content, reason):
    log = tmp_path / "csi.csv"
    log.write_bytes(content)
    result = lofi("inspect", "--json", log, "--out", tmp_path / "summary.json")
    assert result.code == 0 and "Traceback" not in result.err
    summary = strict_json(result.out)
    assert summary["source"] == str(log) and summary["rows"] == 0
    assert summary["empty_reason"].startswith(reason)
    assert strict_json((tmp_path / "summary.json").read_text()) == summary
    human = lofi("inspect", log).out
    assert str(log) in human and f"empty because   {reason}" in human


def _copy_of_a_log_without_host_times(path: Path) -> int:
    shutil.copyfile(ESP_CSI_LOG, path)
    return 116


def _written(t: np.ndarray, host: np.ndarray | None = None):
    def make(path: Path) -> int:
        write_log(path, t, host)
        return len(t)

    return make


@pytest.mark.parametrize(
    "make",
    [
        _written(np.array([1.0])),  # one row: no interval, no rate
        _written(np.full(5, 2.0)),  # every row at the same device time
        _copy_of_a_log_without_host_times,
        _written(1.0 + 0.01 * np.arange(50), np.full(50, 0.0)),  # host times all 1970
    ],
    ids=["one_row", "one_device_time", "no_host_times", "host_all_1970"],
)
def test_json_output_never_holds_nan_or_infinity(lofi, tmp_path, make):
    rows = make(tmp_path / "csi.csv")
    result = lofi("inspect", "--json", tmp_path / "csi.csv", "--out", tmp_path / "summary.json")
    assert result.code == 0, result.err
    summary = strict_json(result.out)
    assert strict_json((tmp_path / "summary.json").read_text()) == summary
    assert summary["rows"] == rows


@pytest.mark.parametrize(
    ("make_path", "fragments"),
    [
        (lambda tmp: tmp / "missing.csv", ["missing.csv", "no such file or folder"]),
        (lambda tmp: tmp, ["a session folder must hold csi.csv"]),
    ],
)
def test_bad_paths_are_refused(lofi, tmp_path, make_path, fragments):
    lofi("inspect", make_path(tmp_path)).refused(*fragments)


def test_an_out_file_that_cannot_be_written_is_refused(lofi, tmp_path):
    write_log(tmp_path / "csi.csv", 1.0 + 0.01 * np.arange(50))
    (tmp_path / "summary.json").mkdir()
    lofi("inspect", tmp_path / "csi.csv", "--out", tmp_path / "summary.json").refused(
        str(tmp_path / "summary.json"), "is a folder"
    )


def test_a_rate_in_session_yaml_above_the_bound_is_refused(lofi, tmp_path):
    folder = Path(tmp_path)
    write_log(folder / "csi.csv", 1.0 + 0.01 * np.arange(50))
    (folder / "session.yaml").write_text("csi_rate_hz: 100000000\n")
    lofi("inspect", folder).refused("session.yaml", "csi_rate_hz", "above 10000 Hz")

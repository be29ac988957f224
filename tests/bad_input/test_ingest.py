"""Bad input to the CSI and data-set commands: csi, align, dataset.

Each case builds its input in ``tmp_path`` from a small clean log (100 Hz, host times every
10 ms), runs the command as a user would and checks the exit code, that the message names
the file, the field and the value, and which outputs exist afterwards.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.csi.logs import HOST_START, write_log

RANDOM_BYTES = np.random.default_rng(7).bytes(4000)
PINGS = 2000  # 20 s at 100 Hz


def make_session(folder: Path, t_device: np.ndarray | None = None, t_host: np.ndarray | None = None) -> Path:
    """A raw session: csi.csv (esp-radar layout) and a session.yaml giving 100 Hz and 30 Hz."""
    folder.mkdir(parents=True)
    t_device = 1.0 + 0.01 * np.arange(PINGS) if t_device is None else t_device
    write_log(folder / "csi.csv", t_device, t_host)
    (folder / "session.yaml").write_text("id: walk\nsubjects: [S1]\ncsi_rate_hz: 100\ncamera_rate_hz: 30\n")
    return folder


def positions_csv(path: Path, rows: int = 600) -> Path:
    """A positions CSV at 30 Hz over the clean log's host times, every label valid."""
    t = HOST_START + 1.0 + np.arange(rows) / 30
    lines = ["t_host,x_m,y_m"] + [f"{ti:.3f},{0.9 + 0.1 * np.sin(ti)},{2.4}" for ti in t]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def interim(tmp_path_factory) -> Path:
    """A clean session completed and aligned: interim/walk holds csi.* and aligned.*."""
    from lofi.cli import main

    root = tmp_path_factory.mktemp("ingest")
    session = make_session(root / "raw" / "walk")
    out = root / "interim" / "walk"
    assert main(["csi", str(session), "--out", str(out / "csi.parquet")]) == 0
    positions = positions_csv(out / "positions.csv")
    args = ["--csi", str(out / "csi.parquet"), "--positions", str(positions)]
    assert main(["align", str(session), *args, "--out", str(out / "aligned.parquet")]) == 0
    return root


def outputs(folder: Path) -> list[str]:
    """Names of the files in ``folder`` (none when it does not exist)."""
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# -- options ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "option", "value", "reason"),
    [
        ("csi", "--rate-hz", "0", "must be > 0"),
        ("csi", "--rate-hz", "-1", "must be > 0"),
        ("csi", "--rate-hz", "nan", "not a finite number"),
        ("csi", "--rate-hz", "inf", "not a finite number"),
        ("csi", "--rate-hz", "1e9", "must be <= 10000"),
        ("csi", "--clock-jump-s", "0", "must be > 0"),
        ("csi", "--max-gap-s", "-1", "must be >= 0"),
        ("csi", "--max-insert-s", "0", "must be > 0"),
        ("csi", "--max-insert-s", "-5", "must be > 0"),
        ("align", "--tolerance-s", "-1", "must be > 0"),
        ("align", "--tolerance-s", "0", "must be > 0"),
        ("align", "--tolerance-s", "nan", "not a finite number"),
    ],
)
def test_options_out_of_range(lofi, tmp_path, command, option, value, reason):
    session = make_session(tmp_path / "walk")
    out = tmp_path / "out"
    lofi(command, session, option, value, "--out", out / f"{command}.parquet").refused(option, value, reason)
    assert outputs(out) == []


# -- rates that would make up data -------------------------------------------------------------


@pytest.mark.parametrize(
    ("yaml_rate", "fragments"),
    [
        ("5000", ["csi.csv", "f2 = 5000 Hz (given)", "more than 10 per received", "100 Hz", "csi_rate_hz"]),
        ("1000000", ["session.yaml", "csi_rate_hz", "1e+06 Hz is above 10000 Hz"]),
    ],
)
def test_a_rate_that_would_invent_rows_is_refused_before_allocating(lofi, tmp_path, yaml_rate, fragments):
    session = make_session(tmp_path / "walk")
    (session / "session.yaml").write_text(f"csi_rate_hz: {yaml_rate}\n")
    lofi("csi", session, "--out", tmp_path / "out" / "csi.parquet").refused(*fragments)
    assert outputs(tmp_path / "out") == []


# -- host-time outliers, reboots, duplicates ---------------------------------------------------


def _one_host_time(value: float) -> tuple[np.ndarray, np.ndarray]:
    t = 1.0 + 0.01 * np.arange(PINGS)
    host = HOST_START + t
    host[PINGS // 2] = value
    return t, host


def _reboot(uptime_s: float) -> tuple[np.ndarray, np.ndarray]:
    """The ESP32 reboots after 1000 pings: its counter restarts near 0; the host clock runs on (+4 s)."""
    t = uptime_s + 0.01 * np.arange(PINGS)
    t[1000:] = 1.5 + 0.01 * np.arange(PINGS - 1000)
    host = HOST_START + 0.01 * np.arange(PINGS)
    host[1000:] += 4.0
    return t, host


@pytest.mark.parametrize(
    ("timing", "expected"),
    [
        (_one_host_time(0.0), {"bad_host_times": 1, "reboots": 0, "clock_jumps": 0, "segments": 1}),
        (
            _one_host_time(HOST_START + 365 * 86400.0),
            {"bad_host_times": 1, "reboots": 0, "clock_jumps": 0, "segments": 1},
        ),
        (_reboot(5.0), {"bad_host_times": 0, "reboots": 1, "clock_jumps": 0, "segments": 2}),
        (_reboot(3000.0), {"bad_host_times": 0, "reboots": 1, "clock_jumps": 0, "segments": 2}),
    ],
    ids=["host_1970", "host_a_year_off", "reboot", "reboot_after_35_min_uptime"],
)
def test_clock_outliers_are_counted_and_split_only_at_reboots(lofi, tmp_path, timing, expected):
    session = make_session(tmp_path / "walk", *timing)
    result = lofi("csi", session, "--out", tmp_path / "out" / "csi.parquet")
    assert result.code == 0, result.err
    report = json.loads((tmp_path / "out" / "csi.json").read_text())
    assert {k: report[k] for k in expected} == expected
    assert report["received"] == PINGS and report["lost"] == 0  # nothing invented across a reboot
    assert report["host_fit"]["residual_rms_ms"] < 1.0
    assert "reboots" in result.out and "bad host times" in result.out


def test_duplicated_rows_are_dropped_and_counted(lofi, tmp_path):
    session = make_session(tmp_path / "walk")
    lines = (session / "csi.csv").read_bytes().splitlines(keepends=True)
    (session / "csi.csv").write_bytes(b"".join([lines[0]] + [line for line in lines[1:] for _ in (0, 1)]))
    assert lofi("csi", session, "--out", tmp_path / "out" / "csi.parquet").code == 0
    report = json.loads((tmp_path / "out" / "csi.json").read_text())
    assert report["dropped"]["duplicate_row"] == PINGS and report["received"] == PINGS


# -- session.yaml ------------------------------------------------------------------------------


BAD_RATES = ["fast", "0", "-100", ".nan", ".inf", "[1, 2]"]


@pytest.mark.parametrize("command", ["csi", "align", "inspect"])
@pytest.mark.parametrize(
    ("text", "fragments"),
    [(f"{field}: {value}\n", [field, value.strip("[]").split(",")[0].replace(".", "")[:3]])
     for field in ("csi_rate_hz", "camera_rate_hz") for value in BAD_RATES]
    + [("- csi_rate_hz: 100\n", ["expected a mapping at the top level"])],
)  # fmt: skip
def test_bad_rates_in_session_yaml_name_the_file_and_field(lofi, interim, tmp_path, command, text, fragments):
    session = make_session(tmp_path / "walk")
    (session / "session.yaml").write_text(text)
    out = tmp_path / "out"
    extra = {
        "csi": ["--out", out / "csi.parquet"],
        "align": ["--csi", interim / "interim" / "walk" / "csi.parquet", "--positions",
                  interim / "interim" / "walk" / "positions.csv", "--out", out / "aligned.parquet"],
        "inspect": ["--out", out / "summary.json"],
    }[command]  # fmt: skip
    lofi(command, session, *extra).refused(str(session / "session.yaml"), *fragments)
    assert outputs(out) == []


# -- positions for `lofi align --positions` ----------------------------------------------------

T0 = HOST_START + 2.0
CSV_CASES = {
    "x_inf": (f"t_host,x_m,y_m\n{T0},1,1\n{T0 + 0.1},inf,1\n", ["row 2", "x_m = inf"]),
    "y_minus_inf": (f"t_host,x_m,y_m\n{T0},1,-inf\n", ["row 1", "y_m = -inf"]),
    "x_absurd": (f"t_host,x_m,y_m\n{T0},1,1\n{T0 + 0.1},1e300,1\n", ["row 2", "x_m = 1e+300", "1000 m"]),
    "nan_but_valid": (
        f"t_host,x_m,y_m,valid\n{T0},1,1,true\n{T0 + 0.1},,1,true\n",
        ["row 2", "x_m is missing in a row marked valid"],
    ),
    "t_decreasing": (
        f"t_host,x_m,y_m\n{T0},1,1\n{T0 + 0.2},1,1\n{T0 + 0.1},1,1\n",
        ["row 3", "t_host", "earlier than row 2", "time order"],
    ),
    "t_inf": (f"t_host,x_m,y_m\n{T0},1,1\ninf,1,1\n", ["row 2", "t_host = inf", "not a finite time"]),
    "t_empty": (f"t_host,x_m,y_m\n{T0},1,1\n,1,1\n", ["row 2", "t_host is empty"]),
    "t_milliseconds": (
        f"t_host,x_m,y_m\n{T0 * 1e3},1,1\n{T0 * 1e3 + 33},1,1\n",
        ["row 1", f"t_host = {T0 * 1e3!r}", "not in epoch seconds"],
    ),
    "x_text": (f"t_host,x_m,y_m\n{T0},1,1\n{T0 + 0.1},abc,1\n", ["row 2: x_m is not a number", "'abc'"]),
    "valid_word": (f"t_host,x_m,y_m,valid\n{T0},1,1,maybe\n", ["row 1", "valid is not true or false"]),
    "frame_fraction": (f"frame,t_host,x_m,y_m\n0.5,{T0},1,1\n", ["row 1", "frame = 0.5"]),
    "missing_column": (f"t_host,x\n{T0},1\n", ["missing column(s) x_m, y_m"]),
    "binary": (RANDOM_BYTES, ["cannot read positions", "not UTF-8"]),
}


@pytest.mark.parametrize("case", list(CSV_CASES))
def test_bad_positions_csv_names_the_file_row_and_column(lofi, interim, tmp_path, case):
    text, fragments = CSV_CASES[case]
    positions = tmp_path / "positions.csv"
    positions.write_bytes(text if isinstance(text, bytes) else text.encode())
    walk = interim / "interim" / "walk"
    out = tmp_path / "out" / "aligned.parquet"
    result = lofi("align", interim / "raw" / "walk", "--csi", walk / "csi.parquet", "--positions", positions,
                  "--out", out)  # fmt: skip
    result.refused(str(positions), *fragments)
    if "row" in fragments[0]:
        assert "rows count from 1 at the first row under the header" in result.err
    assert outputs(out.parent) == []


@pytest.mark.parametrize(
    ("edit", "fragments"),
    [
        (lambda t: t.assign(x_m=np.where(t["frame"] == 3, np.inf, t["x_m"])), ["row 4", "x_m = inf"]),
        (lambda t: t.assign(y_m=np.where(t["frame"] == 0, np.nan, t["y_m"])), ["row 1", "y_m is missing"]),
        (lambda t: t.assign(t_host=t["t_host"] * 1e3), ["row 1", "not in epoch seconds"]),
        (lambda t: t.assign(t_host=t["t_host"][::-1].to_numpy()), ["row 2", "earlier than row 1"]),
        (None, ["cannot read positions", "Parquet magic bytes"]),
    ],
    ids=["x_inf", "y_nan_valid", "t_ms", "t_reversed", "binary"],
)
def test_bad_positions_parquet_names_the_file_row_and_column(lofi, interim, tmp_path, edit, fragments):
    import pandas as pd

    walk = interim / "interim" / "walk"
    positions = tmp_path / "positions.parquet"
    if edit is None:
        positions.write_bytes(RANDOM_BYTES)
    else:
        table = pd.read_csv(walk / "positions.csv").assign(valid=True, reason="")
        edit(table.assign(frame=np.arange(len(table)))).to_parquet(positions)
    out = tmp_path / "out" / "aligned.parquet"
    result = lofi("align", interim / "raw" / "walk", "--csi", walk / "csi.parquet", "--positions", positions,
                  "--out", out)  # fmt: skip
    result.refused(str(positions), *fragments)
    assert outputs(out.parent) == []


# -- reports read by `lofi dataset` ------------------------------------------------------------


def _bad_copy(interim: Path, tmp_path: Path, name: str, content: bytes) -> Path:
    folder = tmp_path / "bad"
    shutil.copytree(interim / "interim" / "walk", folder)
    (folder / name).write_bytes(content)
    (folder / "session.yaml").unlink(missing_ok=True)
    return folder


def _aligned_with_session(folder: Path, session: str) -> None:
    """Rename the session inside aligned.parquet (the data set refuses a session given twice)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(folder / "aligned.parquet")
    column = pa.array([session] * table.num_rows)
    pq.write_table(table.set_column(table.column_names.index("session"), "session", column),
                   folder / "aligned.parquet")  # fmt: skip


@pytest.mark.parametrize(
    ("name", "content", "fragments"),
    [
        ("csi.json", b"{}", ["missing key(s) source, source_sha256, options, fill_method, loss_pct"]),
        ("csi.json", b"[1, 2]", ["expected a JSON object, got list"]),
        ("csi.json", RANDOM_BYTES, ["not valid JSON"]),
        ("csi.json", b'{"source": "x", "source_sha256": "y", "options": {}, "fill_method": "linear", '
                     b'"loss_pct": NaN}', ["NaN is not a JSON number"]),
        ("csi.json", b'{"source": "x", "source_sha256": "y", "options": {}, "fill_method": "linear", '
                     b'"loss_pct": "low"}', ["loss_pct: expected a number from 0 to 100, got 'low'"]),
        ("aligned.json", b"{}", ["missing key(s) positions, positions_sha256, tolerance_s"]),
        ("aligned.json", b'"text"', ["expected a JSON object, got str"]),
        ("aligned.json", RANDOM_BYTES, ["not valid JSON"]),
        ("aligned.json", b'{"positions": "p", "positions_sha256": "s", "tolerance_s": -1}',
         ["tolerance_s: expected a positive number of seconds or null, got -1"]),
        ("aligned.parquet", RANDOM_BYTES, ["cannot read the aligned table"]),
    ],
    ids=["csi_empty", "csi_list", "csi_binary", "csi_nan", "csi_text_loss", "aligned_empty",
         "aligned_text", "aligned_binary", "aligned_negative_tolerance", "aligned_parquet_binary"],
)  # fmt: skip
def test_bad_session_reports_are_refused_before_anything_is_written(lofi, interim, tmp_path, name, content,
                                                                    fragments):  # fmt: skip
    bad = _bad_copy(interim, tmp_path, name, content)
    if name != "aligned.parquet":
        _aligned_with_session(bad, "other")
    out_dir = tmp_path / "processed"
    result = lofi("dataset", "demo", "--interim", interim / "interim" / "walk", bad, "--out-dir", out_dir)
    result.refused(str(bad / name), *fragments)
    assert not out_dir.exists()


@pytest.mark.parametrize("name", ["../escape", "/tmp/escape", "", "a/b", ".", "..", "a\\b"])
def test_a_data_set_name_that_is_not_one_folder_name_is_refused(lofi, interim, tmp_path, name):
    out_dir = tmp_path / "processed"
    result = lofi("dataset", name, "--interim", interim / "interim" / "walk", "--out-dir", out_dir)
    result.refused("argument name", "empty" if not name else "not a plain folder name")
    assert not out_dir.exists() and not (tmp_path / "escape").exists()


# -- binary and undecodable inputs -------------------------------------------------------------


@pytest.mark.parametrize("content", [RANDOM_BYTES, b"", b"\xff\xfe" + "type,seq\n".encode("utf-16-le")])
def test_a_csi_log_without_rows_is_refused_with_the_reason(lofi, tmp_path, content):
    session = make_session(tmp_path / "walk")
    (session / "csi.csv").write_bytes(content)
    result = lofi("csi", session, "--out", tmp_path / "out" / "csi.parquet")
    result.refused(str(session / "csi.csv"), "no CSI ping rows")
    assert any(why in result.err for why in ("looks binary", "is empty", "no CSI_DATA rows", "no line is"))
    assert outputs(tmp_path / "out") == []


# -- a failure while writing leaves no half-made output ----------------------------------------


def test_a_report_that_cannot_be_written_leaves_no_table(lofi, tmp_path):
    session = make_session(tmp_path / "walk")
    (tmp_path / "out" / "csi.json").mkdir(parents=True)  # the report's name is taken by a folder
    lofi("csi", session, "--out", tmp_path / "out" / "csi.parquet").refused("csi.json", "is a folder")
    assert outputs(tmp_path / "out") == ["csi.json"] and not (tmp_path / "out" / "csi.parquet").exists()


# -- the CSI-BERT fill needs a real recovery file -------------------------------------------


def _lightning_like_checkpoint(path: Path) -> Path:
    """A checkpoint of another model (a state dict under 'state_dict', as Lightning writes)."""
    import torch

    torch.save({"state_dict": {"model.conv.weight": torch.zeros(2, 2)}, "epoch": 3}, path)
    return path


@pytest.mark.parametrize(
    ("case", "fragments"),
    [
        ("none", ["--fill csibert needs --checkpoint"]),
        ("missing", ["no such CSI-BERT recovery file"]),
        ("other", ["not a CSI-BERT recovery file", "names no format"]),
        ("garbage", ["not a CSI-BERT recovery file readable without running code"]),
        ("with_linear", ["--checkpoint is only used by --fill csibert"]),
    ],
)
def test_a_csibert_fill_without_a_usable_recovery_file_is_refused(lofi, tmp_path, case, fragments):
    session = make_session(tmp_path / "walk")
    paths = {"missing": tmp_path / "nope.pt", "other": _lightning_like_checkpoint(tmp_path / "cnn.ckpt"),
             "garbage": tmp_path / "garbage.pt", "with_linear": tmp_path / "nope.pt"}  # fmt: skip
    paths["garbage"].write_bytes(RANDOM_BYTES)
    fill = ["--fill", "linear" if case == "with_linear" else "csibert"]
    checkpoint = [] if case == "none" else ["--checkpoint", paths[case]]
    result = lofi("csi", session, *fill, *checkpoint, "--out", tmp_path / "out" / "csi.parquet")
    result.refused(*fragments, *([str(paths[case])] if case in ("missing", "other", "garbage") else []))
    assert outputs(tmp_path / "out") == []

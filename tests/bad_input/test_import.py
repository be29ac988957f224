"""Bad input to ``lofi import-lofi``: published pickles and folders of raw CSV logs.

Everything is checked before anything is written: a bad record or a bad log anywhere in
the input leaves the output folders absent. Two records of the same person are both kept,
in folders numbered ``_1``, ``_2`` in file order.
"""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from tests.csi.logs import write_log

ROWS = 200


def record(person: str, rows: int = ROWS, seed: int = 0) -> dict:
    """One person in the published wiloc.pkl layout (10-ms pings, some lost, some unlabelled)."""
    rng = np.random.default_rng(seed)
    magnitude = rng.uniform(5, 30, (rows, 52))
    magnitude[[10, 11]] = -1000
    x = rng.uniform(0, 1.8, rows)
    x[:3] = -1000
    return {
        "magnitude": magnitude,
        "phase": np.where(magnitude == -1000, -1000, rng.uniform(-3, 3, (rows, 52))),
        "time": 5e6 + 1e4 * np.arange(rows),
        "people": person,
        "x": list(x),
        "y": list(rng.uniform(0, 4.8, rows)),
    }


def dump(path: Path, obj: object) -> Path:
    with open(path, "wb") as handle:
        pickle.dump(obj, handle, protocol=4)
    return path


def import_pickle(lofi, path: Path, interim: Path, *extra: str):
    return lofi("import-lofi", path, "--interim-dir", interim, "--trust-pickle", *extra)


def _set(key: str, value) -> object:
    def edit(r: dict) -> dict:
        return {**r, key: value(r) if callable(value) else value}

    return edit


def _time_at(row: int, value: float):
    def edit(r: dict) -> dict:
        time = r["time"].copy()
        time[row] = value
        return {**r, "time": time}

    return edit


def _empty(r: dict) -> dict:
    return {**r, "magnitude": np.zeros((0, 52)), "phase": np.zeros((0, 52)), "time": [], "x": [], "y": []}


@pytest.mark.parametrize(
    ("edit", "fragments"),
    [
        (_set("time", lambda r: r["time"][::-1]), ["time: row 2 (1-based)", "not later than row 1's"]),
        (_set("time", np.full(ROWS, 5e6)), ["time: row 2 (1-based) is 5000000 us", "not later than row 1's"]),
        (_time_at(50, np.nan), ["time: row 51 (1-based) is nan", "not a time in us"]),
        (_time_at(50, np.inf), ["time: row 51 (1-based) is inf"]),
        (_set("time", lambda r: r["time"][:-1]), ["magnitude has 200 rows, phase 200, time 199"]),
        (_empty, ["time: no rows"]),
        (_set("magnitude", lambda r: r["magnitude"][:, :7]), ["magnitude: 7 subcarriers per row", "has 52"]),
        (_set("phase", lambda r: r["phase"][:, :51]), ["phase: 51 subcarriers per row"]),
        (_set("magnitude", [["a"] * 52] * ROWS), ["magnitude: not an array of numbers"]),
        (_set("people", ["bob", "carol"]), ["people: expected a person's name"]),
        (_set("people", ""), ["people: expected a person's name"]),
        (_set("x", lambda r: [np.inf, *r["x"][1:]]), ["x: row 1 (1-based) is inf", "not a floor position"]),
        (_set("y", lambda r: [*r["y"][:-1], 1e300]), ["y: row 200 (1-based) is 1e+300"]),
        (lambda r: {k: v for k, v in r.items() if k != "time"}, ["missing key(s) time"]),
    ],
    ids=[
        "time_reversed",
        "time_constant",
        "time_nan",
        "time_inf",
        "time_short",
        "zero_rows",
        "seven_subcarriers",
        "phase_51",
        "magnitude_text",
        "people_list",
        "people_empty",
        "x_inf",
        "y_absurd",
        "no_time",
    ],
)
def test_a_bad_record_is_refused_and_nothing_is_written(lofi, tmp_path, edit, fragments):
    path = dump(tmp_path / "wiloc.pkl", [record("alice"), edit(record("bob", seed=1))])
    result = import_pickle(lofi, path, tmp_path / "interim")
    result.refused(str(path), "record 1", *fragments)
    assert not (tmp_path / "interim").exists()  # alice, who was fine, is not imported either


def test_two_records_of_one_person_are_both_kept(lofi, tmp_path):
    path = dump(tmp_path / "wiloc.pkl", [record("alice"), record("bob", seed=1), record("alice", seed=2)])
    result = import_pickle(lofi, path, tmp_path / "interim")
    assert result.code == 0, result.err
    folders = sorted(p.name for p in (tmp_path / "interim").iterdir())
    assert folders == ["lofi_alice_1", "lofi_alice_2", "lofi_bob"]
    assert "3 record(s)" in result.out and "lofi_alice_2" in result.out
    import pandas as pd

    first, second = (pd.read_parquet(tmp_path / "interim" / f / "aligned.parquet") for f in folders[:2])
    assert not first["x_m"].equals(second["x_m"])  # two different recordings
    assert set(first["subject"]) == set(second["subject"]) == {"alice"}
    assert set(second["session"]) == {"lofi_alice_2"}
    interim = [tmp_path / "interim" / f for f in folders]
    assert lofi("dataset", "lofi", "--interim", *interim, "--out-dir", tmp_path / "processed").code == 0


@pytest.mark.parametrize("trust", [True, False])
@pytest.mark.parametrize("name", ["wiloc.pkl", "csv_folder"])
def test_a_missing_path_says_it_does_not_exist(lofi, tmp_path, trust, name):
    missing = tmp_path / name
    args = ["import-lofi", missing, "--interim-dir", tmp_path / "i", "--raw-dir", tmp_path / "r"]
    result = lofi(*args, *(["--trust-pickle"] if trust else []))
    result.refused(str(missing), "no such file or folder")
    assert "--trust-pickle" not in result.err.split("(give")[0]
    assert not (tmp_path / "i").exists() and not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (np.random.default_rng(5).bytes(3000), "the file looks binary"),
        (b"", "the file is empty"),
        (b"name,age\nann,3\n", "no line is a complete CSI row"),
    ],
    ids=["binary", "empty", "not_csi"],
)
def test_one_bad_log_in_a_folder_imports_nothing(lofi, tmp_path, content, reason):
    logs = tmp_path / "csv"
    for person in ("alice", "bob", "carol"):
        (logs / person).mkdir(parents=True)
        write_log(logs / person / "take1.csv", 1.0 + 0.01 * np.arange(50))
    bad = logs / "bob" / "take2.csv"
    bad.write_bytes(content)
    result = lofi("import-lofi", logs, "--raw-dir", tmp_path / "raw")
    result.refused(str(bad), "no CSI rows", reason, "1 of 4 log(s) cannot be imported, nothing written")
    assert not (tmp_path / "raw").exists()


def test_logs_whose_session_names_coincide_are_both_kept(lofi, tmp_path):
    logs = tmp_path / "csv"
    for person, start in (("a b", 1.0), ("a_b", 7.0)):
        (logs / person).mkdir(parents=True)
        write_log(logs / person / "take1.csv", start + 0.01 * np.arange(50))
    assert lofi("import-lofi", logs, "--raw-dir", tmp_path / "raw").code == 0
    sessions = sorted(p.name for p in (tmp_path / "raw").iterdir())
    assert sessions == ["lofi_a_b_take1_1", "lofi_a_b_take1_2"]
    for session, person in zip(sessions, ("a b", "a_b"), strict=True):
        copied = (tmp_path / "raw" / session / "csi.csv").read_bytes()
        assert copied == (logs / person / "take1.csv").read_bytes()


class _Payload:
    """Unpickling this calls ``call(*args)``: what a malicious pickle does."""

    def __init__(self, call, *args):
        self.call, self.args = call, args

    def __reduce__(self):
        return (self.call, self.args)


def _payloads(sentinel: Path) -> dict[str, object]:
    touch = f"open({str(sentinel)!r}, 'w').write('ran')"
    return {
        "os_system": [_Payload(os.system, f"touch {sentinel}")],
        "builtin_open": [{"magnitude": _Payload(open, str(sentinel), "w"), "people": "p"}],
        "exec": [_Payload(exec, touch)],
        "eval_in_time": [{**record("alice"), "time": _Payload(eval, touch)}],
        "inside_object_array": [{**record("alice"), "x": np.array([_Payload(exec, touch)], dtype=object)}],
        "top_level": _Payload(exec, touch),
    }


@pytest.mark.parametrize("trust", [True, False])
@pytest.mark.parametrize(
    "payload",
    ["os_system", "builtin_open", "exec", "eval_in_time", "inside_object_array", "top_level"],
)
def test_a_pickle_that_would_run_code_never_runs_it(lofi, tmp_path, payload, trust):
    sentinel = tmp_path / "sentinel"
    path = dump(tmp_path / "evil.pkl", _payloads(sentinel)[payload])
    args = ["import-lofi", path, "--interim-dir", tmp_path / "interim"]
    result = lofi(*args, *(["--trust-pickle"] if trust else []))
    result.refused(str(path), "not plain data; refused" if trust else "--trust-pickle")
    assert not sentinel.exists()
    assert not (tmp_path / "interim").exists()


@pytest.mark.parametrize(("value", "reason"), [("-1", "must be >= 0"), ("nan", "not a finite number")])
def test_max_gap_out_of_range_is_refused(lofi, tmp_path, value, reason):
    path = dump(tmp_path / "wiloc.pkl", [record("alice")])
    result = import_pickle(lofi, path, tmp_path / "interim", "--max-gap-s", value)
    result.refused("--max-gap-s", value, reason)
    assert not (tmp_path / "interim").exists()


def test_a_good_pickle_still_imports(lofi, tmp_path):
    path = dump(tmp_path / "wiloc.pkl", [record("alice"), record("bob", seed=1)])
    assert import_pickle(lofi, path, tmp_path / "interim").code == 0
    report = json.loads((tmp_path / "interim" / "lofi_alice" / "csi.json").read_text())
    assert report["lost"] == 2 and report["filled"] == 2

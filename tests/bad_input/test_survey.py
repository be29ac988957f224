"""Bad input to surveyed-point sessions: ``lofi align --at``, ``position_m``, ``split=cross_point``.

Each case runs the command as a user would and checks the exit code, that the message names
the option or file and field, the value and the reason, and that nothing was written.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from lofi.cli import main
from tests.bad_input.test_training import run_train
from tests.stages.survey import csi_and_align, make_point_session

REGION = "x 0..1.8 m, y 0..4.8 m"


@pytest.fixture(scope="module")
def point_session(tmp_path_factory) -> tuple[Path, Path]:
    """A raw surveyed-point session (no host times) and its completed csi.parquet."""
    root = tmp_path_factory.mktemp("survey")
    raw = make_point_session(root / "raw" / "p", (0.9, 2.4), seconds=3.0)
    assert main(["csi", str(raw), "--out", str(root / "csi.parquet")]) == 0
    return raw, root / "csi.parquet"


def _align(lofi, raw: Path, csi: Path, out: Path, *extra: str):
    return lofi("align", raw, "--csi", csi, "--out", out / "aligned.parquet", *extra)


@pytest.mark.parametrize(("value", "shown"), [("9,9", "9,9"), ("-0.1,2", "-0.1,2"), ("1,4.9", "1,4.9")])
def test_at_outside_the_region_names_the_value_and_the_region(lofi, point_session, tmp_path, value, shown):
    raw, csi = point_session
    _align(lofi, raw, csi, tmp_path, f"--at={value}").refused(
        f"--at = {shown} m", "outside the floor region", REGION
    )
    assert not tmp_path.joinpath("aligned.parquet").exists()


def test_a_calibration_region_is_the_region_an_at_value_is_checked_against(lofi, point_session, tmp_path):
    raw, csi = point_session
    session = tmp_path / "p"
    shutil.copytree(raw, session)
    (session / "calibration.yaml").write_text("region: {x_m: [0, 1], y_m: [0, 1]}\n")
    _align(lofi, session, csi, tmp_path, "--at", "0.9,2.4").refused(
        "--at = 0.9,2.4 m", "x 0..1 m, y 0..1 m", str(session / "calibration.yaml")
    )


@pytest.mark.parametrize("value", ["nan,1", "1,inf", "abc", "1", "1,2,3", "1;2", ""])
def test_at_that_is_not_two_finite_numbers_is_a_usage_error(lofi, point_session, tmp_path, value):
    raw, csi = point_session
    _align(lofi, raw, csi, tmp_path, f"--at={value}").refused(
        "argument --at", repr(value), "two finite numbers"
    )


def test_at_and_positions_together_are_refused(lofi, point_session, tmp_path):
    raw, csi = point_session
    _align(lofi, raw, csi, tmp_path, "--at", "1,1", "--positions", tmp_path / "p.csv").refused(
        "argument --positions: not allowed with argument --at"
    )


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("[1]", "[1]"),
        ("[1, 2, 3]", "[1, 2, 3]"),
        ("[a, b]", "['a', 'b']"),
        ("'0.9,2.4'", "'0.9,2.4'"),
        ("[.nan, 1]", "[nan, 1]"),
        ("[true, 1]", "[True, 1]"),
        ("{x: 1, y: 2}", "{'x': 1, 'y': 2}"),
    ],
)
def test_malformed_position_m_names_the_file_field_and_value(lofi, point_session, tmp_path, text, shown):
    raw, csi = point_session
    session = tmp_path / "p"
    shutil.copytree(raw, session)
    (session / "session.yaml").write_text(f"id: p\ncsi_rate_hz: 100\nposition_m: {text}\n")
    _align(lofi, session, csi, tmp_path).refused(
        f"{session / 'session.yaml'}: position_m: expected [x, y]", f"got {shown}"
    )
    assert not tmp_path.joinpath("aligned.parquet").exists()


def test_position_m_outside_the_region_names_the_file_and_region(lofi, point_session, tmp_path):
    raw, csi = point_session
    session = tmp_path / "p"
    shutil.copytree(raw, session)
    (session / "session.yaml").write_text("id: p\ncsi_rate_hz: 100\nposition_m: [2.5, 1]\n")
    _align(lofi, session, csi, tmp_path).refused(f"{session / 'session.yaml'}: position_m = 2.5,1 m", REGION)


def test_a_session_with_nothing_to_label_it_says_what_would(lofi, point_session, tmp_path):
    raw, csi = point_session
    session = tmp_path / "p"
    shutil.copytree(raw, session)
    (session / "session.yaml").write_text("id: p\ncsi_rate_hz: 100\n")
    _align(lofi, session, csi, tmp_path).refused(
        "nothing to label the CSI with", "--positions", "--at X,Y", "position_m"
    )


def test_a_point_summary_that_its_table_contradicts_is_refused(lofi, point_session, tmp_path):
    raw, csi = point_session
    interim = tmp_path / "p"
    interim.mkdir()
    for name in ("csi.parquet", "csi.json"):
        shutil.copy(csi.parent / name, interim / name)
    assert main(["align", str(raw), "--csi", str(interim / "csi.parquet"), "--out",
                 str(interim / "aligned.parquet")]) == 0  # fmt: skip
    summary = json.loads((interim / "aligned.json").read_text())
    for value, fragments in (([0.9, 2.5], ["position_m = [0.9, 2.5]", "300 label-valid row(s) elsewhere"]),
                             ([0.9], ["position_m: expected [x, y]"])):  # fmt: skip
        (interim / "aligned.json").write_text(json.dumps({**summary, "position_m": value}))
        lofi("dataset", "d", "--interim", interim, "--out-dir", tmp_path / "out").refused(
            str(interim / "aligned.json"), *fragments
        )
        assert not (tmp_path / "out" / "d").exists()


def test_cross_point_with_two_points_is_refused_before_training(tmp_path):
    folders = []
    for k, point in enumerate([(0.5, 1.0), (1.5, 1.0), (0.5, 1.0)]):
        raw = make_point_session(tmp_path / "raw" / f"s{k}", point, seconds=4.0, seed=k)
        folders.append(csi_and_align(raw, tmp_path / "interim" / f"s{k}"))
    assert main(["dataset", "two", "--interim", *map(str, folders), "--out-dir", str(tmp_path)]) == 0
    result = run_train(f"data.dir={tmp_path / 'two'}", "data.split=cross_point", cwd=tmp_path)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    for fragment in (
        "split 'cross_point' needs sessions at 3 or more distinct points",
        "got 2: (0.5, 1), (1.5, 1)",
    ):
        assert fragment in result.stderr, result.stderr[-2000:]

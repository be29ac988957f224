"""Bad input to the commands that make and check sessions: simulate, preview-scene, calibrate."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from lofi.stages.scenes import scene_path


@pytest.fixture(scope="module")
def simulated(tmp_path_factory) -> Path:
    """A 2-s walk made by `lofi simulate` (the reference for the cases below)."""
    from lofi.cli import main

    out = tmp_path_factory.mktemp("sessions") / "walk"
    assert main(["simulate", "--subject", "S1", "--seconds", "2", "--out", str(out), "--quiet"]) == 0
    return out


def test_simulate_never_deletes_files_it_did_not_write(lofi, tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "thesis.tex").write_text("three years of work")
    lofi("simulate", "--subject", "S1", "--seconds", "1", "--out", folder, "--quiet").refused(
        str(folder), "was not written by `lofi simulate`", "--force"
    )
    assert sorted(p.name for p in folder.iterdir()) == ["thesis.tex"]
    assert (
        lofi("simulate", "--subject", "S1", "--seconds", "1", "--out", folder, "--quiet", "--force").code == 0
    )
    assert (folder / "thesis.tex").read_text() == "three years of work"
    assert (folder / "csi.csv").is_file() and (folder / "truth" / "frames.parquet").is_file()


def test_simulate_fills_a_folder_of_empty_folders(lofi, tmp_path):
    """Snakemake creates an output's folders (``truth/``) before the job runs."""
    (tmp_path / "s" / "truth").mkdir(parents=True)
    assert lofi("simulate", "--subject", "S1", "--seconds", "1", "--out", tmp_path / "s", "--quiet").code == 0
    assert (tmp_path / "s" / "truth" / "pings.parquet").is_file()


def test_simulate_replaces_its_own_earlier_output(lofi, simulated, tmp_path):
    again = tmp_path / "walk"
    shutil.copytree(simulated, again)
    (again / "notes.txt").write_text("kept")
    assert lofi("simulate", "--subject", "S1", "--seconds", "2", "--out", again, "--quiet").code == 0
    assert (again / "notes.txt").read_text() == "kept"
    assert (again / "csi.csv").read_bytes() == (simulated / "csi.csv").read_bytes()
    assert not list(tmp_path.glob(".walk.partial-*"))


@pytest.mark.parametrize(
    ("option", "value", "reason"),
    [
        ("--seconds", "inf", "not a finite number"),
        ("--seconds", "0", "must be > 0"),
        ("--seconds", "-5", "must be > 0"),
        ("--minutes", "1e9", "must be <= 180"),
        ("--seed", "-1", "must be >= 0"),
        ("--stand-s", "nan", "not a finite number"),
        ("--device-clock-start-us", "5000000000", "must be <="),
        ("--outfit-change-s", "0", "must be > 0"),
    ],
)
def test_simulate_options_out_of_range(lofi, tmp_path, option, value, reason):
    lofi("simulate", "--subject", "S1", option, value, "--out", tmp_path / "s").refused(option, reason)
    assert not (tmp_path / "s").exists()


def broken_scene(tmp_path: Path, edit) -> Path:
    data = yaml.safe_load(scene_path("lab").read_text())
    edit(data)
    path = tmp_path / "scene.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(
    ("edit", "fragments"),
    [
        (lambda d: d.update(radoi=d.pop("radio")), ["radio: missing", "'radoi' a misspelling"]),
        (
            lambda d: d["radio"].update(ping_hzz=5),
            ["radio.ping_hzz: unknown field", "did you mean 'ping_hz'"],
        ),
        (lambda d: d["radio"].update(ping_hz=0), ["radio.ping_hz", "outside"]),
        (
            lambda d: d["cameras"]["paper"].update(hfov_deg="wide"),
            ["cameras.paper.hfov_deg", "expected a number"],
        ),
    ],
)
def test_scene_errors_name_the_file_and_field(lofi, tmp_path, edit, fragments):
    scene = broken_scene(tmp_path, edit)
    lofi("simulate", "--scene", scene, "--subject", "S1", "--seconds", "1", "--out", tmp_path / "s").refused(
        str(scene), *fragments
    )
    lofi("preview-scene", "--scene", scene, "--out", tmp_path / "p.png").refused(str(scene), *fragments)
    assert not (tmp_path / "s").exists() and not (tmp_path / "p.png").exists()


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"\xff\xfe\x00binary\x9c", "not valid YAML"),
        (b"- a\n- b\n", "expected a mapping"),
        (b"", "expected a mapping"),
    ],
)
def test_unreadable_scene_files(lofi, tmp_path, content, fragment):
    scene = tmp_path / "scene.yaml"
    scene.write_bytes(content)
    lofi("preview-scene", "--scene", scene, "--out", tmp_path / "p.png").refused(str(scene), fragment)
    lofi("preview-scene", "--scene", "labb", "--out", tmp_path / "p.png").refused(
        "labb", "did you mean 'lab'"
    )


SQUARE = [
    "--anchor",
    "0,0,0,0",
    "--anchor",
    "600,0,1.8,0",
    "--anchor",
    "600,400,1.8,4.8",
    "--anchor",
    "0,400,0,4.8",
]


@pytest.mark.parametrize(
    ("extra", "fragments"),
    [
        (["--region", "0,0"], ["region.x_m", "must have hi > lo"]),
        (["--region=-1,4.8"], ["region.x_m", "must have hi > lo"]),
        (["--region", "nan,4.8"], ["region.x_m", "finite"]),
        (["--intrinsics", "0,0,0,0"], ["intrinsics.fx", "must be > 0"]),
        (["--intrinsics", "500,500,320,240", "--distortion", "nan,0,0,0,0"], ["distortion[0]", "finite"]),
        (["--anchor", "10,10,1e308,2"], ["anchor 4 floor", "beyond"]),
        (["--image-size", "0,480"], ["image_size"]),
        (["--preview", "missing.png"], ["missing.png", "not an image or a readable video"]),
    ],
)
def test_calibrate_refuses_unusable_calibrations(lofi, tmp_path, extra, fragments):
    out = tmp_path / "calibration.yaml"
    lofi("calibrate", *SQUARE, *extra, "--out", out).refused(*fragments)
    assert not out.exists() and not out.with_suffix(".preview.png").exists()

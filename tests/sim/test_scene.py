"""Scene files load, and invalid ones fail naming the field."""

from __future__ import annotations

import copy

import pytest
import yaml

from lofi.sim.scene import SceneError, parse_scene
from lofi.stages.scenes import load_scene, scene_path

SCENE = scene_path("lab")


@pytest.fixture(scope="module")
def scene_dict() -> dict:
    return yaml.safe_load(SCENE.read_text())


def test_default_scene(scene_dict):
    scene = load_scene(SCENE)
    assert set(scene.cameras) == {"paper", "side", "corner"}
    assert len(scene.subjects) == 7 and len(scene.detector_subjects) == 3
    assert scene.region.size_m == (1.8, 4.8)
    assert not {s.id for s in scene.subjects} & {s.id for s in scene.detector_subjects}


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda d: d["cameras"]["side"].update(look_at_m=[6.0, 7.5, 2.0]),
            "cameras.side.look_at_m: the camera cannot see",
        ),
        (
            lambda d: d["radio"].update(rx_m=d["radio"]["tx_m"]),
            "radio.rx_m: the receiver is at the transmitter",
        ),
        (lambda d: d["region"].update(origin_m=[6.0, 1.0]), "region: the region"),
        (lambda d: d["radio"].pop("channel"), "radio.channel: missing"),
        (lambda d: d["room"].update(size_m=[7, "wide", 3]), "room.size_m.1: expected a number"),
        (lambda d: d["subjects"][2].update(height_m=3.1), "subjects[2].height_m: 3.1 is outside"),
        (lambda d: d["room"]["surfaces"]["floor"].update(gamma=1.5), "room.surfaces.floor.gamma"),
        (
            lambda d: d["radio"].update(tx_m=[9.0, 1.0, 1.0]),
            "radio.tx_m: (9.0, 1.0, 1.0) is outside the room",
        ),
        (lambda d: d["subjects"].append(dict(d["subjects"][0])), "subject ids must be unique"),
    ],
)
def test_invalid_scenes_name_the_field(scene_dict, edit, message):
    broken = copy.deepcopy(scene_dict)
    edit(broken)
    with pytest.raises(SceneError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        parse_scene(broken, "bad.yaml")


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(SceneError, match=r"nope\.yaml: no such scene file"):
        load_scene(tmp_path / "nope.yaml")
    with pytest.raises(SceneError, match=r"no packaged scene of that name .* did you mean 'lab'"):
        load_scene("lba")
    bad = tmp_path / "bad.yaml"
    bad.write_text("room: [unclosed")
    with pytest.raises(SceneError, match="not valid YAML"):
        load_scene(bad)

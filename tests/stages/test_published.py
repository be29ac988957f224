"""Import of the published LoFi data: guarded pickles, both pickle shapes, raw CSV folders."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from lofi.io.dataset_store import load_dataset
from lofi.io.lofi_pickles import PickleTrustError, load_published_pickle
from lofi.io.session import read_yaml
from lofi.stages.dataset import SessionInputs, build_dataset
from lofi.stages.import_lofi import import_pickle, import_raw_csvs

from ..csi.logs import write_log


def _published(n: int = 300, with_labels: bool = True) -> list[dict]:
    rng = np.random.default_rng(0)
    records = []
    for person in ("alice", "bob"):
        magnitude = rng.uniform(5, 30, (n, 52))
        magnitude[[10, 11, 12]] = -1000  # lost packets
        magnitude[100:200] = -1000  # an outage of 1 s
        record = {
            "magnitude": magnitude,
            "phase": np.where(magnitude == -1000, -1000, rng.uniform(-3, 3, (n, 52))),
            "time": 5e6 + 1e4 * np.arange(n),
            "people": person,
        }
        if with_labels:
            x = rng.uniform(0, 1.8, n)
            x[:5] = -1000
            record |= {"x": list(x), "y": list(rng.uniform(0, 4.8, n)), "img_path": ["p"] * n}
        else:
            record["global_time"] = np.arange(n, dtype=float)
        records.append(record)
    return records


def _dump(path, obj, protocol):
    with open(path, "wb") as handle:
        pickle.dump(obj, handle, protocol=protocol)


def test_pickles_need_explicit_trust(tmp_path):
    _dump(tmp_path / "wiloc.pkl", _published(), 4)
    with pytest.raises(PickleTrustError, match="--trust-pickle"):
        import_pickle(tmp_path / "wiloc.pkl", tmp_path / "interim", trust=False)


class _Exploit:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_even_a_trusted_pickle_only_builds_plain_data(tmp_path, capsys):
    _dump(tmp_path / "evil.pkl", [{"magnitude": _Exploit()}], 4)
    with pytest.raises(PickleTrustError, match=r"builtins\.print"):
        load_published_pickle(tmp_path / "evil.pkl", trust=True)
    assert "never run" not in capsys.readouterr().out


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_wiloc_pickle_becomes_a_data_set(tmp_path, protocol):
    _dump(tmp_path / "wiloc.pkl", _published(), protocol)
    folders = import_pickle(tmp_path / "wiloc.pkl", tmp_path / "interim", trust=True, max_gap_s=0.5)
    build_dataset("lofi", [SessionInputs.from_folder(f) for f in folders], tmp_path / "lofi")
    data = load_dataset(tmp_path / "lofi")
    alice = data.frames.iloc[data.session_rows("lofi_alice")]
    amplitude = data.amplitude[data.session_rows("lofi_alice")]
    assert alice["lost"].sum() == 103
    assert alice["filled"].sum() == 3 and np.isfinite(amplitude[10:13]).all()
    assert np.isnan(amplitude[100:200]).all()  # the 1-s outage is not bridged
    assert set(alice["reason"].iloc[:5]) == {"no_label"} and np.isnan(alice["x_m"].iloc[:5]).all()
    assert set(alice["reason"].iloc[100:200]) == {"csi_missing"}
    np.testing.assert_allclose(alice["t_device"].iloc[1] - alice["t_device"].iloc[0], 0.01)


def test_data_sequence_pickle_imports_without_labels(tmp_path):
    _dump(tmp_path / "data_sequence.pkl", _published(with_labels=False), 4)
    folders = import_pickle(tmp_path / "data_sequence.pkl", tmp_path / "interim", trust=True)
    manifest = build_dataset("seq", [SessionInputs.from_folder(f) for f in folders], tmp_path / "seq")
    assert [e["label_valid"] for e in manifest["sessions"]] == [0, 0]
    assert manifest["sessions"][0]["unlabelled_by_reason"] == {"no_label": 300}


def test_a_pickle_of_the_wrong_shape_is_a_clear_error(tmp_path):
    _dump(tmp_path / "bad.pkl", {"not": "a list"}, 4)
    with pytest.raises(ValueError, match="list of per-person dicts"):
        import_pickle(tmp_path / "bad.pkl", tmp_path / "interim", trust=True)
    record = _published()[0]
    record["time"] = record["time"][:-1]
    _dump(tmp_path / "short.pkl", [record], 4)
    with pytest.raises(ValueError, match="record 0: magnitude has 300 rows, phase 300, time 299"):
        import_pickle(tmp_path / "short.pkl", tmp_path / "interim", trust=True)


def test_raw_csv_folder_becomes_sessions_without_video(tmp_path):
    for person in ("alice", "bob"):
        (tmp_path / "csv" / person).mkdir(parents=True)
        write_log(tmp_path / "csv" / person / "take1.csv", 1.0 + 0.01 * np.arange(50))
    sessions = import_raw_csvs(tmp_path / "csv", tmp_path / "raw")
    assert [s.name for s in sessions] == ["lofi_alice_take1", "lofi_bob_take1"]
    meta = read_yaml(sessions[0] / "session.yaml")
    assert meta["subjects"] == ["alice"] and meta["csv_layout"] == "esp-radar" and meta["kind"] == "real"
    assert (sessions[0] / "csi.csv").read_bytes() == (tmp_path / "csv" / "alice" / "take1.csv").read_bytes()
    assert not (sessions[0] / "video.mp4").exists()

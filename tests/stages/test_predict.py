"""``lofi predict``: every localisation run saves model.pt, and applying it to CSI reproduces the run.

A tiny data set (3 sessions x 20 s, subjects S1-S3) trains a GRU (smoke trainer), the k-NN and
the mean baseline; ``lofi simulate`` makes an unseen session of subject S4 with its truth.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from lofi.cli import main
from lofi.io.dataset_store import load_dataset
from lofi.io.run_model import RunModel, load_run_model
from lofi.stages.dataset import SessionInputs, build_dataset
from lofi.stages.predict import (
    SessionCsi,
    load_run,
    predict_windows,
    prediction_table,
    read_session_csi,
    window_starts,
)
from lofi.train.run import train
from tests.stages.conftest import make_interim
from tests.train.conftest import config

COLUMNS = ["t_host", "t_device", "start", "segment", "x_m", "y_m", "region2", "region4", "region6"]
LENGTH = 100  # rows per window of the runs (data.length, 1 s at 100 Hz)
RUNS = {
    "gru": ("model=gru",),
    "knn": ("model=knn", "data.normalize=none"),
    "mean": ("model=mean",),
    # the saved training statistics (global) and extra inputs, in both views
    "gru_global": ("model=gru", "data.normalize=global", "data.extra=[phase,rssi]"),
    "cnn_extra": ("model=cnn", "data.extra=[phase,rssi]"),
}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    """The project folder: raw/t_S1..t_S3 (raw sessions), tiny/ (their data set), runs/<model>/."""
    root = tmp_path_factory.mktemp("predict")
    interim = [make_interim(root, s, seconds=20.0, seed=k) for k, s in enumerate(("S1", "S2", "S3"))]
    build_dataset("tiny", [SessionInputs.from_folder(f) for f in interim], root / "tiny")
    for name, overrides in RUNS.items():
        train(config(root / "tiny", root / "runs" / name, *overrides))
    return root


@pytest.fixture(scope="module")
def unseen(tiny) -> Path:
    """A 20-s walk of subject S4 (not in the data set), made by `lofi simulate`, with its truth."""
    out = tiny / "raw" / "unseen_s4"
    assert main(["simulate", "--subject", "S4", "--seconds", "20", "--out", str(out), "--quiet"]) == 0
    return out


@pytest.fixture
def one_thread():
    """The runs trained with one torch thread: the same BLAS partitioning gives the same floats."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def predict(root: Path, session: Path, model: str, *extra: str) -> tuple[pd.DataFrame, Path, str]:
    """Run ``lofi predict`` with the default output; returns the table, its path and stdout."""
    import contextlib
    import io

    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        code = main(
            ["--root", str(root), "predict", str(session), "--run", str(root / "runs" / model), *extra]
        )
    assert code == 0
    out = root / "data" / "interim" / session.name / f"predictions_{model}.parquet"
    return pd.read_parquet(out), out, stdout.getvalue()


def truth_at(session: Path, t_host: np.ndarray) -> np.ndarray:
    """True position (m) at host times ``t_host`` (s), from the session's truth/pings.parquet."""
    pings = pd.read_parquet(session / "truth" / "pings.parquet")
    pings = pings[np.isfinite(pings["t_host"])].sort_values("t_host")
    return np.stack([np.interp(t_host, pings["t_host"], pings[c]) for c in ("x_m", "y_m")], axis=1)


@pytest.mark.parametrize("model", ["gru", "knn"])
def test_every_run_saves_its_model_and_how_to_feed_it(tiny, model):
    record = load_run_model(tiny / "runs" / model / "model.pt")
    metrics = pd.read_json(tiny / "runs" / model / "metrics.json", typ="series")
    assert (record.model, record.length, record.n_subcarriers, record.in_channels) == (model, LENGTH, 52, 1)
    assert record.dataset_sha256 == metrics["dataset_sha256"] and record.fill == "linear"
    assert record.view == "series" and record.task == "multitask" and record.region_m == (1.8, 4.8)
    assert record.source["seed"] == 0 and record.source["dataset"] == "tiny"
    if model == "gru":  # the weights tested: those of the best checkpoint
        checkpoint = torch.load(
            tiny / "runs/gru/checkpoints/best.ckpt", map_location="cpu", weights_only=True
        )
        best = {k.removeprefix("model."): v for k, v in checkpoint["state_dict"].items()}
        assert best.keys() == record.state_dict.keys()
        assert all(torch.equal(best[k], record.state_dict[k]) for k in best)
    else:  # the k-NN's fitted fingerprints: one per non-overlapping training window
        assert record.state_dict["train_features"].shape[0] == record.state_dict["train_xy"].shape[0] > 10


def test_the_training_statistics_and_extra_inputs_are_saved(tiny):
    gru = load_run_model(tiny / "runs" / "gru_global" / "model.pt")
    assert (gru.normalize, gru.extra, gru.in_channels) == ("global", ("phase", "rssi"), 3)
    assert {k: tuple(v["mean"].shape) for k, v in gru.stats.items()} == {
        "amplitude": (52,), "phase": (52,), "rssi": (1,)
    }  # fmt: skip
    cnn = load_run_model(tiny / "runs" / "cnn_extra" / "model.pt")
    assert (cnn.view, cnn.normalize, set(cnn.stats)) == ("correlation", "window", {"rssi"})


@pytest.mark.parametrize("model", ["gru", "knn", "gru_global", "cnn_extra"])
def test_predict_reproduces_the_runs_own_test_predictions(tiny, model, one_thread):
    """The data set's rows, the run's test windows, one batch: exactly predictions.parquet."""
    data = load_dataset(tiny / "tiny")
    frames = data.frames
    csi = SessionCsi(data.amplitude, data.phase, frames["rssi"].to_numpy(np.float32),
                     frames["t_host"].to_numpy(), frames["t_device"].to_numpy(),
                     frames["segment"].to_numpy(np.int64))  # fmt: skip
    tested = pd.read_parquet(tiny / "runs" / model / "predictions.parquet")
    outputs = predict_windows(load_run(tiny / "runs" / model), csi, tested["start"].to_numpy())
    np.testing.assert_array_equal(outputs["xy"], tested[["x_pred", "y_pred"]].to_numpy())
    for n in (2, 4, 6):
        np.testing.assert_array_equal(outputs[f"region{n}"], tested[f"region{n}_pred"])


@pytest.mark.parametrize("model", ["gru", "knn"])
def test_lofi_predict_on_a_training_session_gives_its_test_windows_predictions(tiny, model, one_thread):
    """From csi.csv (no data set): the completed rows are the data set's, the test windows among the
    windows, their predictions the run's (the GRU to float32 rounding: other windows share the batch)."""
    session = tiny / "raw" / "t_S1"
    table, _, _ = predict(tiny, session, model)
    data = load_dataset(tiny / "tiny")
    rows = data.session_rows("t_S1")
    csi, _ = read_session_csi(session, "linear")
    np.testing.assert_array_equal(csi.amplitude, data.amplitude[rows])
    tested = pd.read_parquet(tiny / "runs" / model / "predictions.parquet")
    tested = tested[tested["session"] == "t_S1"].assign(start=lambda t: t["start"] - rows.start)
    both = tested.merge(table, on="start", suffixes=("_label", ""))
    assert len(both) == len(tested) > 0
    tolerance = 0.0 if model == "knn" else 1e-6
    np.testing.assert_allclose(both[["x_m", "y_m"]], both[["x_pred", "y_pred"]], rtol=0, atol=tolerance)
    assert (both["region6"] == both["region6_pred"]).all()


@pytest.mark.parametrize("model", ["gru", "knn"])
def test_predict_an_unseen_session_writes_one_row_per_window_and_its_plot(tiny, unseen, model):
    table, out, printed = predict(tiny, unseen, model)
    assert list(table.columns) == COLUMNS
    csi, _ = read_session_csi(unseen, "linear")
    starts = window_starts(csi, load_run(tiny / "runs" / model).record, str(unseen))
    np.testing.assert_array_equal(table["start"], starts)
    assert len(table) >= 15 and (np.diff(table["start"]) >= LENGTH).all()  # 20 s: non-overlapping 1-s windows
    usable = np.isfinite(csi.amplitude).all(axis=1)
    assert all(usable[s : s + LENGTH].all() for s in table["start"])
    pings = pd.read_parquet(unseen / "truth" / "pings.parquet")["t_host"]
    assert table["t_host"].between(pings.min(), pings.max()).all()
    np.testing.assert_allclose(np.diff(table["t_host"]).min(), 1.0, atol=0.02)  # 100 rows at 100 Hz
    assert np.isfinite(table[["x_m", "y_m"]]).all().all() and table["region6"].between(0, 5).all()
    assert out.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"
    assert printed.count("\n") == 1 and f"{len(table)} windows" in printed and str(out) in printed


def test_knn_locates_an_unseen_subject_better_than_a_model_blind_to_the_csi(tiny, unseen):
    """The k-NN's positions lie in the room and beat the mean baseline (the training mean everywhere)
    and its own positions played backwards (right positions, wrong times)."""
    knn, _, _ = predict(tiny, unseen, "knn")
    blind, _, _ = predict(tiny, unseen, "mean")
    truth = truth_at(unseen, knn["t_host"].to_numpy())
    xy = knn[["x_m", "y_m"]].to_numpy()
    assert ((xy >= 0) & (xy <= (1.8, 4.8))).all()
    error = np.hypot(*(xy - truth).T).mean()
    assert error < np.hypot(*(blind[["x_m", "y_m"]].to_numpy() - truth).T).mean()
    assert error < np.hypot(*(xy[::-1] - truth).T).mean()


def test_plot_and_output_where_asked(tiny, unseen, tmp_path):
    out, plot = tmp_path / "p.parquet", tmp_path / "figures" / "walk.png"
    assert main(["predict", str(unseen), "--run", str(tiny / "runs" / "knn"), "--out", str(out),
                 "--plot", str(plot), "--length", str(LENGTH), "--fill", "linear"]) == 0  # fmt: skip
    assert len(pd.read_parquet(out)) > 0 and plot.read_bytes()[:4] == b"\x89PNG"
    assert not out.with_suffix(".png").exists()


@pytest.mark.parametrize("task", ["multitask", "regression", "classify"])
def test_the_table_keeps_only_what_the_task_trained_and_times_without_host_clock(task):
    """classify: no positions (NaN); regression: regions of the predicted position; a log without
    host times: t_host NaN, t_device still the window centre."""
    record = RunModel({}, "mean", {}, "series", 1, 52, 4, "mean", "window", task=task)
    rows = 12
    csi = SessionCsi(np.zeros((rows, 52), np.float32), np.zeros((rows, 52), np.float32),
                     np.zeros(rows, np.float32), np.full(rows, np.nan), np.arange(rows) / 100.0,
                     np.zeros(rows, np.int64))  # fmt: skip
    outputs = {"xy": np.array([[0.2, 0.3], [1.7, 4.7], [np.nan, 1.0]], np.float32)}
    outputs |= {f"region{n}": np.array([1, 1, 1]) for n in (2, 4, 6)}
    table = prediction_table(record, csi, np.array([0, 4, 8]), outputs)
    assert table["t_host"].isna().all()
    np.testing.assert_allclose(table["t_device"], [0.015, 0.055, 0.095])
    if task == "classify":
        assert table[["x_m", "y_m"]].isna().all().all() and (table["region6"] == 1).all()
    elif task == "regression":
        assert table["region6"].tolist() == [0, 5, -1] and table["region2"].tolist() == [0, 1, -1]
    else:
        np.testing.assert_array_equal(table[["x_m", "y_m"]], outputs["xy"].astype(np.float64))


@pytest.mark.parametrize(
    ("recorded", "given", "used"),
    [("dominant", None, "dominant"), ("dominant", "all", "all"), (None, None, "auto"), ("0,1", None, "0,1")],
)
def test_predict_reads_sig_modes_as_the_runs_data_set_was_made_unless_told(recorded, given, used):
    from lofi.stages.predict import LoadedRun, sig_modes_of

    record = RunModel(
        {}, "mean", {}, "series", 1, 52, 4, "mean", "window", source={"keep_sig_modes": recorded}
    )
    run = LoadedRun("r", Path("model.pt"), record, None, None)
    assert sig_modes_of(run, given) == used


def test_every_run_records_how_its_data_sets_sig_modes_were_chosen(tiny):
    record = load_run_model(tiny / "runs" / "gru" / "model.pt")
    manifest = pd.read_json(tiny / "tiny" / "manifest.json", typ="series")
    assert (
        {s["keep_sig_modes"] for s in manifest["sessions"]} == {record.source["keep_sig_modes"]} == {"auto"}
    )

"""CSI-BERT pre-training, fine-tuning from it, the recovery comparison and the downstream effect."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from lofi.csi.fill import FillResult
from lofi.data.datamodule import CsiDataModule, WindowSource
from lofi.io.recovery_checkpoint import RecoveryCheckpointError, load_recovery_checkpoint
from lofi.models import build_model
from lofi.train.recovery_eval import bursty_hide, recovery_errors, refill
from lofi.train.run import train
from tests.train.conftest import config

SMALL = ["+model.options.hidden=32", "+model.options.layers=2", "+model.options.heads=4",
         "+model.options.intermediate=64"]  # fmt: skip


@pytest.fixture(scope="module")
def pretrained(tiny_dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("pretrain")
    metrics = train(config(tiny_dataset, out, "experiment=csibert_pretrain", *SMALL))
    return out, metrics


def test_pretraining_writes_a_recovery_file_and_compares_fills(pretrained):
    out, _ = pretrained
    written = json.loads((out / "metrics.json").read_text())
    assert written["task"] == "pretrain" and written["epochs"] == 2 and written["normalize"] == "window"
    assert np.isfinite(written["val/best_loss"]) and np.isfinite(written["test/mae"])
    for burst in (3, 10):
        maes = [written[f"recovery/burst{burst}/mae_{m}"] for m in ("linear", "spline", "csibert")]
        assert all(np.isfinite(maes)) and min(maes) > 0
        hidden = written[f"recovery/burst{burst}/hidden_frames"]
        assert hidden > 100 and 0 <= written[f"recovery/burst{burst}/csibert_fallback_frames"] <= hidden
    checkpoint = load_recovery_checkpoint(out / "csibert_recovery.pt")
    assert (
        checkpoint.normalize == "window" and checkpoint.length == 100 and checkpoint.options["hidden"] == 32
    )


def test_fine_tuning_starts_from_the_pretrained_encoder(pretrained, tiny_dataset, tmp_path):
    from lofi.train.pretrained import load_pretrained

    out, _ = pretrained
    checkpoint = load_recovery_checkpoint(out / "csibert_recovery.pt")
    dm = CsiDataModule(tiny_dataset, train_windows_per_epoch=64)
    dm.setup()
    model = build_model("csibert", hidden=32, layers=2, heads=4, intermediate=64)
    load_pretrained(model, out / "csibert_recovery.pt", dm)
    for key, value in model.encoder.state_dict().items():
        torch.testing.assert_close(value, checkpoint.state_dict[f"encoder.{key}"])
    metrics = train(config(tiny_dataset, tmp_path, "experiment=table2_csibert", *SMALL,
                           f"model.pretrained={out / 'csibert_recovery.pt'}"))  # fmt: skip
    assert np.isfinite(metrics["test/err_mean"])


def test_a_run_reports_its_error_with_frames_hidden_and_refilled(pretrained, tiny_dataset, tmp_path):
    out, _ = pretrained
    metrics = train(
        config(tiny_dataset, tmp_path, "model=gru", f"recovery_eval.checkpoint={out / 'csibert_recovery.pt'}")
    )
    for burst in (3, 10):
        assert 0.1 < metrics[f"robust/burst{burst}/hidden_share"] < 0.3
        for method in ("linear", "spline", "csibert"):
            assert np.isfinite(metrics[f"robust/burst{burst}/err_mean_{method}"])


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["model=gru", "model.pretrained=PRETRAINED"], "model=gru cannot start from it"),
        (["experiment=table2_csibert", "model.pretrained=MISSING"], "no such file"),
        (["experiment=table2_csibert", "data.normalize=global", "model.pretrained=PRETRAINED"], "normalize"),
        (["experiment=table2_csibert", "model.pretrained=PRETRAINED"], "not a CSI-BERT encoder of this size"),
        (["experiment=table2_csibert", *SMALL, "model.pretrained=CKPT"], "not a CSI-BERT recovery file"),
        (["model=cnn", "task=pretrain"], "task=pretrain"),
        (["model.name=transformer"], "not a model"),
    ],
)
def test_bad_starting_points_are_refused_before_training(
    pretrained,
    tiny_dataset,
    tmp_path,
    overrides,
    message,
):
    out, _ = pretrained
    paths = {"PRETRAINED": out / "csibert_recovery.pt", "MISSING": tmp_path / "none.pt",
             "CKPT": out / "checkpoints" / "best.ckpt"}  # fmt: skip
    for key, path in paths.items():
        overrides = [o.replace(key, str(path)) for o in overrides]
    with pytest.raises((ValueError, RecoveryCheckpointError), match=message):
        train(config(tiny_dataset, tmp_path / "run", *overrides))
    assert not (tmp_path / "run" / "metrics.json").exists()


def test_bursty_hiding_has_the_share_and_burst_length_asked_for():
    received = np.ones(200_000, dtype=bool)
    received[::50] = False
    hide = bursty_hide(received, 0.2, 10.0, np.random.default_rng(0))
    assert not (hide & ~received).any()
    assert abs(hide.mean() - 0.2 * 0.98) < 0.01
    edges = np.diff(np.concatenate([[0], hide.astype(int), [0]]))
    bursts = np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)
    assert 8.0 < bursts.mean() < 10.5  # received gaps every 50 rows cut some bursts short
    with pytest.raises(ValueError, match="share"):
        bursty_hide(received, 1.2, 3.0, np.random.default_rng(0))


def test_refill_never_reads_hidden_values_nor_crosses_runs():
    amplitude = np.tile(np.arange(10, dtype=np.float32)[:, None], (1, 3))
    amplitude[5] = 1000.0  # hidden: must not leak
    hide = np.zeros(10, dtype=bool)
    hide[5] = True
    runs = np.repeat([0, 1], [5, 5])  # row 5 opens run 1: its only left neighbour is in run 0
    out = refill(amplitude, hide, np.ones(10, dtype=bool), runs, "linear").amplitude
    np.testing.assert_allclose(out[5], [6.0, 6.0, 6.0])  # nearest value of its own run, not 4..6
    same_run = refill(amplitude, hide, np.ones(10, dtype=bool), np.zeros(10), "linear").amplitude
    np.testing.assert_allclose(same_run[5], [5.0, 5.0, 5.0])


class _HalfFiller:
    """A stand-in learned fill that reports half of the hidden rows kept their linear value."""

    def fill(self, amplitude, fill, received, runs):
        return FillResult(np.asarray(amplitude) + 0.5, int(fill.sum()) // 2)


def test_recovery_errors_count_the_rows_the_learned_fill_gave_up_on():
    rows = 4_000
    wave = 20 + 5 * np.sin(np.arange(rows) / 7.0)
    source = WindowSource(
        amplitude=np.repeat(wave[:, None], 52, axis=1).astype(np.float32),
        phase=np.zeros((rows, 52), np.float32), rssi=np.zeros(rows, np.float32),
        xy=np.zeros((rows, 2)), xy_true=np.zeros((rows, 2)), session=np.zeros(rows, np.int64),
        received=np.ones(rows, dtype=bool),
    )  # fmt: skip
    errors = recovery_errors(source, np.ones(rows, bool), np.zeros(rows), _HalfFiller(), mean_bursts=(3.0,))
    hidden = errors["recovery/burst3/hidden_frames"]
    assert hidden > 500 and errors["recovery/burst3/csibert_fallback_frames"] == hidden // 2
    assert "recovery/burst3/csibert_fallback_frames" not in recovery_errors(
        source, np.ones(rows, bool), np.zeros(rows), None, mean_bursts=(3.0,)
    )


def test_hidden_frames_never_reach_the_input_in_pretraining():
    """Window standardisation uses the visible frames only: hidden values cannot leak in."""
    from lofi.train.pretrain import PretrainModule

    model = build_model("csibert", hidden=16, layers=1, heads=2, intermediate=32, max_len=20).eval()
    module = PretrainModule(model, standardize_visible=True)
    x = torch.randn(3, 20, 52) * 4 + 30
    hide = torch.zeros(3, 20, dtype=torch.bool)
    hide[:, 8:12] = True
    received = torch.ones(3, 20, dtype=torch.bool)
    received[:, 2] = False  # filled by the csi stage: hidden as well, never a target
    changed = x.clone()
    changed[:, 8:12] += 100.0  # only the hidden frames differ
    changed[:, 2] = float("nan")
    with torch.no_grad():
        a = module._step({"x": x, "received": received}, hide)
        b = module._step({"x": changed, "received": received}, hide)
    torch.testing.assert_close(a[0], b[0])  # the same recovery from the same visible frames
    assert a[2].sum() == 3 * 4 and not a[2][:, 2].any()  # targets: hidden and received only
    assert b[3] > a[3]  # the loss does see the (changed) truth of the hidden frames


def test_a_recovery_check_leaves_the_run_itself_unchanged(pretrained, tiny_dataset, tmp_path):
    out, _ = pretrained
    model = ["experiment=table2_csibert", *SMALL]  # dropout: a moved random stream would show
    plain = train(config(tiny_dataset, tmp_path / "plain", *model))
    checked = train(config(tiny_dataset, tmp_path / "checked", *model,
                           f"recovery_eval.checkpoint={out / 'csibert_recovery.pt'}"))  # fmt: skip
    keys = [k for k in plain if k.startswith("test/")]
    np.testing.assert_equal({k: plain[k] for k in keys}, {k: checked[k] for k in keys})  # NaN == NaN here
    assert np.isfinite(plain["test/err_mean"])


def test_a_recovery_file_of_another_split_is_refused(pretrained, tiny_dataset, tmp_path):
    out, _ = pretrained
    path = out / "csibert_recovery.pt"
    with pytest.raises(RecoveryCheckpointError, match="may have seen this run's test rows"):
        train(config(tiny_dataset, tmp_path, "experiment=table2_csibert", *SMALL, f"model.pretrained={path}",
                     "data.split=cross_subject", "data.fold=1"))  # fmt: skip

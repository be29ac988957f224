"""The reference code's Table II protocol (``paper_protocol``): its numbers, its draws, its wiring."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from lofi.train import reference_protocol
from lofi.train.metrics import batch_mean_std
from lofi.train.module import collect
from lofi.train.reference_protocol import (
    ReferenceProtocol,
    draw_windows,
    reference_scores,
    summarize,
)
from lofi.train.run import train
from tests.train.conftest import config

PAPER_KEYS = {
    "paper/err_mean", "paper/err_mean_epoch", "paper/err_true_mean", "paper/err_std", "paper/err_std_epoch",
    "paper/err_std_at_err_mean_epoch", "paper/acc2", "paper/acc4", "paper/acc6", "paper/epochs",
}  # fmt: skip


def fake_batch(errors: list[float], region_hits: list[bool]) -> dict[str, np.ndarray]:
    """A ``collect`` dict: predictions ``errors`` m off the labels in x, the truth 1 m off the labels in y.

    The 2- and 6-region predictions are right where ``region_hits``, the 4-region ones always.
    """
    n, hits = len(errors), np.asarray(region_hits)
    out = {"xy": np.zeros((n, 2)), "xy_true": np.column_stack([np.zeros(n), np.ones(n)])}
    out["xy_pred"] = np.column_stack([errors, np.zeros(n)])  # |pred - truth| = hypot(error, 1)
    for k in (2, 4, 6):
        out[f"region{k}"] = np.ones(n, np.int64)
        out[f"region{k}_pred"] = np.ones(n, np.int64) if k == 4 else hits.astype(np.int64)
    return out | {"session": np.zeros(n, np.int64), "start": np.arange(n)}


def test_the_reference_std_is_the_mean_of_batch_stds_not_the_pooled_std():
    batches = [fake_batch([0.0, 2.0], [True, False]), fake_batch([10.0, 10.0], [True, True])]
    scores = reference_scores(batches, batch_size=2)
    assert scores["err_mean"] == pytest.approx(5.5)
    assert scores["err_std"] == pytest.approx(0.5)  # mean(std[0, 2], std[10, 10]) = mean(1, 0)
    assert np.std([0.0, 2.0, 10.0, 10.0]) == pytest.approx(np.sqrt(20.75))  # the pooled std, 4.56 m
    expected_true = np.mean(np.hypot([0.0, 2.0, 10.0, 10.0], 1.0))
    assert scores["err_true_mean"] == pytest.approx(expected_true)
    assert (scores["acc2"], scores["acc4"], scores["acc6"]) == (0.75, 1.0, 0.75)


def test_a_short_last_batch_weighs_as_much_as_a_full_one():
    """200 windows in batches of 64: 64, 64, 64 and 8, each batch's std counted once."""
    errors = np.r_[np.zeros(192), np.arange(8.0)]
    scores = reference_scores([fake_batch(list(errors), [True] * 200)], batch_size=64)
    assert scores["err_std"] == pytest.approx(np.std(np.arange(8.0)) / 4)
    assert scores["err_std"] == batch_mean_std(errors, 64)


def test_each_column_is_its_own_best_over_epochs():
    history = [
        {"err_mean": 3.0, "err_std": 0.5, "err_true_mean": 3.1, "acc2": 0.5, "acc4": 0.8, "acc6": 0.2},
        {"err_mean": 1.0, "err_std": 0.9, "err_true_mean": 1.4, "acc2": 0.6, "acc4": 0.1, "acc6": 0.3},
        {"err_mean": 2.0, "err_std": 0.2, "err_true_mean": 0.9, "acc2": 0.9, "acc4": 0.1, "acc6": 0.1},
    ]
    assert summarize(history) == {
        "paper/err_mean": 1.0,
        "paper/err_mean_epoch": 1,
        "paper/err_true_mean": 1.4,  # at the err_mean epoch, not its own minimum (0.9)
        "paper/err_std": 0.2,  # min over epochs, at epoch 2
        "paper/err_std_epoch": 2,
        "paper/err_std_at_err_mean_epoch": 0.9,
        "paper/acc2": 0.9,
        "paper/acc4": 0.8,
        "paper/acc6": 0.3,
        "paper/epochs": 3,
    }
    assert summarize([]) == {}


def test_a_nan_epoch_is_never_the_best():
    nan = float("nan")
    history = [
        {"err_mean": nan, "err_std": nan, "err_true_mean": nan, "acc2": nan, "acc4": nan, "acc6": nan},
        {"err_mean": 2.0, "err_std": 0.4, "err_true_mean": nan, "acc2": 0.5, "acc4": 0.5, "acc6": 0.5},
    ]
    summary = summarize(history)
    assert summary["paper/err_mean"] == 2.0 and summary["paper/err_mean_epoch"] == 1
    assert summary["paper/err_std"] == 0.4 and summary["paper/acc6"] == 0.5


def test_the_draw_is_seeded_fresh_each_epoch_and_apart_from_training_draws():
    first = draw_windows(1000, seed=0, epoch=3)
    np.testing.assert_array_equal(first, draw_windows(1000, seed=0, epoch=3))
    assert len(first) == 200 and len(set(first.tolist())) == 200  # without replacement
    assert not np.array_equal(first, draw_windows(1000, seed=0, epoch=4))
    assert not np.array_equal(first, draw_windows(1000, seed=1, epoch=3))
    training = np.random.default_rng([0, 3]).choice(1000, 200, replace=False)  # EpochSampler's draw
    assert not np.array_equal(first, training)
    few = draw_windows(50, seed=0, epoch=0)
    assert len(few) == 200 and few.max() < 50  # with replacement when fewer than 200
    with pytest.raises(ValueError, match="at least one"):
        draw_windows(0, seed=0, epoch=0)


class Windows(torch.utils.data.Dataset):
    """``n`` windows of one feature (x = index): a stand-in for ``dm.datasets["test"]``."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        xy = torch.tensor([float(i), 0.0])
        item = {"x": torch.tensor([float(i)]), "xy": xy, "xy_true": xy, "session": torch.tensor(0)}
        return item | {"start": torch.tensor(i)} | {f"region{k}": torch.tensor(i % k) for k in (2, 4, 6)}


class Shift(torch.nn.Module):
    """Predicts (x + 1, 0) with dropout (so a mode mix-up shows) and region 0 everywhere."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = torch.nn.Parameter(torch.ones(1))
        self.drop = torch.nn.Dropout(0.5)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        xy = torch.cat([self.drop(x * self.scale) + 1, torch.zeros_like(x)], dim=1)
        return {"xy": xy} | {f"logits{k}": torch.zeros(len(x), k).index_fill(1, torch.tensor([0]), 1.0)
                             for k in (2, 4, 6)}  # fmt: skip


def test_an_evaluation_is_exact_repeatable_and_leaves_the_model_and_rng_as_they_were():
    model, data = Shift().train(), Windows(300)
    rng = torch.get_rng_state()
    protocol = ReferenceProtocol(seed=5)
    scores = protocol.evaluate(model, data, epoch=2)
    assert model.training and torch.equal(rng, torch.get_rng_state())
    assert scores["err_mean"] == pytest.approx(1.0) and scores["err_std"] == pytest.approx(0.0)  # eval mode
    drawn = draw_windows(300, 5, 2)
    assert scores["acc6"] == pytest.approx(np.mean(drawn % 6 == 0))
    again = ReferenceProtocol(seed=5)
    again.evaluate(model, data, epoch=2)
    assert again.history == protocol.history


def test_predictions_come_from_collect_in_the_draw_order():
    data, indices = Windows(10), [7, 7, 2]
    batches = reference_protocol.predict_windows(Shift().eval(), data, indices, batch_size=2)
    assert [len(b["xy"]) for b in batches] == [2, 1]
    batch = torch.utils.data.default_collate([data[i] for i in indices[:2]])
    with torch.no_grad():
        expected = collect(batch, Shift().eval()(batch["x"]))
    np.testing.assert_equal(batches[0], expected)


@pytest.fixture
def spied(monkeypatch) -> list[ReferenceProtocol]:
    """The ReferenceProtocol instances whose summary ``train`` asks for."""
    seen: list[ReferenceProtocol] = []
    summary = ReferenceProtocol.summary

    def spy(self: ReferenceProtocol) -> dict[str, float]:
        seen.append(self)
        return summary(self)

    monkeypatch.setattr(ReferenceProtocol, "summary", spy)
    return seen


def test_a_run_reports_the_paper_protocol_beside_unchanged_honest_numbers(tiny_dataset, tmp_path, spied):
    run = ("model=gru", "+model.options.dropout=0.5", "seed=1", "trainer.threads=1")  # dropout: torch's RNG
    honest = train(config(tiny_dataset, tmp_path / "honest", *run))
    paper = train(config(tiny_dataset, tmp_path / "paper", *run, "paper_protocol=true"))
    written = json.loads((tmp_path / "paper" / "metrics.json").read_text())
    assert set(written) >= PAPER_KEYS and set(paper) >= PAPER_KEYS
    without = json.loads((tmp_path / "honest" / "metrics.json").read_text())
    assert not any(k.startswith("paper/") for k in [*honest, *without])
    (protocol,) = spied
    errors = [h["err_mean"] for h in protocol.history]
    assert len(errors) == paper["epochs"] == written["paper/epochs"] == 2  # smoke: 2 epochs, no sanity check
    assert written["paper/err_mean"] == min(errors) and all(written["paper/err_mean"] <= e for e in errors)
    assert written["paper/acc6"] == max(h["acc6"] for h in protocol.history)
    for key in (k for k in honest if k.startswith(("test/", "val/"))):  # training ran exactly as without it
        np.testing.assert_equal(paper[key], honest[key], err_msg=key)


def test_a_baseline_reports_one_evaluation(tiny_dataset, tmp_path):
    overrides = ("experiment=table2_mean", "paper_protocol=true", "trainer.threads=1")
    metrics = train(config(tiny_dataset, tmp_path, *overrides))
    written = json.loads((tmp_path / "metrics.json").read_text())
    assert set(written) >= PAPER_KEYS and written["paper/epochs"] == 1 and metrics["epochs"] == 0
    assert written["paper/err_mean_epoch"] == 0 and written["paper/err_mean"] > 0

"""The CSI-BERT filler: which window fills which row, what the model sees, and the recovery file."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lofi.io.recovery_checkpoint import (
    FORMAT,
    RecoveryCheckpoint,
    RecoveryCheckpointError,
    load_recovery_checkpoint,
    save_recovery_checkpoint,
)
from lofi.models.csibert import CSIBert
from lofi.models.recovery import CsiBertFiller, nearest_window, run_blocks, window_starts

SMALL = {"hidden": 16, "layers": 1, "heads": 2, "intermediate": 32, "max_len": 20, "subcarrier_attn_dim": 8,
         "mask_input": "linear"}  # fmt: skip


class ZeroRecovery(CSIBert):
    """A CSIBert whose recovery is 0 in standardised units (the mean); it records what it was given."""

    def __init__(self) -> None:
        super().__init__(n_features=4, **SMALL)
        self.calls: list[tuple[np.ndarray, np.ndarray]] = []

    def recover(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        self.calls.append((x.numpy().copy(), mask.numpy().copy()))
        return torch.zeros_like(x)


def test_windows_are_half_a_window_apart_and_the_last_ends_at_the_end():
    assert window_starts(50, 20).tolist() == [0, 10, 20, 30]
    assert window_starts(45, 20).tolist() == [0, 10, 20, 25]
    assert window_starts(7, 7).tolist() == [0]


def test_each_row_takes_the_window_whose_centre_is_nearest_and_that_holds_it():
    starts = window_starts(45, 20)
    rows = np.arange(45)
    chosen = nearest_window(rows, starts, 20)
    assert ((starts[chosen] <= rows) & (rows < starts[chosen] + 20)).all()
    centres = starts + 9.5
    best = np.abs(centres[None, :] - rows[:, None]).min(axis=1)
    np.testing.assert_allclose(np.abs(centres[chosen] - rows), best)
    assert chosen[0] == 0 and chosen[44] == 3


def test_run_blocks_split_at_every_change_of_run():
    assert run_blocks(np.array([0, 0, 1, 1, 1, 3])) == [slice(0, 2), slice(2, 5), slice(5, 6)]


def _rows(n: int = 60) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    amplitude = (10 + rng.normal(0, 1, (n, 4)) + np.arange(n)[:, None] * 0.1).astype(np.float32)
    received = np.ones(n, dtype=bool)
    received[[5, 6, 30, 31, 32, 55]] = False
    return amplitude, received, np.zeros(n, dtype=np.int64)


def test_window_normalisation_refills_with_the_received_rows_mean_and_never_shows_the_hidden_rows():
    amplitude, received, runs = _rows()
    model = ZeroRecovery()
    fill = ~received
    marked = amplitude.copy()
    marked[fill] = 1e6  # a fallback value the model must never read
    result = CsiBertFiller(model, 20, "window").fill(marked, fill, received, runs)
    starts = window_starts(60, 20)
    for row in np.flatnonzero(fill):
        start = starts[nearest_window(np.array([row]), starts, 20)[0]]
        seen = received[start : start + 20]
        np.testing.assert_allclose(
            result.amplitude[row], amplitude[start : start + 20][seen].mean(axis=0), rtol=1e-5
        )
    np.testing.assert_array_equal(result.amplitude[received], amplitude[received])
    assert result.fallback_rows == 0
    for x, mask in model.calls:
        assert np.abs(x).max() < 100  # the 1e6 fallback was zeroed, never standardised in
        assert mask.sum(axis=1).min() >= 1


def test_global_normalisation_refills_with_the_training_mean():
    amplitude, received, runs = _rows()
    mean, std = np.array([1.0, 2.0, 3.0, 4.0]), np.array([2.0, 2.0, 2.0, 2.0])
    result = CsiBertFiller(ZeroRecovery(), 20, "global", mean, std).fill(amplitude, ~received, received, runs)
    np.testing.assert_allclose(result.amplitude[~received], np.tile(mean, (6, 1)))


def test_no_window_spans_two_runs_and_a_short_run_is_one_window():
    amplitude, received, _ = _rows()
    runs = np.repeat([0, 1], [50, 10])
    model = ZeroRecovery()
    result = CsiBertFiller(model, 20, "window").fill(amplitude, ~received, received, runs)
    lengths = sorted({x.shape[1] for x, _ in model.calls})
    assert lengths == [10, 20]  # the second run (rows 50-59) is one 10-row window
    np.testing.assert_allclose(
        result.amplitude[55], amplitude[50:60][received[50:60]].mean(axis=0), rtol=1e-5
    )


def test_a_window_with_too_few_received_rows_keeps_the_fallback_and_is_counted():
    amplitude = np.ones((20, 4), dtype=np.float32)
    received = np.zeros(20, dtype=bool)
    received[0] = True
    fill = ~received
    result = CsiBertFiller(ZeroRecovery(), 20, "window").fill(amplitude * 7, fill, received, np.zeros(20))
    assert result.fallback_rows == 19
    np.testing.assert_array_equal(result.amplitude, amplitude * 7)


def _checkpoint(model: CSIBert, **changes) -> RecoveryCheckpoint:
    fields = {"state_dict": model.state_dict(), "options": SMALL, "n_features": 4, "length": 20,
              "normalize": "window"}  # fmt: skip
    return RecoveryCheckpoint(**(fields | changes))


def test_a_recovery_file_round_trips_and_recovers_like_the_model(tmp_path):
    model = CSIBert(n_features=4, **SMALL).eval()
    path = save_recovery_checkpoint(tmp_path / "r.pt", _checkpoint(model, source={"val_loss": 0.5}))
    loaded = load_recovery_checkpoint(path)
    filler = CsiBertFiller.from_checkpoint(loaded)
    assert loaded.source == {"val_loss": 0.5} and filler.length == 20 and not filler.model.training
    x = torch.randn(2, 20, 4)
    mask = torch.zeros(2, 20, dtype=torch.bool)
    mask[:, 3] = True
    with torch.no_grad():
        torch.testing.assert_close(filler.model.recover(x, mask), model.recover(x, mask))


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"state_dict": {}}, "not a CSI-BERT recovery file"),
        ([1, 2, 3], "not a CSI-BERT recovery file"),
        ({"format": FORMAT, "options": {}}, "recovery file has no field .state_dict."),
    ],
)
def test_other_files_are_refused_with_the_path_and_why(tmp_path, payload, message):
    path = tmp_path / "other.pt"
    torch.save(payload, path)
    with pytest.raises(RecoveryCheckpointError, match=message) as err:
        load_recovery_checkpoint(path)
    assert str(path) in str(err.value)


def test_a_pickled_object_is_refused_without_running_it(tmp_path):
    sentinel = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (exec, (f"import pathlib; pathlib.Path({str(sentinel)!r}).write_text('x')",))

    path = tmp_path / "evil.pt"
    torch.save({"format": FORMAT, "x": Payload()}, path)
    with pytest.raises(RecoveryCheckpointError, match="without running code"):
        load_recovery_checkpoint(path)
    assert not sentinel.exists()


def test_weights_of_another_size_and_inconsistent_statistics_are_refused(tmp_path):
    bigger = CSIBert(n_features=4, **(SMALL | {"hidden": 32}))
    path = save_recovery_checkpoint(tmp_path / "r.pt", _checkpoint(bigger))
    with pytest.raises(RecoveryCheckpointError, match="do not fit"):
        CsiBertFiller.from_checkpoint(load_recovery_checkpoint(path), str(path))
    with pytest.raises(RecoveryCheckpointError, match="mean and std"):
        save_recovery_checkpoint(tmp_path / "g.pt", _checkpoint(bigger, normalize="global"))
    with pytest.raises(RecoveryCheckpointError, match="no such"):
        load_recovery_checkpoint(tmp_path / "missing.pt")

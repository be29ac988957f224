"""Table II metrics, exact on hand-made predictions."""

from __future__ import annotations

import numpy as np
import pytest

from lofi.train.metrics import batch_mean_std, error_summary, euclidean_errors, region_accuracy


def test_errors_and_their_summary():
    predicted = np.array([[0.0, 0.0], [3.0, 4.0], [1.0, 1.0], [2.0, 2.0]])
    target = np.array([[0.0, 0.0], [0.0, 0.0], [1.0, 2.0], [np.nan, 2.0]])
    errors = euclidean_errors(predicted, target)
    assert errors[:3].tolist() == [0.0, 5.0, 1.0] and np.isnan(errors[3])
    summary = error_summary(errors)
    assert summary["err_mean"] == pytest.approx(2.0)
    assert summary["err_std"] == pytest.approx(np.std([0.0, 5.0, 1.0]))
    assert summary["err_median"] == 1.0
    assert np.isnan(error_summary(np.array([np.nan]), "true")["true_mean"])
    with pytest.raises(ValueError, match="N x 2"):
        euclidean_errors(predicted[:, :1], target[:, :1])


def test_the_reference_std_is_a_mean_of_batch_stds():
    errors = np.array([0.0, 2.0, 10.0, 10.0, 4.0])
    assert batch_mean_std(errors, 2) == pytest.approx(np.mean([1.0, 0.0, 0.0]))
    assert batch_mean_std(errors, 2) != pytest.approx(errors.std())


def test_region_accuracy():
    assert region_accuracy(np.array([0, 1, 2, 3]), np.array([0, 1, 3, 3])) == 0.75
    with pytest.raises(ValueError, match="differ in shape"):
        region_accuracy(np.array([0, 1]), np.array([0]))

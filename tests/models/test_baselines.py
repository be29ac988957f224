"""The mean and k-NN baselines: fitted once, exact on what they were fitted to."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lofi.models import KNNBaseline, MeanBaseline, build_model, window_features


def regions_of(n: int) -> dict[str, np.ndarray]:
    return {f"region{k}": np.arange(n) % k for k in (2, 4, 6)}


def test_the_mean_baseline_predicts_the_training_mean():
    xy = np.array([[0.2, 1.0], [1.4, 3.0], [0.9, 4.4]])
    regions = {"region2": np.array([0, 1, 1]), "region4": np.array([0, 3, 3]), "region6": np.array([5, 5, 5])}
    model = build_model("mean").fit(None, xy, regions)
    out = model(torch.zeros(4, 100, 52))
    assert torch.equal(out["xy"], torch.tensor(xy.mean(axis=0), dtype=torch.float32).expand(4, 2))
    assert torch.allclose(out["logits2"][0].exp(), torch.tensor([1 / 3, 2 / 3]))
    assert out["logits4"][0].argmax() == 3 and out["logits6"][0].argmax() == 5
    assert torch.isfinite(out["logits6"]).all()


def test_a_baseline_must_be_fitted_first():
    with pytest.raises(RuntimeError, match="fit"):
        MeanBaseline()(torch.zeros(1, 100, 52))
    with pytest.raises(RuntimeError, match="fit"):
        KNNBaseline()(torch.zeros(1, 100, 52))


def test_window_features_are_per_subcarrier_mean_and_std():
    x = torch.rand(3, 100, 52)
    f = window_features(x)
    assert f.shape == (3, 104)
    assert torch.allclose(f[:, :52], x.mean(dim=1))
    assert torch.allclose(f[:, 52:], x.std(dim=1, unbiased=False))


def test_knn_recovers_a_training_windows_label():
    windows = torch.rand(40, 100, 52)  # more than 25: torch's matrix-product distances are not exact
    xy = torch.rand(40, 2) * torch.tensor([1.8, 4.8])
    regions = regions_of(40)
    for k in (1, 5):  # an exact match wins outright, whatever k
        model = build_model("knn", k=k).fit(windows, xy, regions)
        out = model(windows[[7, 12]])
        assert torch.equal(out["xy"], xy[[7, 12]])
        for n in (2, 4, 6):
            assert torch.equal(out[f"logits{n}"].argmax(dim=1), torch.tensor([7 % n, 12 % n]))


def test_knn_weights_neighbours_by_inverse_distance():
    features = np.array([[0.0], [1.0], [10.0]])
    xy = np.array([[0.0, 0.0], [3.0, -3.0], [100.0, 100.0]])
    regions = {"region2": [0, 1, 1], "region4": [0, 1, 2], "region6": [0, 1, 2]}
    model = KNNBaseline(k=2, standardize=False).fit(features, xy, regions)
    out = model(torch.tensor([[0.25]]))  # distances 0.25 and 0.75: weights 3/4 and 1/4
    assert torch.allclose(out["xy"], torch.tensor([[0.75, -0.75]]))
    assert torch.allclose(out["logits4"].exp()[0, :2], torch.tensor([0.75, 0.25]))
    assert out["logits4"][0, 2] < -10  # the third window is not a neighbour


def test_knn_state_survives_a_state_dict_round_trip():
    windows, xy = torch.rand(6, 10, 52), torch.rand(6, 2)
    model = KNNBaseline(k=3).fit(windows, xy, regions_of(6))
    copy = KNNBaseline(k=3)
    copy.load_state_dict(model.state_dict())
    query = torch.rand(2, 10, 52)
    assert torch.equal(copy(query)["xy"], model(query)["xy"])


def test_bad_labels_are_refused():
    with pytest.raises(KeyError, match="region6"):
        MeanBaseline().fit(None, np.zeros((2, 2)), {"region2": [0, 1], "region4": [0, 1]})
    with pytest.raises(ValueError, match=r"0\.\.3"):
        MeanBaseline().fit(None, np.zeros((2, 2)), {"region2": [0, 1], "region4": [0, 4], "region6": [0, 1]})

"""A run's ``model.pt`` (:mod:`lofi.io.run_model`): written at the end of a localisation run,
turned back into a model and its input features, and applied to raw CSI windows, by ``lofi predict``
and the run's MLflow model (:mod:`lofi.train.mlflow_model`).

Networks are saved with the weights they were tested with: Lightning's ``test(ckpt_path="best")``
loads the best checkpoint's ``state_dict`` into the module and leaves it there, so the model
holds the weights of ``checkpoints/best.ckpt`` when the run saves it (a test checks this).
Baselines are saved with their fitted buffers (the k-NN's training fingerprints).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf
from torch import nn

from lofi.data.datamodule import CsiDataModule
from lofi.data.features import ChannelStats, FeatureSpec
from lofi.data.regions import GRIDS, region_index
from lofi.io.dataset_store import MANIFEST_FILE
from lofi.io.json_report import JsonFileError, read_json
from lofi.io.run_model import RunModel, RunModelError, save_run_model
from lofi.models import INPUT_VIEW, MODELS, TASKS, build_model

#: The run-model file's name in a run folder.
MODEL_FILE = "model.pt"
#: Facts of the run's metrics kept as the file's provenance.
SOURCE_KEYS = (
    "experiment", "seed", "split", "fold", "label_source", "epochs", "git_commit", "config_sha256",
    "settings_sha256",
)  # fmt: skip


def write_run_model(
    out: Path, cfg: DictConfig, name: str, dm: CsiDataModule, model: nn.Module, facts: dict
) -> Path:
    """Save ``model`` (tested weights or fitted buffers) as ``out/model.pt``; returns its path.

    ``facts``: the run's metrics (provenance: experiment, seed, split, git commit ...).
    """
    return save_run_model(out / MODEL_FILE, run_model_of(cfg, name, dm, model, facts))


def run_model_of(cfg: DictConfig, name: str, dm: CsiDataModule, model: nn.Module, facts: dict) -> RunModel:
    """The run-model record of a trained ``model`` on ``dm``'s inputs."""
    source = {key: facts[key] for key in SOURCE_KEYS if key in facts}
    return RunModel(
        state_dict=model.state_dict(),
        model=name,
        options=OmegaConf.to_container(cfg.model.options, resolve=True),
        view=dm.view,
        in_channels=1 + len(dm.extra),
        n_subcarriers=int(dm.source.amplitude.shape[1]),
        length=dm.length,
        label=dm.label,
        normalize=dm.normalize,
        extra=tuple(dm.extra),
        stats=stats_tensors(dm.features.stats or {}),
        region_m=tuple(dm.region_m),
        task=str(cfg.task),
        fill=dataset_fill(dm.data_dir),
        dataset_sha256=dm.dataset_sha256,
        source=source
        | {"dataset": dm.data_dir.name, "keep_sig_modes": dataset_setting(dm.data_dir, "keep_sig_modes")},
    )


def stats_tensors(stats: dict[str, ChannelStats]) -> dict[str, dict[str, torch.Tensor]]:
    """Feature statistics as tensors: ``{input: {"mean": (values,), "std": (values,)}}``."""
    return {
        name: {
            "mean": torch.from_numpy(np.atleast_1d(s.mean)).float(),
            "std": torch.from_numpy(np.atleast_1d(s.std)).float(),
        }
        for name, s in stats.items()
    }


def dataset_fill(data_dir: Path) -> str | None:
    """The fill method of every session of the data set's manifest; None when they differ or none says."""
    return dataset_setting(data_dir, "fill_method")


def dataset_setting(data_dir: Path, key: str) -> str | None:
    """The value of ``key`` every session of the data set's manifest shares (how its CSI was made:
    ``fill_method``, ``keep_sig_modes``); None when they differ or none says."""
    try:
        sessions = read_json(Path(data_dir) / MANIFEST_FILE).get("sessions") or []
    except JsonFileError:
        return None
    values = {s.get(key) for s in sessions if isinstance(s, dict)}
    return values.pop() if len(values) == 1 and None not in values else None


def model_of(run_model: RunModel, where: str) -> nn.Module:
    """The trained model of ``run_model`` in eval mode (weights or fitted buffers loaded).

    Raises:
        RunModelError: an unknown model, options it does not take, or weights of another shape.
    """
    check_model(run_model, where)
    try:
        model = build_model(
            run_model.model, run_model.in_channels, run_model.n_subcarriers, **run_model.options
        )
        model.load_state_dict(run_model.state_dict, strict=True)
    except (TypeError, ValueError, RuntimeError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise RunModelError(f"{where}: the weights do not fit model {run_model.model!r} ({first})") from err
    return model.eval()


def check_model(run_model: RunModel, where: str) -> None:
    """Refuse a model name, view, channel count or task this version does not know."""
    if run_model.model not in MODELS:
        raise RunModelError(f"{where}: model {run_model.model!r} is not one of {', '.join(MODELS)}")
    if INPUT_VIEW[run_model.model] != run_model.view:
        raise RunModelError(
            f"{where}: model {run_model.model} reads the {INPUT_VIEW[run_model.model]} view, "
            f"not {run_model.view}"
        )
    if run_model.in_channels != 1 + len(run_model.extra):
        raise RunModelError(
            f"{where}: in_channels {run_model.in_channels} does not fit extra inputs {list(run_model.extra)}"
        )
    if run_model.task not in TASKS:
        raise RunModelError(f"{where}: task {run_model.task!r} is not one of {', '.join(TASKS)}")


def features_of(run_model: RunModel, where: str) -> FeatureSpec:
    """The run's input features (view, normalisation, extra inputs, training statistics).

    Raises:
        RunModelError: an unknown view, normalisation or input, or statistics the normalisation lacks.
    """
    try:
        stats = {
            name: _channel_stats(name, values, run_model.n_subcarriers)
            for name, values in run_model.stats.items()
        }
        return FeatureSpec(run_model.view, run_model.normalize, run_model.extra, stats)
    except ValueError as err:
        raise RunModelError(f"{where}: {err}") from err


def _channel_stats(name: str, values: dict[str, torch.Tensor], width: int) -> ChannelStats:
    """One input's statistics: amplitude and phase ``width`` values, RSSI one (a scalar, as
    :func:`~lofi.data.features.channel_stats` gives it for the 1-D RSSI rows)."""
    shape = () if name == "rssi" else (width,)
    mean, std = values["mean"], values["std"]
    if mean.numel() != int(np.prod(shape)):
        raise ValueError(
            f"stats[{name!r}] holds {mean.numel()} values, the {name} input has {int(np.prod(shape))}"
        )
    return ChannelStats(mean.numpy().reshape(shape), std.numpy().reshape(shape))


def model_outputs(
    model: nn.Module,
    features: FeatureSpec,
    amplitude: np.ndarray,
    phase: np.ndarray | None = None,
    rssi: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """The model on raw windows: ``xy`` (windows x 2, m, float32) and ``region{n}`` (argmax of the
    region logits). ``amplitude``, ``phase``: (windows, length, subcarriers); ``rssi``: (windows,
    length) in dBm; made into the model's input as in training (``features``)."""
    x = np.require(features(amplitude, phase, rssi), np.float32, ["C", "W"])
    with torch.no_grad():
        outputs = model(torch.from_numpy(x))
    out = {"xy": outputs["xy"].detach().float().cpu().numpy()}
    for n in GRIDS:
        out[f"region{n}"] = outputs[f"logits{n}"].detach().argmax(dim=1).cpu().numpy()
    return out


def task_outputs(record: RunModel, outputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """What the run's task trained: ``xy`` (float64, m; NaN for a ``classify`` run, whose position
    head never learnt) and ``region{n}`` (int64; a ``regression`` run's from its positions, -1 where
    they are not finite)."""
    xy = np.asarray(outputs["xy"], dtype=np.float64)
    if record.task == "classify":
        xy = np.full_like(xy, np.nan)
    regions = {}
    for n in sorted(GRIDS):
        regions[f"region{n}"] = np.asarray(outputs[f"region{n}"]).astype(np.int64)
        if record.task == "regression":
            finite = np.isfinite(xy).all(axis=1)
            regions[f"region{n}"] = np.full(len(xy), -1, dtype=np.int64)
            if finite.any():
                regions[f"region{n}"][finite] = region_index(xy[finite], record.region_m, n)
    return {"xy": xy, **regions}

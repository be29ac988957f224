"""One validation pass over a composed training config, before any data is read.

Hydra composes ``conf/train.yaml`` with its groups and the command line's overrides;
:func:`validate` then checks every key the run reads: its type (``seed=1.5`` is not an
integer, ``model.lr=abc`` not a number, ``label_valid: 'false'`` style strings are not
booleans) and its range (``trainer.max_epochs`` >= 1, finite learning rates, a GPU only
where one exists), and refuses keys no part of the run reads. :func:`resolve_paths` makes
the paths a run reads absolute, from the project folder (``paths.root_dir``), never from the
working directory. Each error names the key, the value and what is expected.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from pathlib import Path

from omegaconf import DictConfig, OmegaConf, open_dict

from lofi.data.datamodule import LABEL_SOURCES
from lofi.data.features import EXTRAS, NORMALIZE
from lofi.data.splits import SPLITS
from lofi.data.windows import LABELS
from lofi.io.names import path_component_problem
from lofi.models import TASKS as LOCALIZATION_TASKS
from lofi.models.catalog import MODELS

#: ``task``: what a run trains (pretrain: CSI-BERT masked-frame recovery, no localisation).
TASKS = (*LOCALIZATION_TASKS, "pretrain")
#: Most random training windows one epoch may draw (each is an index; more is a memory error).
MAX_TRAIN_WINDOWS = 10_000_000
#: Longest window (frames): 60 s at 100 Hz.
MAX_WINDOW_FRAMES = 6_000
#: What early stopping and the checkpoint may watch (lowest is best): logged every validation epoch.
MONITORS = {"localize": ("val/loss", "val/err_mean"), "pretrain": ("val/loss", "val/mae")}
ACCELERATORS = ("cpu", "gpu", "cuda", "auto")
PRECISIONS = (16, 32, 64, "16", "32", "64", "16-mixed", "bf16-mixed", "32-true", "64-true", "bf16-true")

Check = Callable[[object], str | None]


class ConfigError(ValueError):
    """A training setting has the wrong type or lies outside its range."""


def integer(low: int | None = None, high: int | None = None) -> Check:
    """An int (not a bool, not 1.5) in ``[low, high]``."""

    def check(value: object) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int):
            return "an integer"
        if (low is not None and value < low) or (high is not None and value > high):
            return (
                f"an integer in [{low if low is not None else '-inf'}, {high if high is not None else 'inf'}]"
            )
        return None

    return check


def number(low: float = -math.inf, high: float = math.inf, low_open: bool = False) -> Check:
    """A finite int or float in ``[low, high]`` (``(low, high]`` with ``low_open``)."""

    def check(value: object) -> str | None:
        bad = isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value)
        if bad or value > high or value < low or (low_open and value == low):
            return f"a finite number in {'(' if low_open else '['}{low:g}, {high:g}]"
        return None

    return check


def choice(options: tuple) -> Check:
    """One of ``options``."""
    shown = ", ".join(dict.fromkeys(map(str, options)))  # 16 and "16" print once
    return lambda value: None if value in options else f"one of {shown}"


def boolean(value: object) -> str | None:
    """true or false (not the text 'false')."""
    return None if isinstance(value, bool) else "true or false"


def text(value: object) -> str | None:
    """Non-empty text."""
    return None if isinstance(value, str) and value.strip() else "non-empty text"


def optional(check: Check) -> Check:
    """``check``, or null."""
    return lambda value: None if value is None else (f"null or {p}" if (p := check(value)) else None)


def name(value: object) -> str | None:
    """Text that can be one folder name."""
    if not isinstance(value, str):
        return "a name (text)"
    problem = path_component_problem(value)
    return f"a plain folder name ({problem})" if problem else None


def list_of(check: Check, size: int | None = None, min_size: int = 0) -> Check:
    """A list of values that each pass ``check`` (``size`` of them, or at least ``min_size``)."""

    def run(value: object) -> str | None:
        if not isinstance(value, list | tuple):
            return "a list"
        if (size is not None and len(value) != size) or len(value) < min_size:
            return f"a list of {size if size is not None else f'at least {min_size}'} values"
        problems = [check(v) for v in value]
        return next((f"a list of {p}" for p in problems if p), None)

    return run


def mask_ratio(value: object) -> str | None:
    """[low, high] with 0 < low <= high < 1."""
    ok = isinstance(value, list) and len(value) == 2 and not any(map(number(0, 1, True), value))
    return None if ok and value[0] <= value[1] < 1 else "[low, high] with 0 < low <= high < 1"


def region_weights(value: object) -> str | None:
    """Three finite weights >= 0, not all zero."""
    problem = list_of(number(0.0), size=3)(value)
    return problem or (None if sum(value) > 0 else "three weights >= 0, not all zero")


def fraction_or_batches(value: object) -> str | None:
    """A share of the batches in (0, 1] or a number of batches >= 1 (Lightning's limit_*_batches)."""
    return (
        None
        if not number(0.0, 1.0, True)(value) or not integer(1)(value)
        else "a share in (0, 1] or batches >= 1"
    )


def devices(value: object) -> str | None:
    """A device count >= 1, -1 (all), 'auto' or a list of indices."""
    if value in ("auto", -1) or not integer(1)(value) or not list_of(integer(0), min_size=1)(value):
        return None
    return "a count >= 1, -1, auto or a list of device indices"


RULES: dict[str, Check] = {
    "seed": integer(0, 2**32 - 1),
    "region_weights": region_weights,
    "paper_protocol": boolean,
    "experiment_name": name,
    "run_name": name,
    "overwrite": boolean,
    "optimized_metric": optional(text),
    "data.dir": text,
    "data.length": integer(2, MAX_WINDOW_FRAMES),
    "data.label": choice(LABELS),
    "data.split": choice(SPLITS),
    "data.fold": integer(0),
    "data.normalize": choice(NORMALIZE),
    "data.label_source": choice(LABEL_SOURCES),
    "data.extra": list_of(choice(EXTRAS)),
    "data.batch_size": integer(1, 65_536),
    "data.train_windows_per_epoch": integer(1, MAX_TRAIN_WINDOWS),
    "data.eval_stride": optional(integer(1)),
    "data.num_workers": integer(0, 64),
    "data.region_m": optional(list_of(number(0.0, low_open=True), size=2)),
    "model.lr": number(0.0),
    "model.weight_decay": number(0.0),
    "model.pretrained": optional(text),
    "trainer.accelerator": choice(ACCELERATORS),
    "trainer.devices": devices,
    "trainer.max_epochs": integer(1, 1_000_000),
    "trainer.gradient_clip_val": optional(number(0.0)),
    "trainer.deterministic": boolean,
    "trainer.precision": choice(PRECISIONS),
    "trainer.threads": integer(1, 1024),
    "trainer.enable_progress_bar": boolean,
    "trainer.limit_train_batches": fraction_or_batches,
    "trainer.limit_val_batches": fraction_or_batches,
    "trainer.limit_test_batches": fraction_or_batches,
    "callbacks.patience": integer(1),
    "logger.tracking_uri": optional(text),
    "logger.experiment": optional(text),
    "pretrain.mask_ratio": mask_ratio,
    "pretrain.adversarial_weight": number(0.0),
    "recovery_eval.checkpoint": optional(text),
    "recovery_eval.hide_share": number(0.0, 1.0, True),
    "recovery_eval.mean_burst_frames": lambda v: (
        None
        if not number(1.0)(v) or not list_of(number(1.0), min_size=1)(v)
        else "a number >= 1 of frames, or a list of them"
    ),
}
#: Groups whose every key must be one the run reads (a typo is an error, not ignored).
CLOSED_GROUPS = ("data", "model", "callbacks", "pretrain", "recovery_eval")
#: Keys of those groups the rules above do not type-check (checked where used: the model's name and
#: task by ``lofi.train.run.check_model_config``, the options by the model's builder).
FREE_KEYS = {"model.name", "model.options", "callbacks.monitor"}


def validate(cfg: DictConfig) -> None:
    """Check every setting of ``cfg`` (see the module docstring); raises :class:`ConfigError`."""
    plain = OmegaConf.to_container(cfg, resolve=True)
    for key, check in RULES.items():
        found, value = _lookup(plain, key)
        if found and (expected := check(value)):
            raise ConfigError(f"{key}={value!r}: expected {expected}")
    _check_known_keys(plain)
    _check_monitor(plain)
    _check_trainer(plain.get("trainer") or {}, str(plain.get("task")))
    _check_experiment(plain)


def _check_experiment(plain: dict) -> None:
    """``experiment=table2_gru model=cnn`` would train a CNN under the GRU's name."""
    name, model = str(plain.get("experiment_name")), str((plain.get("model") or {}).get("name"))
    named = name.removeprefix("table2_")
    if name.startswith("table2_") and named in MODELS and named != model:
        raise ConfigError(
            f"experiment_name={name} names model {named}, but model.name={model}: the run would be "
            f"reported as {named}; use experiment=table2_{model} (or set experiment_name)"
        )


def _lookup(plain: dict, key: str) -> tuple[bool, object]:
    node: object = plain
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


def _check_known_keys(plain: dict) -> None:
    for group in CLOSED_GROUPS:
        known = {k.split(".", 1)[1] for k in (*RULES, *FREE_KEYS) if k.startswith(f"{group}.")}
        unknown = sorted(set(plain.get(group) or {}) - known)
        if unknown:
            raise ConfigError(
                f"{group}.{unknown[0]}: not a setting of {group}/; known: {', '.join(sorted(known))}"
            )
    if not isinstance((plain.get("model") or {}).get("options", {}), dict):
        raise ConfigError(
            f"model.options={plain['model']['options']!r}: expected a mapping of model arguments"
        )


def _check_monitor(plain: dict) -> None:
    monitor = (plain.get("callbacks") or {}).get("monitor")
    allowed = MONITORS["pretrain" if plain.get("task") == "pretrain" else "localize"]
    if monitor not in allowed:
        raise ConfigError(
            f"callbacks.monitor={monitor!r}: expected one of {', '.join(allowed)} (lowest is best)"
        )


def _check_trainer(trainer: dict, task: str = "multitask") -> None:
    """Keys Lightning's Trainer takes (``threads`` is ours); a GPU only where torch sees one; a CPU
    process count; several processes (DDP) only for the localisation tasks."""
    import pytorch_lightning as pl
    import torch

    accepted = set(inspect.signature(pl.Trainer.__init__).parameters) | {"threads"}
    unknown = sorted(set(trainer) - accepted)
    if unknown:
        raise ConfigError(f"trainer.{unknown[0]}: not a setting of Lightning's Trainer")
    if trainer.get("accelerator") == "cpu" and str(trainer.get("precision")) in ("16", "16-mixed", "16-true"):
        raise ConfigError(
            f"trainer.precision={trainer['precision']} on trainer.accelerator=cpu: float16 needs a GPU "
            "(Lightning would run bf16-mixed instead of what the config records); use 32 or bf16-mixed"
        )
    if trainer.get("accelerator") == "cpu" and trainer.get("devices") in (-1, "-1"):
        raise ConfigError(
            "trainer.devices=-1 on trainer.accelerator=cpu: CPU processes are counted, not found; "
            "give their number (trainer=ddp_cpu: 2)"
        )
    if task == "pretrain" and _processes(trainer) != 1:
        raise ConfigError(
            f"trainer.devices={trainer.get('devices')!r} with task=pretrain: CSI-BERT pre-training runs in "
            "one process (its test numbers are not gathered across DDP processes); use trainer=cpu or gpu"
        )
    if trainer.get("accelerator") in ("gpu", "cuda") and not torch.cuda.is_available():
        raise ConfigError(
            f"trainer.accelerator={trainer['accelerator']}: this machine has no CUDA GPU that torch can use; "
            "use trainer=cpu"
        )


def _processes(trainer: dict) -> int | None:
    """How many processes ``trainer`` runs in all (None: one per GPU found, unknown here)."""
    devices = trainer.get("devices", "auto")
    if isinstance(devices, list):
        return len(devices)
    if isinstance(devices, int) and devices >= 1:
        return devices * int(trainer.get("num_nodes", 1) or 1)
    return None if trainer.get("accelerator") != "cpu" else 1


def resolve_paths(cfg: DictConfig) -> None:
    """Make the paths a run reads absolute, relative ones from ``paths.root_dir`` (the project)."""
    root = Path(str(cfg.paths.root_dir)).expanduser().resolve()
    with open_dict(cfg):
        cfg.paths.root_dir = str(root)
        for key in ("data.dir", "model.pretrained", "recovery_eval.checkpoint"):
            value = OmegaConf.select(cfg, key)
            if value:
                OmegaConf.update(cfg, key, str(_from_root(root, str(value))))


def _from_root(root: Path, path: str) -> Path:
    given = Path(path).expanduser()
    return given if given.is_absolute() else root / given

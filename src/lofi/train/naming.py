"""Run names: a run's folder and MLflow name come from every setting that differs between runs.

``conf/train.yaml`` names a run ``<experiment>-<normalize>[-<tag>]-seed<k>``: the tag is a short
hash of the command line's other overrides (``data.length=50``, ``model.lr=0.01``, …), so two
runs that differ in any setting never share a folder; overrides that only name or place a run
(:data:`NOT_SETTINGS`) and the settings already in the name leave it out. The resolver
``${lofi_tag:}`` reads the overrides from Hydra (outside a Hydra run, e.g. ``compose`` in tests,
there are none).
"""

from __future__ import annotations

import hashlib

from omegaconf import OmegaConf

#: Config keys that name or place a run, or choose where it is logged: not how it trains.
NOT_SETTINGS = ("run_name", "experiment_name", "paths", "logger", "overwrite", "optimized_metric", "hydra")
#: Overrides already spelled out in the name, or that change nothing a run computes.
IN_THE_NAME = ("experiment", "seed", "data.normalize", "hparams_search", "trainer.threads",
               "trainer.enable_progress_bar")  # fmt: skip


def override_key(override: str) -> str:
    """The key of a Hydra override (``+a.b=1`` -> ``a.b``; ``~a`` -> ``a``)."""
    return override.lstrip("+~").split("=", 1)[0]


def is_setting(key: str) -> bool:
    """Whether an override of ``key`` changes what a run computes and is not already in its name."""
    return not any(key == k or key.startswith(f"{k}.") for k in (*NOT_SETTINGS, *IN_THE_NAME))


def settings_tag(overrides: list[str]) -> str:
    """``-<8 hex>`` of the overrides that are settings (sorted), or ``""`` when there are none."""
    chosen = sorted(o for o in overrides if is_setting(override_key(o)))
    return f"-{hashlib.sha256(chr(10).join(chosen).encode()).hexdigest()[:8]}" if chosen else ""


def _tag() -> str:
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return ""
    return settings_tag(list(HydraConfig.get().overrides.task))


if not OmegaConf.has_resolver("lofi_tag"):
    OmegaConf.register_new_resolver("lofi_tag", _tag)

"""Run ultralytics fully offline, with its settings in a project folder.

Left alone, ultralytics reaches for the network: a DNS probe at import, an
``Arial.ttf`` download on every ``train()``, its MLflow callback writing
``mlflow.db`` into the working directory, an AMP check on GPU that downloads a
model, hub/telemetry sync, and ``pip install`` of any requirement it finds missing
(e.g. ``onnxruntime-gpu`` when exporting on a GPU). :func:`prepare_ultralytics` stops
each of them and must run before ``ultralytics`` is imported (it is called by every
module here that imports it).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

DEFAULT_HOME = Path(".lofi") / "ultralytics"
_OFF = ("sync", "mlflow", "clearml", "comet", "dvc", "raytune", "wandb", "tensorboard", "hub", "neptune")


def ultralytics_home() -> Path:
    """Folder for ultralytics settings, fonts and runs (``$LOFI_ULTRALYTICS_HOME`` or ./.lofi/ultralytics)."""
    return Path(os.environ.get("LOFI_ULTRALYTICS_HOME", DEFAULT_HOME)).resolve()


def prepare_ultralytics() -> Path:
    """Point ultralytics at the project folder, offline, with every integration off."""
    home = ultralytics_home()
    settings_dir = home / "Ultralytics"
    settings_dir.mkdir(parents=True, exist_ok=True)
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ["YOLO_AUTOINSTALL"] = "False"
    os.environ["YOLO_CONFIG_DIR"] = str(home)
    os.environ.setdefault("YOLO_VERBOSE", "False")
    _install_font(settings_dir)
    from ultralytics import settings

    wanted = {key: False for key in _OFF if key in settings}
    wanted.update(
        runs_dir=str(home / "runs"),
        weights_dir=str(home / "weights"),
        datasets_dir=str(home / "datasets"),
    )
    if any(settings.get(k) != v for k, v in wanted.items()):
        settings.update(wanted)
    return home


def _install_font(settings_dir: Path) -> None:
    """Give ultralytics a local ``Arial.ttf`` (matplotlib's DejaVu Sans) so it never downloads one."""
    import matplotlib

    source = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    for name in ("Arial.ttf", "Arial.Unicode.ttf"):
        target = settings_dir / name
        if not target.exists() and source.exists():
            shutil.copyfile(source, target)

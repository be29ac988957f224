"""Screenshots of the MLflow dashboard for the README (``make screenshots``; not a test).

Starts ``lofi mlflow-ui`` on a free port of 127.0.0.1 in PROJECT (its ``mlflow.db``), then has
headless Chromium (Debian package ``chromium``) save:

- ``docs/images/mlflow_runs.png``: the experiment's runs table, models side by side;
- ``docs/images/mlflow_run_metrics.png``: one run's metric curves per epoch.

    python docs/screenshots.py                       # this project's store, experiment lofi-table2
    python docs/screenshots.py --project scratch --experiment lofi-smoke --run gru-window-seed0
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

IMAGES = Path(__file__).resolve().parent / "images"
#: Chromium's flags on a machine without a display or a network (no sandbox as root).
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars", "--window-size=1600,900",
)  # fmt: skip
#: Milliseconds of page time Chromium gives the dashboard's scripts before the screenshot.
PAGE_TIME_MS = 20_000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_dashboard(project: Path, port: int, timeout_s: float = 180) -> subprocess.Popen:
    """``lofi mlflow-ui`` in ``project``, once it answers ``/health``."""
    lofi = Path(sys.executable).with_name("lofi")
    process = subprocess.Popen(
        [str(lofi), "mlflow-ui", "--port", str(port)], cwd=project, start_new_session=True
    )
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"lofi mlflow-ui exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5):
                return process
        except OSError:
            time.sleep(1)
    os.killpg(process.pid, signal.SIGTERM)
    raise SystemExit(f"the dashboard did not answer within {timeout_s:.0f} s")


def screenshot(url: str, out: Path) -> None:
    """Chromium's headless screenshot of ``url`` into ``out`` (PNG)."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("no chromium on PATH (Debian: apt-get install chromium)")
    with tempfile.TemporaryDirectory() as profile:
        command = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                   f"--virtual-time-budget={PAGE_TIME_MS}", f"--screenshot={out}", url]  # fmt: skip
        subprocess.run(command, check=True, capture_output=True, timeout=180)
    print(f"{out} ({out.stat().st_size // 1024} KB): {url}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--project", type=Path, default=Path("."), help="folder holding mlflow.db")
    parser.add_argument("--experiment", default="lofi-table2", help="experiment (default: %(default)s)")
    parser.add_argument("--run", default="gru-global-seed0", help="run whose curves to show")
    args = parser.parse_args(argv)
    from mlflow.tracking import MlflowClient

    from lofi.train.tracking import tracking_uri

    client = MlflowClient(tracking_uri=tracking_uri(args.project))
    experiment = client.get_experiment_by_name(args.experiment)
    if experiment is None:
        raise SystemExit(f"{args.project}: no MLflow experiment {args.experiment!r} (run the pipeline first)")
    runs = client.search_runs([experiment.experiment_id], f"attributes.run_name = '{args.run}'")
    if not runs:
        raise SystemExit(f"experiment {args.experiment!r} has no run named {args.run!r}")
    port = free_port()
    process = start_dashboard(args.project, port)
    try:
        base = f"http://127.0.0.1:{port}/#/experiments/{experiment.experiment_id}"
        IMAGES.mkdir(exist_ok=True)
        screenshot(f"{base}/runs", IMAGES / "mlflow_runs.png")
        screenshot(f"{base}/runs/{runs[0].info.run_id}/model-metrics", IMAGES / "mlflow_run_metrics.png")
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())

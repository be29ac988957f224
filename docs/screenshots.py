"""Screenshots of the MLflow dashboard for the README (``make screenshots``; not a test).

Starts ``lofi mlflow-ui`` on a free port of 127.0.0.1 in PROJECT (its ``mlflow.db``), then has
headless Chromium (Debian package ``chromium``) save:

- ``docs/images/mlflow_runs.png``: one seed's Table II runs compared (MLflow's compare page:
  their settings against the test error, and the runs side by side);
- ``docs/images/mlflow_run_metrics.png``: one run's loss and validation error per epoch.

    python docs/screenshots.py                       # this project's store, experiment lofi-table2
    python docs/screenshots.py --project scratch --experiment lofi-smoke --run gru-window-seed0
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

IMAGES = Path(__file__).resolve().parent / "images"
#: Chromium's flags on a machine without a display or a network (no sandbox as root).
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars", "--window-size=1600,900",
)  # fmt: skip
#: The per-epoch curves of the second screenshot.
CURVES = ("train/loss", "val/loss", "val/err_mean")
#: Milliseconds of page time Chromium gives the dashboard's scripts before the screenshot.
PAGE_TIME_MS = 60_000


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


def query(**values: object) -> str:
    """A dashboard query string: each value as compact JSON, URL-quoted (MLflow's pages parse JSON)."""
    return "&".join(
        f"{k}={urllib.parse.quote(json.dumps(v, separators=(',', ':')), safe='')}" for k, v in values.items()
    )


def main(argv: list[str] | None = None) -> int:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--project", type=Path, default=Path("."), help="folder holding mlflow.db")
    parser.add_argument("--experiment", default="lofi-table2", help="experiment (default: %(default)s)")
    parser.add_argument("--seed", default="0", help="the seed whose runs to compare (default: %(default)s)")
    parser.add_argument("--run", default="gru-global-seed0", help="run whose curves to show")
    args = parser.parse_args(argv)
    from mlflow.tracking import MlflowClient

    from lofi.train.tracking import tracking_uri

    client = MlflowClient(tracking_uri=tracking_uri(args.project))
    experiment = client.get_experiment_by_name(args.experiment)
    if experiment is None:
        raise SystemExit(f"{args.project}: no MLflow experiment {args.experiment!r} (run the pipeline first)")
    runs = client.search_runs([experiment.experiment_id], "attributes.status = 'FINISHED'")
    names = {r.info.run_id: r.info.run_name for r in runs}
    compared = [i for i, n in names.items() if n.endswith(f"-seed{args.seed}") and "pretrain" not in n]
    chosen = [i for i, n in names.items() if n == args.run]
    if not compared or not chosen:
        raise SystemExit(
            f"experiment {args.experiment!r} has no finished run of seed {args.seed} or named {args.run}"
        )
    port = free_port()
    process = start_dashboard(args.project, port)
    try:
        base, ids = f"http://127.0.0.1:{port}/#", [experiment.experiment_id]
        IMAGES.mkdir(exist_ok=True)
        screenshot(f"{base}/compare-runs?{query(runs=compared, experiments=ids)}", IMAGES / "mlflow_runs.png")
        curves = query(runs=chosen, metric=CURVES[1], experiments=ids, plot_metric_keys=list(CURVES))
        metric = urllib.parse.quote(CURVES[1], safe="")
        screenshot(f"{base}/metric/{metric}?{curves}", IMAGES / "mlflow_run_metrics.png")
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Shared test helpers: paths of the bundled real ESP32 logs, the smoke pipeline's scratch project."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings

# CI runs the property tests on a fixed set of examples, so a run is reproducible;
# locally they explore new examples each time.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")

# Keep ultralytics' settings, fonts and runs out of the repository and the user's home.
os.environ.setdefault("LOFI_ULTRALYTICS_HOME", tempfile.mkdtemp(prefix="lofi-ultralytics-"))

DATA = Path(__file__).parent / "fixtures"
REAL_CSI = DATA / "real_csi"
CSIKIT_LOG = REAL_CSI / "csikit_esp32_100hz_pitraffic" / "example_100hz_pitraffic.csv"
CSI_TOOL_LOG = REAL_CSI / "esp32_csi_tool_example" / "example_csi.csv"
ESP_CSI_LOG = REAL_CSI / "espcsi_test_csv_with_head" / "csi_data_with_head.csv"


@pytest.fixture
def real_logs() -> dict[str, Path]:
    return {"csikit": CSIKIT_LOG, "csi_tool": CSI_TOOL_LOG, "esp_csi": ESP_CSI_LOG}


@pytest.fixture(scope="session")
def smoke_project(tmp_path_factory) -> Path:
    """A scratch project with the smoke pipeline run once per test session (about 2 min on 2 cores).

    Read it, never change it: a test that changes files works on ``copy_project(smoke_project, ...)``.
    """
    from tests.smoke_project import run_smoke

    return run_smoke(tmp_path_factory.mktemp("smoke-project"))


@pytest.fixture(autouse=True)
def _tracking_uri_stays_in_its_test():
    """``mlflow.set_tracking_uri`` also sets ``$MLFLOW_TRACKING_URI`` for every later subprocess: a
    test's store (or a stopped server) must not become the next test's pipeline's store."""
    import sys

    before = os.environ.get("MLFLOW_TRACKING_URI")
    yield
    if os.environ.get("MLFLOW_TRACKING_URI") != before and "mlflow" in sys.modules:
        import mlflow

        mlflow.set_tracking_uri(before)  # None: unset, as before the test
    if before is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    else:
        os.environ["MLFLOW_TRACKING_URI"] = before


@pytest.fixture
def port():
    """The slave side of a pseudo-terminal: a serial port that exists and sends nothing."""
    import tty

    master, slave = os.openpty()
    tty.setraw(slave)
    yield os.ttyname(slave)
    os.close(master)
    os.close(slave)

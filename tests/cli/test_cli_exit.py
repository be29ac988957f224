"""The console script ends with the command's exit status."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import ESP_CSI_LOG

LOFI = Path(sys.executable).parent / "lofi"


def test_console_script_exit_status_and_flushed_output(tmp_path):
    ok = subprocess.run([LOFI, "inspect", "--json", str(ESP_CSI_LOG)], capture_output=True, text=True)
    assert ok.returncode == 0 and '"rows": 116' in ok.stdout
    bad = subprocess.run([LOFI, "inspect", str(tmp_path / "missing.csv")], capture_output=True, text=True)
    assert bad.returncode == 2 and "no such file" in bad.stderr

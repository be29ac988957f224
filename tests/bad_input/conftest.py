"""Helpers of the bad-input suite: run a ``lofi`` command as a user would and check how it failed.

Every case builds its own input, runs the command through the CLI (in-process, like the console
script), and asserts the exit code, that stderr names the file and the field, that no traceback
was printed, and which outputs exist afterwards.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from pathlib import Path

import pytest

from lofi.cli import main


@dataclass
class Outcome:
    code: int
    out: str
    err: str

    def refused(self, *fragments: str) -> None:
        """Exit code 2, one clear error naming every fragment (file, field, value, reason), no traceback."""
        assert self.code == 2, f"exit {self.code}; stderr: {self.err}"
        assert "Traceback" not in self.err + self.out
        for fragment in fragments:
            assert fragment in self.err, f"{fragment!r} not in: {self.err}"


@pytest.fixture
def lofi(capsys):
    """``lofi(*args) -> Outcome``: run one command; usage errors (argparse) are exit code 2 too."""

    def run(*args: str | Path) -> Outcome:
        try:
            code = main([str(a) for a in args])
        except SystemExit as exit_:
            code = int(exit_.code or 0)
        except Exception:  # a traceback is what the suite is there to catch
            captured = capsys.readouterr()
            pytest.fail(f"lofi {' '.join(map(str, args))} raised:\n{traceback.format_exc()}\n{captured.err}")
        captured = capsys.readouterr()
        return Outcome(code, captured.out, captured.err)

    return run

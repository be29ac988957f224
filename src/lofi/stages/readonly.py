"""Inputs are read-only: a command refuses an output that is one of its inputs or lies in a raw session.

Every command names which of its arguments it reads and which it writes (see the
``reads``/``writes`` defaults of each subparser in :mod:`lofi.cli`); :func:`check_outputs`
resolves them (symbolic links followed) before anything is read or written.
A raw session folder is one holding ``session.yaml``: what a recording (or ``lofi
simulate``) made. Only the commands that make raw sessions write there, and ``lofi
calibrate`` may write the session's ``calibration.yaml``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from lofi.io.session_layout import SESSION_META


class InputOverwriteError(ValueError):
    """An output would replace an input or write into a raw session folder."""


def raw_session_of(path: Path) -> Path | None:
    """The raw session folder ``path`` is or lies in (a folder holding ``session.yaml``), else None."""
    for folder in (path, *path.parents):
        if (folder / SESSION_META).is_file():
            return folder
    return None


def _resolved(path: str | os.PathLike[str]) -> Path:
    return Path(path).expanduser().resolve()


def check_outputs(
    command: str,
    reads: Iterable[str | os.PathLike[str]],
    writes: Iterable[str | os.PathLike[str]],
    raw_files: tuple[str, ...] | None = (),
) -> None:
    """Refuse any of ``writes`` that is one of ``reads`` or lies inside a raw session folder.

    Args:
        command: the command's name, for the message.
        reads: files and folders the command reads.
        writes: files and folders it would write (a folder: everything under it).
        raw_files: file names the command may write inside a raw session folder (``None``: any,
            for the commands that make raw sessions).

    Raises:
        InputOverwriteError: naming the output, the input or session folder, and the reason.
    """
    inputs = {_resolved(path): path for path in reads}
    for output in writes:
        target = _resolved(output)
        if target in inputs:
            raise InputOverwriteError(
                f"{output}: is an input of `lofi {command}` ({inputs[target]}); inputs are read-only, "
                "write the output elsewhere"
            )
        session = raw_session_of(target)
        if session is not None and raw_files is not None and target.name not in raw_files:
            raise InputOverwriteError(
                f"{output}: lies in the raw session folder {session} (it holds {SESSION_META}); "
                f"`lofi {command}` never writes into a recording, write the output elsewhere"
            )

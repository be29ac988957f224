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

from lofi.io.session_layout import SESSION_META, raw_session_of


class InputOverwriteError(ValueError):
    """An output would replace an input or write into a raw session folder."""


def _resolved(path: str | os.PathLike[str]) -> Path:
    return Path(path).expanduser().resolve()


def check_outputs(
    command: str,
    reads: Iterable[str | os.PathLike[str]],
    writes: Iterable[str | os.PathLike[str]],
    raw_files: tuple[str, ...] | None = (),
    write_dirs: Iterable[str | os.PathLike[str]] = (),
) -> None:
    """Refuse any output that is one of ``reads``, lies inside a folder of ``reads``, or lies in a raw
    session folder; and a file output that is an existing folder.

    Args:
        command: the command's name, for the message.
        reads: files and folders the command reads (everything under a folder is an input).
        writes: files it would write.
        raw_files: file names the command may write inside a raw session folder (``None``: any,
            for the commands that make raw sessions).
        write_dirs: folders it would write into.

    Raises:
        InputOverwriteError: naming the output, the input or session folder, and the reason.
    """
    inputs = {_resolved(path): path for path in reads}
    for output in writes:
        if Path(output).is_dir():
            raise InputOverwriteError(f"{output}: is a folder; give a file name")
    for output in [*writes, *write_dirs]:
        _check_one(command, output, inputs, raw_files)


def _check_one(
    command: str, output: str | os.PathLike[str], inputs: dict, raw_files: tuple[str, ...] | None
) -> None:
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
    folder = next((src for path, src in inputs.items() if path in target.parents and path.is_dir()), None)
    if folder is not None:
        raise InputOverwriteError(
            f"{output}: lies in {folder}, which `lofi {command}` reads; inputs are read-only, "
            "write the output elsewhere"
        )

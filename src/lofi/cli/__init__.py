"""The ``lofi`` command line: parse arguments, show progress, print a summary, set the exit code.

Each group of subcommands lives in its own module and calls one stage
(:mod:`lofi.stages`); heavy libraries are imported only when a command runs, so
``lofi --help`` is fast.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from lofi import __version__
from lofi.cli.ingest import add_ingest_commands
from lofi.cli.labels import add_label_commands
from lofi.cli.predict import add_predict_command
from lofi.cli.record import add_record_command
from lofi.cli.sessions import add_session_commands
from lofi.cli.track import add_track_command
from lofi.cli.train import add_train_commands
from lofi.stages.paths import ProjectPath


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``lofi`` command."""
    parser = argparse.ArgumentParser(
        prog="lofi",
        description="LoFi: vision-aided labels and benchmarks for Wi-Fi (ESP32 CSI) localisation.",
    )
    parser.add_argument("--version", action="version", version=f"lofi {__version__}")
    parser.add_argument(
        "--root",
        default=".",
        metavar="DIR",
        help="the project folder that default paths (data/raw, data/interim/<session>, data/detector, "
        "data/processed, results) are relative to (default: the current folder)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_session_commands(sub)
    add_label_commands(sub)
    add_ingest_commands(sub)
    add_train_commands(sub)
    add_predict_command(sub)
    add_record_command(sub)
    add_track_command(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``lofi`` command; returns the exit status (0 ok, 2 bad input, 130 interrupted)."""
    args = build_parser().parse_args(argv)
    for key, value in vars(args).items():
        if isinstance(value, ProjectPath):  # a default path, not one the user typed
            setattr(args, key, str(Path(args.root) / value))
    try:
        _check_outputs(args)
        return args.func(args)
    except KeyboardInterrupt:  # outputs are written atomically: nothing half-written remains
        print(f"lofi {args.command}: interrupted; no partial output was kept", file=sys.stderr)
        return 130
    except (ValueError, OSError, KeyError) as err:
        if os.environ.get("LOFI_TRACEBACK"):  # debugging: the whole traceback, not one line
            raise
        print(f"lofi {args.command}: error: {error_text(err)}", file=sys.stderr)
        return 2


def _check_outputs(args: argparse.Namespace) -> None:
    """Refuse outputs that are inputs, lie in an input folder or a raw session (each command's
    ``reads``, ``writes`` (files), ``write_dirs`` (folders) and ``more_writes(args)``)."""
    from lofi.stages.readonly import check_outputs

    def paths(names: tuple[str, ...]) -> list[str]:
        values = [getattr(args, name, None) for name in names]
        return [p for v in values if v for p in ([v] if isinstance(v, str) else v)]

    def derived(name: str) -> list:
        function = getattr(args, name, None)
        return function(args) if function else []

    check_outputs(
        args.command,
        [*paths(getattr(args, "reads", ())), *derived("more_reads")],
        [*paths(getattr(args, "writes", ())), *derived("more_writes")],
        getattr(args, "raw_files", ()),
        [*paths(getattr(args, "write_dirs", ())), *derived("more_write_dirs")],
    )


def error_text(err: BaseException) -> str:
    """The message of ``err``; an OS error always names its file (disk full, too large, permission)."""
    if isinstance(err, OSError) and err.strerror:
        where = " -> ".join(str(f) for f in (err.filename, err.filename2) if f) or "(no path given)"
        return f"{where}: {err.strerror}"
    return str(err)


def run() -> None:
    """Entry point of the ``lofi`` console script.

    Every output is complete (written atomically, fsynced) when :func:`main` returns, so
    the process ends there without interpreter teardown: Arrow's native thread pools can
    abort the process while being torn down at exit ("terminate called without an active
    exception", apache/arrow#34314), which would turn a finished command into a failure.
    """
    status = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)

"""The ``lofi`` command line. Every subcommand is a thin wrapper over a library function."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from lofi import __version__
from lofi.io.csi_reader import CsiReadError


def _cmd_inspect(args: argparse.Namespace) -> int:
    from lofi.io.inspect import format_summary, inspect_path

    summary = inspect_path(args.path)
    print(json.dumps(summary) if args.json else format_summary(summary))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``lofi`` command."""
    parser = argparse.ArgumentParser(
        prog="lofi",
        description="LoFi: vision-aided labels and benchmarks for Wi-Fi (ESP32 CSI) localisation.",
    )
    parser.add_argument("--version", action="version", version=f"lofi {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    inspect = sub.add_parser(
        "inspect",
        help="summarise an ESP32 CSI log or a session folder",
        description=(
            "Read an ESP32 CSI log (any esp-csi, esp-radar or ESP32-CSI-Tool layout) and print "
            "the detected layout, rows kept, rows skipped by reason, subcarrier count, duration, "
            "mean packet rate, loss estimated from device-time gaps (paper eq. 4) and the RSSI "
            "range. PATH is a CSV file or a session folder holding csi.csv (its session.yaml "
            "may give the nominal rate csi_rate_hz; otherwise it is estimated)."
        ),
    )
    inspect.add_argument("path", metavar="PATH", help="CSI CSV file or session folder")
    inspect.add_argument("--json", action="store_true", help="print exactly one JSON object")
    inspect.set_defaults(func=_cmd_inspect)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``lofi`` console script."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (CsiReadError, ValueError) as err:
        print(f"lofi {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

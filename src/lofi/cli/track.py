"""``lofi track``: live positions from an ESP32's CSI stream (or a replayed log) with a trained run."""

from __future__ import annotations

import argparse

from lofi.cli.options import has_display
from lofi.cli.predict import PREDICT_FILLS, add_keep_sig_modes
from lofi.cli.types import positive_float, positive_int
from lofi.stages.record_choices import DEFAULT_BAUD

#: Positions kept in the live window's trail.
TRAIL = 30


def add_track_command(sub: argparse._SubParsersAction) -> None:
    """Register track."""
    track = sub.add_parser(
        "track",
        help="live positions from an ESP32 (--serial) or a replayed CSI log (--replay) with a trained run",
        description=(
            "Read CSI lines as they arrive, keep the last windows, complete them as `lofi csi` does (lost "
            "rows found from the device clock, short gaps filled), and apply RUN's model to the newest full "
            "window each time a window's length of new rows has arrived. Shows the position on the floor "
            "plan in a window where a display exists (q or Esc stops), else prints one line per position; "
            "Ctrl-C stops. Each position's latency (from the arrival of the window's newest packet) is "
            "measured and summarised at the end."
        ),
    )
    source = track.add_mutually_exclusive_group(required=True)
    source.add_argument("--serial", metavar="PORT", help="the ESP32's serial port (e.g. /dev/ttyUSB0)")
    source.add_argument("--replay", metavar="CSV", help="a CSI log (or session folder) replayed at its rate")
    track.add_argument("--run", required=True, help="run folder holding model.pt, or an MLflow run id")
    track.add_argument(
        "--baud", type=positive_int, default=DEFAULT_BAUD, help="serial baud rate (default: %(default)s)"
    )
    track.add_argument(
        "--speed", type=float, default=1.0,
        help="replay speed, times the recorded rate (default: %(default)s; 0: as fast as possible)",
    )  # fmt: skip
    track.add_argument(
        "--rate-hz", type=positive_float,
        help="nominal ping rate (Hz; default: the replayed session's csi_rate_hz, else estimated)",
    )  # fmt: skip
    track.add_argument("--fill", choices=PREDICT_FILLS, help="how to fill lost rows (default: as the run)")
    track.add_argument("--seconds", type=positive_float, help="stop after this long (default: until the end)")
    track.add_argument("--out", metavar="PARQUET", help="also write every position here")
    track.add_argument("--plot", metavar="PNG", help="also draw the trajectory here at the end")
    track.add_argument(
        "--no-window", action="store_true", help="never open a window (default: one when a display exists)"
    )
    add_keep_sig_modes(track)
    track.set_defaults(func=_cmd_track, reads=("replay", "run"), writes=("out", "plot"))


def _cmd_track(args: argparse.Namespace) -> int:
    from lofi.stages.track import latency_summary, run_track

    table = run_track(
        args.run, args.serial, args.replay, args.baud, args.speed, args.rate_hz, args.fill, args.seconds,
        args.out, args.plot, args.root, display=_display(args.no_window), keep_sig_modes=args.keep_sig_modes,
    )  # fmt: skip
    print(latency_summary(table))
    return 0


def _display(no_window: bool):
    """``display(record)``: the callback showing each position, in a window where a display exists
    (q or Esc stops), else as one printed line."""
    window = not no_window and has_display()

    def display(record):
        trail: list = []

        def show(row) -> None:
            r = row.iloc[0]
            print(f"t {r['t_device']:9.2f} s  x {r['x_m']:5.2f} m  y {r['y_m']:5.2f} m  "
                  f"region6 {int(r['region6'])}  latency {r['latency_ms']:6.1f} ms", flush=True)  # fmt: skip
            if window:
                _draw(record.region_m, trail, row)

        return show

    return display


def _draw(region_m: tuple[float, float], trail: list, row) -> None:
    """The floor plan with the last :data:`TRAIL` positions in the window ``lofi track``."""
    import cv2
    import pandas as pd

    from lofi.stages.track import floor_view

    trail.append(row)
    del trail[:-TRAIL]
    cv2.imshow("lofi track", floor_view(region_m, pd.concat(trail)))
    if cv2.waitKey(1) & 0xFF in (ord("q"), 27):
        raise KeyboardInterrupt

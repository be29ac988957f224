"""``lofi predict``: apply a trained run's model to a session's CSI (no video needed)."""

from __future__ import annotations

import argparse

from lofi.cli.types import positive_int
from lofi.csi.choices import FILL_METHODS


def add_keep_sig_modes(parser: argparse.ArgumentParser) -> None:
    """``--keep-sig-modes`` of a command applying a run (default: as the run's data set was made)."""
    from lofi.cli.ingest import keep_sig_modes

    parser.add_argument(
        "--keep-sig-modes", type=keep_sig_modes, metavar="auto|dominant|all|0,1",
        help="which sig_mode sub-streams are pings (default: the setting the run's data set was made with)",
    )  # fmt: skip


#: Fill methods predict can apply on its own (csibert needs a recovery file).
PREDICT_FILLS = tuple(m for m in FILL_METHODS if m != "csibert")


def add_predict_command(sub: argparse._SubParsersAction) -> None:
    """Register predict."""
    predict = sub.add_parser(
        "predict",
        help="apply a trained run's model to a session's CSI: positions and regions per window",
        description=(
            "Read SESSION/csi.csv, complete it as `lofi csi` does (lost rows filled as in the run's data "
            "set), cut it into non-overlapping windows of the run's length (never across an outage or a "
            "new segment), and apply the model.pt of RUN (a `python -m lofi.train` run folder or MLflow "
            "run id). Writes one row per window (t_host and t_device of the window centre in s, x_m, "
            "y_m in m, region2, region4, region6) and the trajectory on the floor plan."
        ),
    )
    predict.add_argument("session", help="raw session folder (csi.csv, session.yaml); no video needed")
    predict.add_argument(
        "--run",
        required=True,
        help="run folder holding model.pt (results/runs/<run>), or an MLflow run id (its model.pt is "
        "fetched from $MLFLOW_TRACKING_URI, else <root>/mlflow.db)",
    )
    predict.add_argument(
        "--out", help="output parquet (default: data/interim/<session>/predictions_<run>.parquet)"
    )
    predict.add_argument("--plot", metavar="PNG", help="trajectory plot (default: beside --out, .png)")
    predict.add_argument(
        "--fill",
        choices=PREDICT_FILLS,
        help="how to fill lost rows (default: the fill method of the run's data set, else linear)",
    )
    predict.add_argument(
        "--length",
        type=positive_int,
        metavar="ROWS",
        help="window length the model must read (refused if the run's differs; default: the run's)",
    )
    add_keep_sig_modes(predict)
    predict.set_defaults(func=_cmd_predict, reads=("session", "run"), writes=("out", "plot"))


def _cmd_predict(args: argparse.Namespace) -> int:
    from lofi.stages.predict import run_predict, summary_line

    result = run_predict(
        args.session, args.run, args.out, args.plot, args.root, args.fill, args.length, args.keep_sig_modes
    )
    print(summary_line(result))
    return 0

"""``lofi mlflow-init``: create the MLflow store and experiment once, before training runs fan out;
``lofi mlflow-ui``: serve that store's dashboard; ``lofi table2`` and ``lofi report``: Table II."""

from __future__ import annotations

import argparse

from lofi.cli.types import folder_name
from lofi.io.constants import SPLITS
from lofi.stages.paths import project_default


def add_train_commands(sub: argparse._SubParsersAction) -> None:
    """Register mlflow-init (training itself runs as ``python -m lofi.train``, configured by Hydra)."""
    init = sub.add_parser(
        "mlflow-init",
        help="create the MLflow store (sqlite:///mlflow.db) and experiment before parallel runs",
        description=(
            "Create the MLflow tracking store and the experiment if they do not exist. Parallel runs "
            "that create a fresh SQLite store at once race on its tables; run this once upstream. "
            "Training runs: python -m lofi.train experiment=table2_lstm."
        ),
    )
    init.add_argument(
        "--uri", help="tracking URI (default: $MLFLOW_TRACKING_URI, else sqlite:///<root>/mlflow.db)"
    )
    init.add_argument("--experiment", default="lofi-table2", help="experiment name (default: %(default)s)")
    init.set_defaults(func=_cmd_mlflow_init)
    _add_ui_command(sub)
    table = sub.add_parser(
        "table2",
        help="Table II from training runs: test error vs labels and truth, acc6/4/2, the paper beside",
        description=(
            "Gather every metrics.json under RUNS (python -m lofi.train runs; pre-training left out) into "
            "the paper's Table II: one row per model, normalisation, split and start (pre-trained or not), "
            "seeds pooled (mean, and the std over seeds in brackets), with the paper's figures beside."
        ),
    )
    _add_runs(table)
    table.add_argument("--out", help="also write the table here (Markdown)")
    table.add_argument(
        "--figure",
        metavar="PNG",
        help="also draw the multi-task runs of one split as a bar chart (baselines and the paper beside)",
    )
    table.add_argument(
        "--figure-split", default="paper", choices=SPLITS,
        help="the split the figure draws (default: %(default)s; a split with folds pools them)",
    )  # fmt: skip
    table.set_defaults(func=_cmd_table2, reads=("runs",), writes=("out", "figure"))
    _add_report_command(sub)


def _add_report_command(sub: argparse._SubParsersAction) -> None:
    """Register ``lofi report``: the committed Table II (Markdown, CSV, JSON) and its figures."""
    report = sub.add_parser(
        "report",
        help="Table II and its figures from training runs: results/table2.{md,csv,json}, results/figures/",
        description=(
            "Gather every run under RUNS (python -m lofi.train) into Table II, seeds pooled (mean ± std over "
            "seeds): error vs labels and truth, median, p90, acc6/4/2, parameters, peak memory, train time, "
            "epochs, test windows, the reference protocol's and the paper's numbers, and what the vision "
            "labels cost (runs trained on data.label_source=truth beside them). Writes OUT_DIR/table2.md, "
            "table2.csv, table2.json and OUT_DIR/figures/ (error CDF, trajectory, error map, bar chart)."
        ),
    )
    _add_runs(report)
    report.add_argument(
        "--out-dir", default=project_default("results"),
        help="where table2.{md,csv,json} and figures/ go (default: results)",
    )  # fmt: skip
    report.add_argument(
        "--only",
        nargs="+",
        metavar="RUN",
        type=folder_name,
        help="report just these run folders of RUNS (the pipeline passes the runs of its configuration)",
    )
    report.set_defaults(func=_cmd_report, reads=("runs",), write_dirs=("out_dir",))


def _add_ui_command(sub: argparse._SubParsersAction) -> None:
    """Register ``lofi mlflow-ui``: the MLflow dashboard of the project's store."""
    ui = sub.add_parser(
        "mlflow-ui",
        help="serve the MLflow dashboard of the project's store on 127.0.0.1 (Ctrl-C stops it)",
        description=(
            "Run `mlflow server` on the project's tracking store ($MLFLOW_TRACKING_URI, else "
            "sqlite:///<root>/mlflow.db) with its artifacts beside it (<root>/mlartifacts), bound to "
            "HOST:PORT (default 127.0.0.1: this machine only). Open http://HOST:PORT: one experiment per "
            "pipeline configuration, runs tagged by model, normalisation, split, fold and data set."
        ),
    )
    ui.add_argument("--host", default="127.0.0.1", help="interface to bind (default: %(default)s)")
    ui.add_argument("--port", type=int, default=5000, help="port (default: %(default)s)")
    ui.set_defaults(func=_cmd_mlflow_ui)


def _add_runs(parser: argparse.ArgumentParser) -> None:
    """``RUNS``: the folder of run folders (default results/runs under the project)."""
    parser.add_argument(
        "runs", nargs="?", default=project_default("results/runs"),
        help="folder of run folders (default: results/runs)",
    )  # fmt: skip


def _cmd_mlflow_init(args: argparse.Namespace) -> int:
    from lofi.train.tracking import init_store, tracking_uri

    uri = args.uri or tracking_uri(args.root)
    print(f"{uri}: experiment {args.experiment!r} has id {init_store(uri, args.experiment)}")
    return 0


def _cmd_mlflow_ui(args: argparse.Namespace) -> int:
    import os
    import sys

    from lofi.train.tracking import server_command, tracking_uri

    command = server_command(tracking_uri(args.root), args.host, args.port)
    print(f"MLflow dashboard of {command[command.index('--backend-store-uri') + 1]}: "
          f"http://{args.host}:{args.port} (Ctrl-C stops it)", flush=True)  # fmt: skip
    sys.stdout.flush()
    os.execv(command[0], command)  # the server replaces this process: Ctrl-C and signals reach it


def _cmd_table2(args: argparse.Namespace) -> int:
    from lofi.report.table2 import collect_runs, write_table2

    runs = collect_runs(args.runs)  # read once, for the table and the figure
    print(write_table2(runs, args.out), end="")
    if args.figure:
        from lofi.report.table2_figure import save_table2_figure

        path = save_table2_figure(runs, args.figure, args.figure_split)
        print(f"figure: {path}")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from lofi.report.report import write_report

    report = write_report(args.runs, args.out_dir, args.only)
    print(report.markdown, end="")
    print("wrote: " + ", ".join(str(path) for path in report.written))
    return 0

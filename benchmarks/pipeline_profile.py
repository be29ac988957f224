"""Where a pipeline run's time went: a table from Snakemake's benchmark files.

Every rule of the pipeline writes ``<results>/benchmarks/<rule or stage>/<job>.tsv`` (Snakemake's
``benchmark:``: wall seconds, CPU seconds, peak RSS in MB). This prints, per stage, the number of
jobs, their summed wall and CPU time (minutes), the longest job and the largest peak memory, and
each stage's share of the summed wall time. Jobs run in parallel, so the summed wall time is more
than the pipeline's elapsed time; the share says where the work is.

    python benchmarks/pipeline_profile.py results            # the default scale
    python benchmarks/pipeline_profile.py scales/quick/results
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

#: Stages whose jobs are the vision labels (the issue's "label stage").
LABEL_STAGES = (
    "simulate_detector_training",
    "train_detector",
    "detect",
    "fit_foot_offset",
    "localize",
    "label_quality",
)


def read_benchmarks(folder: Path) -> pd.DataFrame:
    """One row per job: ``stage`` (the first folder under ``benchmarks/``, else the file's stem),
    ``job``, ``wall_s``, ``cpu_s``, ``max_rss_mb``."""
    rows = []
    for path in sorted(folder.rglob("*.tsv")):
        table = pd.read_csv(path, sep="\t")
        if table.empty or "s" not in table.columns:
            raise SystemExit(f"{path}: not a Snakemake benchmark file (no 's' column)")
        relative = path.relative_to(folder)
        stage = relative.parts[0] if len(relative.parts) > 1 else relative.stem
        rows.append(
            {
                "stage": stage,
                "job": str(relative.with_suffix("")),
                "wall_s": float(table["s"].iloc[-1]),
                "cpu_s": float(pd.to_numeric(table.get("cpu_time"), errors="coerce").iloc[-1]),
                "max_rss_mb": float(pd.to_numeric(table.get("max_rss"), errors="coerce").iloc[-1]),
            }
        )
    return pd.DataFrame(rows)


def summarise(jobs: pd.DataFrame) -> pd.DataFrame:
    """Per stage: jobs, wall and CPU minutes (summed), the longest job (min), peak RSS, share."""
    grouped = jobs.groupby("stage")
    table = pd.DataFrame(
        {
            "jobs": grouped.size(),
            "wall_min": grouped["wall_s"].sum() / 60,
            "cpu_min": grouped["cpu_s"].sum() / 60,
            "longest_job_min": grouped["wall_s"].max() / 60,
            "peak_rss_mb": grouped["max_rss_mb"].max(),
        }
    )
    table["share_pct"] = 100 * table["wall_min"] / table["wall_min"].sum()
    return table.sort_values("wall_min", ascending=False)


def main(argv: list[str] | None = None) -> int:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("results", type=Path, help="a pipeline's results folder (holding benchmarks/)")
    args = parser.parse_args(argv)
    folder = args.results / "benchmarks"
    if not folder.is_dir():
        print(f"{folder}: no benchmark files (run the pipeline first)", file=sys.stderr)
        return 2
    jobs = read_benchmarks(folder)
    if jobs.empty:
        print(f"{folder}: no benchmark files (run the pipeline first)", file=sys.stderr)
        return 2
    table = summarise(jobs)
    print(table.to_string(float_format=lambda v: f"{v:.1f}"))
    labels = table.loc[table.index.isin(LABEL_STAGES), "wall_min"].sum()
    print(
        f"\nsummed wall time: {table['wall_min'].sum():.1f} min over {len(jobs)} jobs; "
        f"label stages ({', '.join(LABEL_STAGES)}): {labels:.1f} min"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

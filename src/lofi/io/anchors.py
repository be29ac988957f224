"""Calibration anchors typed on the command line (``U,V,X,Y``) or listed in a CSV file."""

from __future__ import annotations

import csv
import os


def parse_numbers(text: str, n: int, what: str) -> list[float]:
    """``n`` comma- (or semicolon-) separated numbers from ``text``; ``what`` names it in errors."""
    parts = text.replace(";", ",").split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise ValueError(f"{what}: expected {n} comma-separated numbers, got {text!r}") from None
    if len(values) != n:
        raise ValueError(f"{what}: expected {n} comma-separated numbers, got {text!r}")
    return values


def read_anchors_csv(path: str | os.PathLike[str]) -> list[list[float]]:
    """Rows ``u, v, x, y`` (px, px, m, m) of an anchors CSV; a header row and ``#`` comments are skipped."""
    rows = []
    try:
        with open(path, newline="") as handle:
            for line_no, row in enumerate(csv.reader(handle), start=1):
                if not row or row[0].strip().startswith("#") or row[0].strip().lower() == "u":
                    continue
                rows.append(parse_numbers(",".join(row), 4, f"{path} row {line_no}"))
    except (UnicodeDecodeError, csv.Error) as err:
        raise ValueError(f"{path}: not a text CSV of u,v,x,y anchors ({err})") from err
    return rows

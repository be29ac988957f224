"""Stage ``csi``: a session's raw ``csi.csv`` -> ``csi.parquet`` + its report ``csi.json``."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path

from lofi.csi.complete import CompletedCsi, CompletionOptions, complete_csi
from lofi.io.esp32.reader import read_csi_log
from lofi.io.json_report import file_sha256, write_json
from lofi.io.session import read_session_meta, session_csi_path
from lofi.io.tables import write_csi_table


@dataclass
class CsiStageResult:
    """The completed CSI, its JSON-ready report and where both were written."""

    completed: CompletedCsi
    report: dict
    table_path: Path
    report_path: Path


def complete_session_csi(session: str | Path, options: CompletionOptions) -> tuple[CompletedCsi, dict]:
    """Read and complete a session's CSI log (or a bare CSV).

    The ping rate f2 is ``options.rate_hz`` when given, else ``csi_rate_hz`` of the
    session's ``session.yaml``, else estimated by the library. Returns the completed
    CSI and a JSON-ready report (reader counts + completion counts).
    """
    csv = session_csi_path(session)
    if options.rate_hz is None and Path(session).is_dir():
        options = replace(options, rate_hz=read_session_meta(session).csi_rate_hz)
    log = read_csi_log(csv)
    completed = complete_csi(log, options)
    read = log.report
    report = {
        "source": str(csv),
        "source_sha256": file_sha256(csv),
        "options": asdict(options),
        "layout": read.layout,
        "lines_skipped": read.skipped,
        "lines_skipped_by_reason": read.skipped_by_reason,
        "fields_repaired": read.field_problems,
        **completed.report.as_dict(),
    }
    return completed, report


def write_completed(out: str | Path, completed: CompletedCsi, report: dict) -> Path:
    """Write ``csi.parquet`` and its report ``csi.json`` beside it; returns the report path."""
    out = Path(out)
    write_csi_table(out, completed.table, completed.amplitude, completed.phase)
    report_path = out.with_suffix(".json")
    write_json(report_path, report)
    return report_path


def run_csi(session: str | Path, options: CompletionOptions, out: str | Path) -> CsiStageResult:
    """Complete ``session``'s CSI and write ``out`` (parquet) and its ``.json`` report."""
    completed, report = complete_session_csi(session, options)
    report_path = write_completed(out, completed, report)
    return CsiStageResult(completed, report, Path(out), report_path)

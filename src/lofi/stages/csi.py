"""Stage ``csi``: a session's raw ``csi.csv`` -> ``csi.parquet`` + its report ``csi.json``."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path

from lofi.csi.choices import MAX_RATE_HZ
from lofi.csi.complete import CompletedCsi, CompletionOptions, complete_csi
from lofi.csi.fill import FillMethodUnavailableError
from lofi.io.esp32.reader import read_csi_log
from lofi.io.json_report import file_sha256, json_after
from lofi.io.session import SessionFileError, read_session_meta, session_csi_path
from lofi.io.tables import write_csi_table


@dataclass
class CsiStageResult:
    """The completed CSI, its JSON-ready report and where both were written."""

    completed: CompletedCsi
    report: dict
    table_path: Path
    report_path: Path


def session_rate_hz(session: str | Path) -> float | None:
    """``csi_rate_hz`` (Hz) of a session folder's ``session.yaml``, None where it gives none.

    Raises:
        SessionFileError: the file is malformed, or the rate is above :data:`MAX_RATE_HZ`.
    """
    return _session_rate(session)[0]


def _session_rate(session: str | Path) -> tuple[float | None, Path | None]:
    """``csi_rate_hz`` (Hz) of ``session.yaml`` and the file's path (None, None: no file)."""
    meta = read_session_meta(session)
    rate = meta.csi_rate_hz
    if rate is not None and rate > MAX_RATE_HZ:
        raise SessionFileError(
            f"{meta.path}: csi_rate_hz: {rate:g} Hz is above {MAX_RATE_HZ:g} Hz, faster than an ESP32 "
            "can log CSI (is it in the wrong unit?)"
        )
    return rate, meta.path


def rate_and_origin(session: str | Path, options: CompletionOptions) -> tuple[CompletionOptions, str]:
    """The options with the ping rate f2 (Hz) to use, and where it came from.

    ``options.rate_hz`` (``--rate-hz``) when given, else ``csi_rate_hz`` of a session folder's
    ``session.yaml``, else None (the library estimates it from the log).
    """
    if options.rate_hz is not None or not Path(session).is_dir():
        return options, "--rate-hz"
    rate, path = _session_rate(session)
    return replace(options, rate_hz=rate), f"csi_rate_hz in {path}"


def csibert_filler(checkpoint: str | Path | None, fill: str):
    """The CSI-BERT filler of a recovery file (``fill="csibert"``), else None.

    Raises:
        FillMethodUnavailableError: csibert without a checkpoint.
        RecoveryCheckpointError: the file is not a usable CSI-BERT recovery file.
        ValueError: a checkpoint given with another fill method (it would be ignored).
    """
    if fill != "csibert":
        if checkpoint is not None:
            raise ValueError(f"--checkpoint is only used by --fill csibert, not --fill {fill}")
        return None
    if checkpoint is None:
        raise FillMethodUnavailableError(
            "--fill csibert needs --checkpoint PATH: the csibert_recovery.pt of a "
            "`python -m lofi.train experiment=csibert_pretrain` run"
        )
    from lofi.io.recovery_checkpoint import load_recovery_checkpoint  # torch: only when asked for
    from lofi.models.recovery import CsiBertFiller

    return CsiBertFiller.from_checkpoint(load_recovery_checkpoint(checkpoint), str(checkpoint))


def complete_session_csi(
    session: str | Path, options: CompletionOptions, checkpoint: str | Path | None = None
) -> tuple[CompletedCsi, dict]:
    """Read and complete a session's CSI log (or a bare CSV).

    The ping rate f2 is ``options.rate_hz`` when given, else ``csi_rate_hz`` of the
    session's ``session.yaml``, else estimated by the library; a given rate that the
    log's median packet interval contradicts is refused (naming where it came from).
    ``checkpoint``: the CSI-BERT recovery file of ``fill="csibert"``. Returns the
    completed CSI and a JSON-ready report (reader counts + completion counts).
    """
    csv = session_csi_path(session)
    filler = csibert_filler(checkpoint, options.fill)
    options, rate_origin = rate_and_origin(session, options)
    log = read_csi_log(csv)
    completed = complete_csi(log, options, filler, rate_origin)
    read = log.report
    report = {
        "source": str(csv),
        "source_sha256": file_sha256(csv),
        "options": asdict(options),
        **({"checkpoint": str(checkpoint), "checkpoint_sha256": file_sha256(checkpoint)} if filler else {}),
        "layout": read.layout,
        "lines_skipped": read.skipped,
        "lines_skipped_by_reason": read.skipped_by_reason,
        "fields_repaired": read.field_problems,
        **completed.report.as_dict(),
    }
    return completed, report


def write_completed(out: str | Path, completed: CompletedCsi, report: dict) -> Path:
    """Write ``csi.parquet`` and its report ``csi.json`` beside it; returns the report path.

    The report is checked before the table is written and renamed into place after it, so
    a failure leaves neither new file (see :func:`lofi.io.json_report.json_after`).
    """
    out = Path(out)
    report_path = out.with_suffix(".json")
    if report_path == out:
        raise ValueError(f"{out}: the table cannot end in .json: its report is written beside it as .json")
    provenance = {"csi_csv_sha256": report["source_sha256"], "written_by": "lofi csi"}
    with json_after(report_path, report):
        write_csi_table(out, completed.table, completed.amplitude, completed.phase, provenance)
    return report_path


def run_csi(
    session: str | Path, options: CompletionOptions, out: str | Path, checkpoint: str | Path | None = None
) -> CsiStageResult:
    """Complete ``session``'s CSI and write ``out`` (parquet) and its ``.json`` report.

    ``checkpoint``: the CSI-BERT recovery file that ``fill="csibert"`` needs.
    """
    completed, report = complete_session_csi(session, options, checkpoint)
    report_path = write_completed(out, completed, report)
    return CsiStageResult(completed, report, Path(out), report_path)

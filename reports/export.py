"""Exports of a campaign's responses: CSV (UTF-8 with BOM, so spreadsheet programs show Vietnamese right) or
XLSX (responses, codebook and per-ward summary sheets).

One row per response: a pseudonymous respondent key, ward code and name, status, timestamps (in the
campaign's time zone), the channel the answers came through (telegram, zalo, web), then one column per
question with the stored value (choice codes, 1-5 and "dk" for scales, numbers, texts); a multi-choice
question has one column per option ("top_issues.waste": 1 chosen, 0 not chosen, empty when the question was
not answered). Empty cells: not asked (hidden by skip logic),
skipped, or not reached yet.

The file is written to a temporary file beside the target and renamed into place at the end, so a failed
export never leaves a half-written file and never replaces a good one. Responses are read in batches, so
memory stays bounded however large the campaign.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import os
import re
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from flows.questions import Context, kind_of
from flows.schema import MultiChoiceQuestion, Survey
from reports import format as fmt
from reports import stats as pure

if TYPE_CHECKING:
    from storage.db import Database
    from storage.records import CampaignRecord
    from storage.repo.exports import ResponseRow

FORMATS = ("csv", "xlsx")
BASE_COLUMNS = (
    "respondent", "ward_code", "ward_name", "status", "started_at", "completed_at", "channel", "quality_flags",
)  # fmt: skip
SIMULATED_COLUMN = "simulated"
"""In the demo's exports only, first: 1 for a simulated response, 0 for one someone gave trying the survey."""
SIMULATED_NOTE = (
    "SIMULATED DATA: this is the first-start demo of khaosat. Rows with simulated = 1 were made up by the "
    "software to show how the figures look; they are no one's opinion. Do not report them."
)
PROGRESS_FROM = 1000  # responses: smaller exports finish before a progress bar would be worth showing
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


@dataclass(frozen=True)
class Column:
    name: str
    question_id: str | None = None
    option: str | None = None
    """For a multi-choice question: the option this column counts."""
    free_text: bool = False


@dataclass(frozen=True)
class ExportResult:
    path: Path
    format: str
    rows: int
    bytes: int
    seconds: float


def columns(survey: Survey, simulated: bool = False) -> list[Column]:
    """The export's columns: `BASE_COLUMNS` (after `simulated` for the demo), then one or more per question."""
    cols = [Column(name) for name in ((SIMULATED_COLUMN,) if simulated else ()) + BASE_COLUMNS]
    for q in survey.questions:
        if isinstance(q, MultiChoiceQuestion):
            cols += [Column(f"{q.id}.{choice.value}", q.id, choice.value) for choice in survey.choices(q)]
        else:
            cols.append(Column(q.id, q.id, free_text=q.type == "text"))
    return cols


def pseudonym(campaign_code: str, respondent_key: str) -> str:
    """The respondent's key in an export: the same person has the same key within one campaign's exports,
    and keys cannot be matched across campaigns or back to the database's respondent keys."""
    return hashlib.sha256(f"{campaign_code}:{respondent_key}".encode()).hexdigest()[:16]


def _value(col: Column, answers: dict[str, Any]) -> Any:
    assert col.question_id is not None
    if col.question_id not in answers:
        return None
    value = answers[col.question_id]
    if col.option is not None:
        if not isinstance(value, list):
            return None
        return 1 if col.option in value else 0
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, (list, dict)):
        import json

        return json.dumps(value, ensure_ascii=False)
    return value


def values(row: ResponseRow, cols: Sequence[Column], campaign_code: str, tz: ZoneInfo) -> list[Any]:
    """A response as cell values: None for empty, times as aware datetimes in `tz`."""
    base = {
        SIMULATED_COLUMN: 1 if row.channel == "simulated" else 0,
        "respondent": pseudonym(campaign_code, row.respondent_key),
        "ward_code": row.ward_code,
        "ward_name": row.ward_name,
        "status": row.status,
        "started_at": row.started_at.astimezone(tz),
        "completed_at": row.completed_at.astimezone(tz) if row.completed_at else None,
        "channel": row.channel,
        "quality_flags": row.quality_flags or None,
    }
    return [base[col.name] if col.question_id is None else _value(col, row.answers) for col in cols]


# --- writers -------------------------------------------------------------------------------------------------


class _CsvWriter:
    def __init__(self, fd: int, cols: Sequence[Column]) -> None:
        self.file = os.fdopen(fd, "w", encoding="utf-8-sig", newline="")
        self.writer = csv.writer(self.file)
        self.cols = cols
        self.writer.writerow([c.name for c in cols])

    def add(self, cells: list[Any]) -> None:
        out = []
        for col, value in zip(self.cols, cells, strict=True):
            if value is None:
                out.append("")
            elif isinstance(value, datetime):
                out.append(value.isoformat(timespec="seconds"))
            elif isinstance(value, str) and col.free_text and value.startswith(_FORMULA_START):
                out.append("'" + value)  # a citizen's text must not run as a spreadsheet formula
            else:
                out.append(value)
        self.writer.writerow(out)

    def finish(self, path: str, extra: Any) -> None:
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()

    def abort(self) -> None:
        self.file.close()


class _XlsxWriter:
    def __init__(self, fd: int, cols: Sequence[Column], notice: str = "") -> None:
        from openpyxl import Workbook
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.styles import Font

        os.close(fd)  # openpyxl writes the file by name when saving
        self.cell = WriteOnlyCell
        self.workbook = Workbook(write_only=True)
        if notice:  # the demo's warning comes first: the sheet a spreadsheet program opens on
            first = self.workbook.create_sheet("SIMULATED")
            warning = WriteOnlyCell(first, value=notice)
            warning.font = Font(bold=True, color="A32020")
            first.append([warning])
        self.sheet = self.workbook.create_sheet("responses")
        self.sheet.freeze_panes = "B2"
        self.bold = Font(bold=True)
        self.cols = cols
        self.sheet.append(self._header([c.name for c in cols]))

    def _header(self, names: Sequence[str]) -> list[Any]:
        cells = []
        for name in names:
            cell = self.cell(self.sheet, value=name)
            cell.font = self.bold
            cells.append(cell)
        return cells

    def _text(self, sheet: Any, value: str) -> Any:
        value = _ILLEGAL_XML.sub("", value)
        if value.startswith("="):  # openpyxl would store it as a formula: keep it a string
            cell = self.cell(sheet, value=value)
            cell.data_type = "s"
            return cell
        return value

    def add(self, cells: list[Any]) -> None:
        out = []
        for value in cells:
            if isinstance(value, datetime):
                out.append(value.replace(tzinfo=None))  # Excel has no time zones: local time of the campaign
            elif isinstance(value, str):
                out.append(self._text(self.sheet, value))
            else:
                out.append(value)
        self.sheet.append(out)

    def sheet_with(
        self, title: str, header: Sequence[str], rows: Sequence[Sequence[Any]], formats: dict[int, str]
    ) -> None:
        sheet = self.workbook.create_sheet(title)
        sheet.freeze_panes = "A2"
        sheet.append(self._header(header))
        for row in rows:
            out = []
            for i, value in enumerate(row):
                if i in formats and value is not None:
                    cell = self.cell(sheet, value=value)
                    cell.number_format = formats[i]
                    out.append(cell)
                elif isinstance(value, str):
                    out.append(self._text(sheet, value))
                else:
                    out.append(value)
            sheet.append(out)

    def finish(self, path: str, extra: Any) -> None:
        codebook, summary = extra
        self.sheet_with("codebook", CODEBOOK_HEADER, codebook, {})
        self.sheet_with("summary", SUMMARY_HEADER, summary, {i: "0%" for i in SUMMARY_PERCENTS})
        self.workbook.save(path)
        with open(path, "rb+") as f:
            os.fsync(f.fileno())

    def abort(self) -> None:
        """Close openpyxl's half-written sheets and remove its temporary files."""
        for sheet in self.workbook.worksheets:
            writer = getattr(sheet, "_writer", None)
            with contextlib.suppress(Exception):  # a sheet in a broken state: its temporary file goes all the same
                sheet.close()
            if writer is not None:
                with contextlib.suppress(OSError):
                    writer.cleanup()


# --- codebook and summary ------------------------------------------------------------------------------------

CODEBOOK_HEADER = ("column", "question_id", "type", "question_vi", "question_en", "values", "shown_if", "factor")
_BASE_DESCRIPTIONS = {
    "respondent": "Pseudonymous respondent key (the same person has the same key within this campaign only)",
    "ward_code": "Ward (phường, xã) code, from the official list of administrative units",
    "ward_name": "Ward name",
    "status": "completed | in_progress | abandoned (in progress when the campaign closed)",
    "started_at": "When the respondent agreed and started (campaign time zone)",
    "completed_at": "When the last answer was given (campaign time zone); empty if not completed",
    "channel": "Where the answers were given: telegram | zalo | web | simulated (the demo's made-up responses)",
    "quality_flags": "Data-quality flags of a completed response, comma-separated: too_fast (under 3 seconds per "
    "question shown), straightlining (the same answer to every 5-level question, at least 5), many_from_address "
    "(web: 10 or more completions from the same address within an hour); empty: none. Flagged responses are left "
    "out of the indices unless the campaign includes them",
    SIMULATED_COLUMN: "1 = simulated by the software for the demo (no one's opinion); 0 = given by someone",
}


def codebook(survey: Survey, cols: Sequence[Column], timezone: str) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    for col in cols:
        if col.question_id is not None:
            continue
        text = _BASE_DESCRIPTIONS[col.name]
        if col.name.endswith("_at"):
            text += f" [{timezone}]"
        rows.append((col.name, "", "", text, "", "", "", ""))
    for col in cols:
        if col.question_id is None:
            continue
        q = survey.question(col.question_id)
        vi, en = survey.text(q.label, "vi"), survey.text(q.label, "en")
        if col.option is not None:
            choice = next(c for c in survey.choices(q) if c.value == col.option)  # type: ignore[arg-type]
            label = survey.text(choice.label, "vi")
            vi, en = f"{vi} — {label}", f"{en} — {survey.text(choice.label, 'en')}"
            allowed = "1 = chosen; 0 = not chosen; empty = not answered"
        else:
            allowed = _allowed_values(survey, q)
        if not q.required:
            allowed += "; empty = skipped (optional question)"
        rows.append((col.name, q.id, q.type, vi, en, allowed, q.show_if or "", q.factor or ""))
    return rows


def _allowed_values(survey: Survey, q: Any) -> str:
    if q.type == "ward":
        return "ward code (see ward_code / ward_name)"
    if q.type == "text":
        return "free text (a leading ' in CSV stops spreadsheets from running it as a formula)"
    if q.type == "number":
        bounds = [f"min {q.min:g}" if q.min is not None else "", f"max {q.max:g}" if q.max is not None else ""]
        return "number" + (" (" + ", ".join(b for b in bounds if b) + ")" if any(bounds) else "")
    options = kind_of(q).options(q, survey, Context("vi"))
    return "; ".join(f"{o.value} = {o.label}" for o in options)


SUMMARY_HEADER = (
    "ward_code",
    "ward_name",
    "started",
    "completed",
    "in_progress",
    "abandoned",
    "target",
    "of_target",
    "completion_rate",
    "overall_valid_answers",
    "overall_satisfied",
    "overall_index",
    "overall_low_95",
    "overall_high_95",
    "overall_shown_as",
)
SUMMARY_PERCENTS = (7, 8, 11, 12, 13)


def _index_cells(counts: dict[int | str, int] | None) -> list[Any]:
    """valid, satisfied, index, low, high, display: percentages only from 30 valid answers (small-cell rules)."""
    result = pure.index_from_counts(counts or {})
    s = result.satisfied
    display = fmt.share(s, "en")
    if s.kind in (pure.CellKind.HIDDEN, pure.CellKind.COUNTS_ONLY):
        shown_n = s.n if s.kind is pure.CellKind.COUNTS_ONLY else None
        shown_k = s.k if shown_n is not None and not fmt.hidden(s.k) else None  # "<10/25": k stays hidden
        return [shown_n, shown_k, None, None, None, display]
    return [s.n, s.k, s.p, s.interval.low, s.interval.high, display]


async def summary(db: Database, c: CampaignRecord, survey: Survey) -> list[tuple[Any, ...]]:
    from storage.repo import stats

    overall = survey.reporting.overall
    async with db.read() as conn:
        progress = await stats.ward_progress(conn, c.id)
        totals = await stats.response_totals(conn, c.id)
        by_ward = await stats.scale_counts(conn, c.id, [overall], by_ward=True) if overall else {}
        everyone = await stats.scale_counts(conn, c.id, [overall]) if overall else {}
    rows: list[tuple[Any, ...]] = []
    for p in progress:
        rows.append(
            (
                p.code,
                p.name,
                p.started,
                p.completed,
                p.in_progress,
                p.abandoned,
                p.target,
                p.of_target,
                p.completion_rate,
                *(_index_cells(by_ward.get((overall, p.code))) if overall else [None] * 6),
            )
        )
    rows.append(
        (
            None,
            "Total",
            totals.started,
            totals.completed,
            totals.in_progress,
            totals.abandoned,
            c.target_per_ward * len(progress) if c.target_per_ward else None,
            totals.completed / (c.target_per_ward * len(progress)) if c.target_per_ward and progress else None,
            totals.completion_rate,
            *(_index_cells(everyone.get((overall, None))) if overall else [None] * 6),
        )
    )
    return rows


# --- the export ----------------------------------------------------------------------------------------------


def _progress(total: int, show: bool) -> Any:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(
        TextColumn("exporting"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
        disable=not show or total < PROGRESS_FROM,
    )


async def export(
    db: Database,
    c: CampaignRecord,
    fmt: str,
    out: Path,
    *,
    status: str | None = None,
    show_progress: bool = False,
    batch_size: int = 1000,
) -> ExportResult:
    """Write the campaign's responses to `out` (replaced atomically). OSError when `out` cannot be written."""
    from storage.repo import exports, surveys

    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    started = time.perf_counter()
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent)
    try:
        async with db.read() as conn:
            survey = await surveys.definition(conn, c.survey_id)
            total = await exports.count(conn, c.id, status)
        cols = columns(survey, simulated=c.simulated)
        tz = ZoneInfo(c.timezone)
        writer: _CsvWriter | _XlsxWriter = (
            _CsvWriter(fd, cols)
            if fmt == "csv"
            else _XlsxWriter(fd, cols, notice=SIMULATED_NOTE if c.simulated else "")
        )
        fd = -1
        rows = 0
        try:
            with _progress(total, show_progress) as bar:
                task = bar.add_task("export", total=total)
                async with db.read() as conn:
                    async for batch in exports.batches(conn, c.id, status, batch_size):
                        for row in batch:
                            writer.add(values(row, cols, c.code, tz))
                        rows += len(batch)
                        bar.update(task, advance=len(batch))
            extra = (codebook(survey, cols, c.timezone), await summary(db, c, survey)) if fmt == "xlsx" else None
            writer.finish(tmp, extra)
        except BaseException:
            writer.abort()
            raise
        os.replace(tmp, out)
        tmp = ""
    finally:
        if fd >= 0:
            os.close(fd)
        if tmp:
            Path(tmp).unlink(missing_ok=True)
    return ExportResult(out, fmt, rows, out.stat().st_size, time.perf_counter() - started)

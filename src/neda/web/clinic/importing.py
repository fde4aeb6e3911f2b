"""Tables in, records out: the one way data enters the clinic in bulk.

Uploads (the import screens) and the demo clinic read their files through
:func:`neda.io.read_tables` (the core's readers: every cell checked, every problem named by
file, sheet, row and column) and :func:`commit` here, in one transaction: either every row is
stored or none is. Patients are matched by their registry identifier within the clinic; a
table naming a patient the clinic does not have creates the patient. (``neda restore`` puts
back a backup of the database's own rows instead: :func:`restore_clinic`.)

An upload is kept between its preview and its commit as files in the data folder
(:func:`store_upload`): under a random token, bound to the user and the clinic that uploaded
it, readable by the server's user only, removed after the commit, on cancel, or after
:data:`UPLOAD_LIFETIME` seconds. The commit reads the stored files again through the same
readers with the same options - never a copy sent back by the browser.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import time
import uuid
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import F
from simple_history.utils import bulk_create_with_history

from neda.io import (
    SCHEMAS,
    InputError,
    InputProblem,
    InputReport,
    NedaInputWarning,
    ReadOptions,
    Tables,
    fold,
    read_table,
    read_tables,
)

from .models import (
    RELAPSE_STATUS,
    Clinic,
    LabTest,
    MriScan,
    Patient,
    ProAnswer,
    Relapse,
    Treatment,
    Visit,
)

_FIELDS = {
    "visits": (Visit, ["date", "edss", "edss_method", "fs_pyramidal", "fs_cerebellar",
                       "fs_brainstem", "fs_sensory", "fs_bowel_bladder", "fs_visual",
                       "fs_cerebral", "ambulation", "t25fw", "nhpt", "nhpt_dominant",
                       "nhpt_nondominant", "sdmt", "pasat"]),
    "mri": (MriScan, ["date", "comparator_date", "contrast", "gd", "new_t2", "enlarging_t2",
                      "spinal_cord", "pbvc", "same_protocol"]),
    "treatments": (Treatment, ["drug", "start", "stop", "stop_reason", "dosing_interval_days"]),
    "pros": (ProAnswer, ["date", "instrument", "item", "response"]),
    "labs": (LabTest, ["date", "test", "result"]),
    "relapses": (Relapse, ["resolved_date", "duration_hours", "fever", "infection",
                           "paroxysmal", "objective", "severity", "steroids", "plex",
                           "hospitalised", "symptoms", "fs_affected"]),
}
_PATIENT_FIELDS = ["birth_date", "sex", "onset_date", "diagnosis_date",
                   "phenotype_at_diagnosis", "course"]


@dataclass
class ImportResult:
    """What a commit stored: rows per table, patients created."""

    rows: dict[str, int] = field(default_factory=dict)
    patients_created: int = 0

    def summary(self) -> str:
        parts = [f"{n} {name if n != 1 else _ONE.get(name, name)}"
                 for name, n in self.rows.items() if n]
        made = self.patients_created
        created = f"; {made} new patient{'s' if made != 1 else ''}" if made else ""
        return (", ".join(parts) or "nothing") + created


#: A table's name for one row ("1 relapse", not "1 relapses").
_ONE = {"visits": "visit", "relapses": "relapse", "treatments": "treatment", "pros": "pro",
        "labs": "lab", "patients": "patient", "symptom_treatments": "symptom_treatment"}


def cell_value(value: Any) -> Any:
    """A cell of a validated table as a Python value (NaN/NaT/<NA> -> None, Timestamp ->
    date, numpy scalars -> Python numbers): what a model field stores, for the import, the
    record forms' check and the API."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float | np.floating) and value != value:
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, np.generic):
        return value.item()
    return value


def onset_text(row: dict[str, Any]) -> tuple[str, Any]:
    """The onset as the clinic stores it, at its precision (the reader's interval back to the
    form a user enters): ``2024-03-05``, ``2024-03``, ``2024``, or a day plus a latest day."""
    start = pd.Timestamp(row["date"])
    precision = row.get("precision", "day")
    if precision == "month":
        return start.strftime("%Y-%m"), None
    if precision == "year":
        return start.strftime("%Y"), None
    if precision == "range":
        return start.strftime("%Y-%m-%d"), pd.Timestamp(row["date_end"]).date()
    return start.strftime("%Y-%m-%d"), None


def commit(clinic: Clinic, tables: Tables, user: Any = None) -> ImportResult:
    """Store every row of these validated tables in the clinic, all or nothing. Every stored
    row gets its audit entry (who: ``user``; why: an import)."""
    result = ImportResult()
    with transaction.atomic():
        known = {p.subject: p for p in Patient.all_objects.filter(clinic=clinic)}
        subjects: set[str] = set()
        for name in ("patients", "visits", "relapses", "mri", "treatments", "pros", "labs"):
            frame = getattr(tables, name)
            if frame is not None:
                subjects.update(str(s) for s in frame["subject"].unique())
        new = [Patient(clinic=clinic, subject=s) for s in sorted(subjects) if s not in known]
        for p in new:
            p._change_reason = "import"  # type: ignore[attr-defined]  # the audit entry
            p.save()
            known[p.subject] = p
        result.patients_created = len(new)
        if tables.patients is not None:
            fields = [f for f in _PATIENT_FIELDS if f in tables.patients.columns]
            for row in tables.patients.itertuples(index=False):
                p = known[str(row.subject)]
                for f in fields:
                    value = cell_value(getattr(row, f))
                    setattr(p, f, "" if value is None and f in ("sex", "course",
                                                                "phenotype_at_diagnosis")
                            else value)
                p._change_reason = "import"  # type: ignore[attr-defined]
                p.save()
            result.rows["patients"] = len(tables.patients)
        for name, (model, fields) in _FIELDS.items():
            frame = getattr(tables, name)
            if frame is None or not len(frame):
                continue
            present = [f for f in fields if f in frame.columns]
            objects = []
            for row in frame.to_dict("records"):
                kwargs = {f: cell_value(row[f]) for f in present}
                for f in ("edss_method", "severity", "stop_reason", "symptoms", "fs_affected",
                          "response", "result", "fs_pyramidal", "fs_cerebellar", "fs_brainstem",
                          "fs_sensory", "fs_bowel_bladder", "fs_visual", "fs_cerebral"):
                    if f in kwargs and kwargs[f] is None:
                        kwargs[f] = ""
                if name == "relapses":
                    kwargs["onset"], kwargs["onset_end"] = onset_text(row)
                    pseudo = cell_value(row.get("pseudo"))
                    # the clinic's review status, when the table has one (an export of neda)
                    kwargs["status"] = (cell_value(row.get("status")) or
                                        ("pseudo" if pseudo else "confirmed"))
                if name == "pros":
                    kwargs["item"] = str(kwargs["item"])
                    kwargs["response"] = "" if kwargs["response"] in (None, "") else (
                        str(int(kwargs["response"])) if isinstance(kwargs["response"], float)
                        and float(kwargs["response"]).is_integer() else str(kwargs["response"]))
                objects.append(model(patient=known[str(row["subject"])], **kwargs))
            bulk_create_with_history(objects, model, batch_size=2000, default_user=user,
                                     default_change_reason="import")
            result.rows[name] = len(objects)
        # bulk_create skips save(): the changed patients' courses must be recomputed
        Patient.all_objects.filter(pk__in=[known[s].pk for s in subjects]).update(
            data_version=F("data_version") + 1)
        Clinic.objects.filter(pk=clinic.pk).update(data_version=F("data_version") + 1)
        _test_pause()
    return result


def _test_pause() -> None:
    """Test-only hook of the crash test (``tests/web/test_import_crash.py``): with
    ``NEDA_TEST_IMPORT_PAUSE=SECONDS`` the commit holds its transaction open after every row
    is written, so that the test can kill the server inside it; the file named by
    ``NEDA_TEST_IMPORT_MARKER`` is written when the pause begins. Unset: nothing happens."""
    seconds = os.environ.get("NEDA_TEST_IMPORT_PAUSE")
    if not seconds:
        return
    marker = os.environ.get("NEDA_TEST_IMPORT_MARKER")
    if marker:
        Path(marker).write_text(str(os.getpid()))
    time.sleep(float(seconds))


# ------------------------------------------------------------------------------- uploads
#: The tables an upload can hold, in the order the screens list them.
TABLES = ("patients", "visits", "relapses", "mri", "treatments", "pros", "labs")
#: File names the core's readers read (CSV, Excel, Parquet).
SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".parquet", ".pq")
EXCEL_SUFFIXES = (".xlsx", ".xlsm")
#: The largest upload (all its files together), in bytes: ``NEDA_IMPORT_MAX_MB`` [20].
MAX_UPLOAD_BYTES = int(float(os.environ.get("NEDA_IMPORT_MAX_MB", "20")) * 1024 * 1024)
#: Seconds an upload is kept for its commit.
UPLOAD_LIFETIME = 2 * 3600
#: The review statuses a relapses table may carry (a column ``status``, as neda exports it).
_STATUSES = tuple(k for k, _ in RELAPSE_STATUS)
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32,64}$")
_CLAIMED = ".committing"


class UploadNotFound(LookupError):
    """No such upload for this user and clinic (never made, expired, committed, another's)."""


class UploadTooLarge(ValueError):
    pass


def upload_root() -> Path:
    root = Path(settings.DATA_DIR) / "imports"
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    return root


def _safe_name(name: str, fallback: str) -> str:
    """The uploaded file's own name (the readers name their problems by it), without any
    folder and with only plain characters."""
    base = Path(str(name).replace("\\", "/")).name
    stem, suffix = os.path.splitext(base)
    stem = re.sub(r"[^A-Za-z0-9 ._()-]+", "_", stem).strip(" .") or fallback
    return f"{stem[:80]}{suffix.lower()}"


@dataclass
class Upload:
    """The files of one import, kept between preview and commit (``meta`` in meta.json)."""

    token: str
    path: Path
    meta: dict[str, Any]

    @property
    def tables(self) -> dict[str, dict[str, Any]]:
        """table -> {"file": key of the file, "sheet": sheet or None}."""
        return dict(self.meta["tables"])

    @property
    def file_names(self) -> dict[str, str]:
        return {k: f["name"] for k, f in self.meta["files"].items()}

    def file_path(self, key: str) -> Path:
        info = self.meta["files"][key]
        return self.path / key / info["name"]

    def read_options(self) -> dict[str, ReadOptions]:
        opts = self.meta["options"]
        return {table: ReadOptions(
            date_format=opts.get("date_format") or None, decimal=opts.get("decimal") or "auto",
            separator=opts.get("separator") or None, encoding=opts.get("encoding") or "auto",
            sheet=where.get("sheet"),
            # a relapses table may carry the clinic's review status (read below)
            keep_extra=table == "relapses") for table, where in self.tables.items()}


def _write_meta(path: Path, meta: dict[str, Any]) -> None:
    fd = os.open(path / "meta.json", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(meta, fh)


def sheet_names(path: Path) -> list[str] | None:
    """The sheets of a workbook (names only, to offer them), or None if it cannot be opened
    (the reader then says why)."""
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True)
    except Exception:  # any damaged or mislabelled file: the reader names the problem
        return None
    try:
        return list(book.sheetnames)
    finally:
        book.close()


def _sheet_for(table: str, names: list[str]) -> str | None:
    """The sheet named like ``table`` - the readers' own rule for a workbook without a chosen
    sheet - or None."""
    matches = [n for n in names if fold(n) == fold(table) or fold(n).startswith(fold(table))]
    return matches[0] if len(matches) == 1 else None


def store_upload(user_id: int, clinic_id: int, files: dict[str, Any], sheets: dict[str, str],
                 options: dict[str, str]) -> Upload:
    """Keep uploaded files (``files``: table name or ``"workbook"`` -> Django's uploaded
    file) under a new random token, with what to read from each; see the module's text.

    Raises :class:`UploadTooLarge` past :data:`MAX_UPLOAD_BYTES`, and ``ValueError`` when
    nothing can be read from the files (e.g. a workbook without a sheet named like a table)."""
    purge_expired()
    total = sum(int(getattr(f, "size", 0) or 0) for f in files.values())
    if total > MAX_UPLOAD_BYTES:
        raise UploadTooLarge(_too_large(total))
    token = secrets.token_urlsafe(32)
    path = upload_root() / token
    path.mkdir(mode=0o700)
    meta: dict[str, Any] = {"user": user_id, "clinic": clinic_id, "created": time.time(),
                            "options": options, "files": {}, "tables": {},
                            "sheets_not_read": []}
    try:
        written = 0
        for key, upload in files.items():
            name = _safe_name(upload.name, key)
            (path / key).mkdir(mode=0o700)
            digest = hashlib.sha256()
            fd = os.open(path / key / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                for chunk in upload.chunks():
                    written += len(chunk)
                    if written > MAX_UPLOAD_BYTES:
                        raise UploadTooLarge(_too_large(written))
                    digest.update(chunk)
                    fh.write(chunk)
            meta["files"][key] = {"name": name, "sha256": digest.hexdigest()}
        for table in TABLES:
            if table in files:
                meta["tables"][table] = {"file": table, "sheet": sheets.get(table) or None}
        if "workbook" in files:
            _workbook_tables(path, meta, sheets)
        if not meta["tables"]:
            raise ValueError("no table to read")
        _write_meta(path, meta)
    except BaseException:
        shutil.rmtree(path, ignore_errors=True)
        raise
    return Upload(token, path, meta)


def _too_large(size: int) -> str:
    return (f"The upload is {size / 1024 / 1024:.1f} MB; imports are limited to "
            f"{MAX_UPLOAD_BYTES / 1024 / 1024:.0f} MB. Split the file, or ask the "
            "administrator to raise NEDA_IMPORT_MAX_MB.")


def _workbook_tables(path: Path, meta: dict[str, Any], sheets: dict[str, str]) -> None:
    """Which sheet of the workbook each table is read from: the sheet chosen in the form,
    else the sheet named like the table; sheets no table reads are listed."""
    book = path / "workbook" / meta["files"]["workbook"]["name"]
    names = sheet_names(book) if book.suffix.lower() in EXCEL_SUFFIXES else None
    if names is None:  # not a workbook: reading it as the first table names the problem
        table = next((t for t in TABLES if t not in meta["tables"]), "visits")
        meta["tables"].setdefault(table, {"file": "workbook", "sheet": sheets.get(table)})
        return
    used: set[str] = set()
    for table in TABLES:
        if table in meta["tables"]:
            continue
        sheet = sheets.get(table) or _sheet_for(table, names)
        if sheet:
            meta["tables"][table] = {"file": "workbook", "sheet": sheet}
            used.update(n for n in names if n == sheet or fold(n) == fold(sheet))
    meta["sheets_not_read"] = [n for n in names if n not in used]
    meta["sheet_names"] = names


def load_upload(token: str, user_id: int, clinic_id: int, *, claimed: bool = False) -> Upload:
    """The upload behind ``token`` if it was made by this user for this clinic, is not
    expired and its files are unchanged; else :class:`UploadNotFound`."""
    if not isinstance(token, str) or not _TOKEN.match(token):
        raise UploadNotFound(token)
    path = upload_root() / (token + (_CLAIMED if claimed else ""))
    try:
        meta = json.loads((path / "meta.json").read_text())
    except (OSError, ValueError) as exc:
        raise UploadNotFound(token) from exc
    if meta.get("user") != user_id or meta.get("clinic") != clinic_id:
        raise UploadNotFound(token)
    if time.time() - float(meta.get("created", 0)) > UPLOAD_LIFETIME:
        shutil.rmtree(path, ignore_errors=True)
        raise UploadNotFound(token)
    upload = Upload(token, path, meta)
    for key, info in meta["files"].items():
        try:
            data = upload.file_path(key).read_bytes()
        except OSError as exc:
            raise UploadNotFound(token) from exc
        if hashlib.sha256(data).hexdigest() != info["sha256"]:
            raise UploadNotFound(token)
    return upload


def claim_upload(upload: Upload) -> Upload:
    """Take the upload for its commit (an atomic rename): a second commit of the same upload
    (a double click, two tabs) finds nothing; :func:`release_upload` gives it back."""
    target = upload.path.with_name(upload.token + _CLAIMED)
    try:
        os.rename(upload.path, target)
    except OSError as exc:
        raise UploadNotFound(upload.token) from exc
    return Upload(upload.token, target, upload.meta)


def release_upload(upload: Upload) -> None:
    with contextlib.suppress(OSError):
        os.rename(upload.path, upload.path.with_name(upload.token))


def discard_upload(upload: Upload) -> None:
    shutil.rmtree(upload.path, ignore_errors=True)


def purge_expired(now: float | None = None) -> int:
    """Remove uploads older than :data:`UPLOAD_LIFETIME` (and any left by a killed commit);
    returns how many."""
    now = time.time() if now is None else now
    removed = 0
    for path in upload_root().iterdir():
        try:
            created = float(json.loads((path / "meta.json").read_text())["created"])
        except (OSError, ValueError, KeyError, TypeError):
            created = path.stat().st_mtime
        if now - created > UPLOAD_LIFETIME:
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
    return removed


def read_upload(upload: Upload) -> Tables:
    """The upload's tables read by :func:`neda.io.read_tables` with the options chosen in the
    form; raises :class:`~neda.io.InputError` listing every problem of every table."""
    sources = {table: upload.file_path(where["file"]) for table, where in upload.tables.items()}
    try:
        with warnings.catch_warnings():
            # identifiers missing from the patients table are in the report, shown as such
            warnings.simplefilter("ignore", NedaInputWarning)
            tables = read_tables(upload.read_options(), **sources)
    except InputError:
        raise
    except ValueError as exc:  # a file name the readers do not read
        raise InputError([InputProblem(str(exc).split(":")[0], None, None, None,
                                       "is not a file neda reads: expected a .csv, .xlsx or "
                                       ".parquet file")], headline=False) from None
    if tables.relapses is not None:
        tables.relapses = _relapse_status(tables.relapses)
    return tables


def _relapse_status(frame: pd.DataFrame) -> pd.DataFrame:
    """The relapses' review status from a column ``status`` (as neda exports it), checked;
    the other columns outside the data model are left out and named in the report, as the
    reader does for every other table."""
    report = frame.attrs.get("report")
    label = report.file if isinstance(report, InputReport) else "relapses"
    own = {*SCHEMAS["relapses"].names, "date_end", "precision", "source_row"}
    extra = [c for c in frame.columns if c not in own]
    status = next((c for c in extra if fold(c) == "status"), None)
    out = frame.drop(columns=extra)
    out.attrs = dict(frame.attrs)
    if status is not None:
        values = []
        problems = []
        for value, row in zip(frame[status], frame["source_row"], strict=True):
            text = "" if value is None or value is pd.NA or (isinstance(value, float)
                                                            and value != value) else str(value)
            key = text.strip().casefold()
            if key and key not in _STATUSES:
                problems.append(InputProblem(label, _scalar(row), status, text,
                                             f"a review status: {', '.join(_STATUSES)} (blank: "
                                             "confirmed, or pseudo when the pseudo column "
                                             "says yes)"))
            values.append(key or None)
        if problems:
            raise InputError(problems[:50], {(label, status): len(problems) - 50}
                             if len(problems) > 50 else None)
        out["status"] = pd.Series(values, index=frame.index, dtype=object)
    ignored = [c for c in extra if c != status]
    if ignored and isinstance(report, InputReport):
        out.attrs["report"] = replace(report, warnings=(
            *report.warnings, f"{label}: columns not used: "
                              f"{', '.join(repr(c) for c in ignored[:12])}"))
    return out


def _scalar(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


# ------------------------------------------------------------------------------- preview
@dataclass
class Preview:
    """What a commit of these tables would store, and what stops it.

    ``errors`` block the commit (a patient deleted in the clinic, a value conflicting with a
    saved record); ``warnings`` are for the user to read (rows repeating saved records)."""

    rows: dict[str, int] = field(default_factory=dict)
    new_patients: list[str] = field(default_factory=list)
    updated_patients: list[str] = field(default_factory=list)
    patients_with_records: int = 0
    reports: list[InputReport] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def preview(clinic: Clinic, tables: Tables) -> Preview:
    """Rows per table, patients to create or update, the readers' reports, and the checks
    against what the clinic already holds."""
    out = Preview(reports=tables.reports())
    known = {p.subject: p for p in Patient.all_objects.filter(clinic=clinic)}
    subjects: set[str] = set()
    for name in TABLES:
        frame = getattr(tables, name)
        if frame is None:
            continue
        out.rows[name] = len(frame)
        subjects.update(str(s) for s in frame["subject"].unique())
    out.new_patients = sorted(s for s in subjects if s not in known)
    deleted = sorted(s for s in subjects if s in known and known[s].deleted_at is not None)
    for s in deleted:
        out.errors.append(f"Patient {s} is deleted in this clinic: an administrator can "
                          "restore them (Deleted records), or leave their rows out of the file.")
    if tables.patients is not None:
        out.updated_patients = sorted(str(s) for s in tables.patients["subject"]
                                      if str(s) in known and str(s) not in deleted)
    out.patients_with_records = len([s for s in subjects if s in known and s not in deleted])
    alive = {s: p for s, p in known.items() if p.deleted_at is None and s in subjects}
    if alive:
        _against_saved(tables, alive, out)
    return out


def _against_saved(tables: Tables, patients: dict[str, Patient], out: Preview) -> None:
    """The file's rows read together with the saved rows of the same patients, for the
    tables keyed by date (rules §0.3): a value conflicting with a saved record would leave
    the patient's course unreadable (an error); a repeat is read as one record (a warning)."""
    from .checking import _CONFLICT, KEYED, SPECS, cell_text

    by_pk = {p.pk: s for s, p in patients.items()}
    for name in KEYED:
        frame = getattr(tables, name)
        if frame is None or not len(frame):
            continue
        spec = SPECS[name]
        mine = frame[frame["subject"].astype(str).isin(patients)]
        saved = list(spec.model.objects.filter(  # type: ignore[attr-defined]
            patient__in=list(patients.values())))
        if not len(mine) or not saved:
            continue
        columns = ["subject", *spec.columns.values()]
        rows: list[dict[str, str]] = []
        labels: list[str] = []
        for record in saved:
            cells = {col: cell_text(getattr(record, f)) for f, col in spec.columns.items()}
            rows.append({"subject": by_pk[record.patient_id], **cells})
            labels.append(f"saved {record.pk}")
        for i, row in enumerate(mine.to_dict("records")):
            rows.append({c: cell_text(cell_value(row.get(c))) if c != "subject"
                         else str(row["subject"]) for c in columns})
            labels.append(f"file {i}")
        combined = pd.DataFrame(rows, columns=columns, index=pd.Index(labels, dtype=object),
                                dtype=object)
        report = frame.attrs.get("report")
        label = report.file if isinstance(report, InputReport) else name
        try:
            read = read_table(combined, spec.schema, ReadOptions(cutoff=False))
        except InputError as exc:
            for problem in exc.problems:
                conflict = _CONFLICT.match(problem.expected)
                if (conflict is None or not str(problem.row).startswith("file")
                        or "saved" not in conflict["others"]):
                    continue
                theirs = ", ".join(re.findall(r"'([^']*)' in row index saved", conflict[
                    "others"]))
                on = f" on {conflict['on']}" if conflict["on"] else ""
                subject = rows[labels.index(str(problem.row))]["subject"]
                out.errors.append(
                    f"{label}: patient {subject}{on}, column '{problem.column}': the file has "
                    f"'{problem.value}' but the saved {spec.noun} has '{theirs}'; a patient "
                    f"has one value per {conflict['key'].removeprefix('subject and ')}: "
                    f"correct the file, or the saved {spec.noun}.")
            continue
        repeats = sum(1 for change in read.attrs["report"].merged
                      for r in change.rows if str(r).startswith("file"))
        if repeats:
            rows_repeat = "1 row repeats" if repeats == 1 else f"{repeats} rows repeat"
            out.warnings.append(
                f"{label}: {rows_repeat} "
                f"{spec.noun}s already saved (same {_key(spec.schema.key)}, values that agree): "
                "they will be stored as well and read as one. Was this file imported before?")


def _key(key: tuple[str, ...] | None) -> str:
    return " and ".join(k if k != "subject" else "patient" for k in (key or ()))


# ------------------------------------------------------------------------------- restore
class RestoreError(ValueError):
    """A backup that cannot be restored here (another format, a clinic or user name taken)."""


@dataclass
class RestoreResult:
    clinic: Clinic
    rows: dict[str, int] = field(default_factory=dict)
    history: int = 0
    accounts: int = 0
    #: rows of the accounts' own tables restored with them (the second factor's devices)
    account_rows: dict[str, int] = field(default_factory=dict)
    kept_ids: bool = True
    kept_public_ids: bool = True
    notes: list[str] = field(default_factory=list)


@contextlib.contextmanager
def _stored_as_given(*model_classes: type[models.Model]) -> Any:
    """Store ``created_at``/``updated_at`` as the backup has them (Django otherwise stamps
    them with the time of the restore)."""
    changed = []
    for model in model_classes:
        for f in model._meta.concrete_fields:
            if isinstance(f, models.DateField) and (f.auto_now or f.auto_now_add):
                changed.append((f, f.auto_now, f.auto_now_add))
                f.auto_now = f.auto_now_add = False
    try:
        yield
    finally:
        for f, now, now_add in changed:
            f.auto_now, f.auto_now_add = now, now_add


def _taken(model: type[models.Model], name: str, values: list[Any]) -> bool:
    """Whether any of ``values`` is already used in ``model.name`` (queried in chunks)."""
    manager = getattr(model, "all_objects", model._default_manager)
    for i in range(0, len(values), 500):
        if manager.filter(**{f"{name}__in": values[i:i + 500]}).exists():
            return True
    return False


def _python(model: type[models.Model], row: dict[str, Any], *, skip: tuple[str, ...] = (),
            users: dict[str, Any] | None = None) -> dict[str, Any]:
    """A backed-up row as field values (ISO text back to dates, times and UUIDs; a user
    account, backed up by its user name, is the id of the account of that name here, or
    none)."""
    from django.contrib.auth import get_user_model

    user_model = get_user_model()
    out = {}
    for f in model._meta.concrete_fields:
        if f.is_relation and f.related_model is user_model and users is not None:
            out[f.attname] = users.get(row.get(f.name))  # type: ignore[arg-type]
            continue
        if f.attname in skip or f.attname not in row:
            continue
        value = row[f.attname]
        if isinstance(f, models.ForeignKey):
            out[f.attname] = value
        else:
            out[f.attname] = None if value is None else f.to_python(value)
    return out


def _follow(model: type[models.Model], values: dict[str, Any], clinic: Clinic,
            maps: dict[type[models.Model], dict[int, int]], *, strict: bool) -> None:
    """Point the references of a restored row at the restored clinic and rows (which may
    have new ids). ``strict``: a reference to a row not in the backup is damage (the audit
    trail may name rows deleted for good, which keep their old id)."""
    for f in model._meta.concrete_fields:
        value = values.get(f.attname)
        if not f.is_relation or value is None:
            continue
        if f.related_model is Clinic:
            values[f.attname] = clinic.pk
        elif f.related_model in maps:
            ids = maps[f.related_model]  # type: ignore[index]
            values[f.attname] = ids[value] if strict else ids.get(value, value)


def restore_clinic(data: dict[str, Any], *, name: str | None = None,
                   accounts: bool = True) -> RestoreResult:
    """Put back a clinic saved by :func:`.exporting.backup_clinic`, all or nothing (one
    transaction): every patient and record with its deleted state, the audit trail, and
    (``accounts``, if the backup has them) the staff and patient accounts.

    Database ids are kept when they are free (a restore into an empty database gives the
    same rows, URLs and pseudonyms); otherwise - a copy beside the original, ``name`` a new
    clinic name - new ids are given and every reference follows, and the patients get new
    opaque URL ids if theirs are taken. The audit trail names users by their user name."""
    from django.contrib.auth import get_user_model

    from .exporting import BACKUP_FORMAT, BACKUP_VERSIONS_READ

    if not isinstance(data, dict) or data.get("format") != BACKUP_FORMAT:
        raise RestoreError("not a neda clinic backup (made by 'neda-admin backup')")
    if data.get("version") not in BACKUP_VERSIONS_READ:
        read = ", ".join(str(v) for v in BACKUP_VERSIONS_READ)
        raise RestoreError(f"backup version {data.get('version')} is not read by this neda "
                           f"(it reads versions {read})")
    clinic_name = name or str((data.get("clinic") or {}).get("name") or "")
    if not clinic_name:
        raise RestoreError("the backup names no clinic; give one with --clinic NAME")
    if Clinic.objects.filter(name=clinic_name).exists():
        raise RestoreError(f"a clinic named '{clinic_name}' exists in this database; restore "
                           "it under another name with --clinic NEW_NAME")
    user_model = get_user_model()
    backed_up = data.get("accounts") or {"staff": [], "patients": []}
    if accounts:
        names = [a["user"]["username"] for a in (*backed_up["staff"], *backed_up["patients"])]
        taken = sorted(user_model.objects.filter(username__in=names).values_list(
            "username", flat=True))
        if taken:
            raise RestoreError(f"user names taken in this database: {', '.join(taken)}; "
                               "restore without the accounts (--no-accounts)")
    try:
        result = _restore(data, clinic_name, accounts, backed_up)
    except RestoreError:
        raise
    except (KeyError, TypeError, ValueError, ValidationError, IntegrityError) as exc:
        raise RestoreError(f"the backup is damaged ({type(exc).__name__}: {exc}); nothing "
                           "was restored") from exc
    if not result.kept_ids:
        result.notes.append("ids were taken in this database: the rows got new ids (the "
                            "pseudonyms researchers see are new too)")
    if not result.kept_public_ids:
        result.notes.append("the patients got new URL ids (theirs are used in this database)")
    return result


def _restore(data: dict[str, Any], clinic_name: str, accounts: bool,
             backed_up: dict[str, Any]) -> RestoreResult:
    from django.contrib.auth import get_user_model
    from django.core.management.color import no_style
    from django.db import connection

    from .exporting import ACCOUNT_MODELS, BACKUP_MODELS
    from .models import PatientAccount, StaffMember

    user_model = get_user_model()
    clinic_row = dict(data["clinic"])
    touched: list[type[models.Model]] = [Clinic]
    own_rows: dict[str, int] = {}
    with transaction.atomic(), _stored_as_given(Clinic, *BACKUP_MODELS.values(),
                                                *ACCOUNT_MODELS.values()):
        users: dict[str, Any] = {}
        if accounts and backed_up["staff"] + backed_up["patients"]:
            for account in (*backed_up["staff"], *backed_up["patients"]):
                user = user_model(**_python(user_model, account["user"]))
                user.save()  # the password is the backup's hash, never set in clear
                users[user.get_username()] = user
                # the account's own rows (a version 2 backup has none): new ids, this user
                for name, rows in (account.get("own") or {}).items():
                    model = ACCOUNT_MODELS.get(name)
                    if model is None:
                        raise RestoreError(f"the backup keeps '{name}' with the accounts, "
                                           "which this neda does not know; nothing was "
                                           "restored")
                    for row in rows:
                        model(**_python(model, row, skip=("id",)), user=user).save()
                    own_rows[name] = own_rows.get(name, 0) + len(rows)
            touched.append(user_model)
        fields = _python(Clinic, clinic_row, skip=("id",) if _taken(
            Clinic, "pk", [clinic_row["id"]]) else ())
        fields["name"] = clinic_name
        clinic = Clinic(**fields)
        clinic.save()
        result = RestoreResult(clinic, account_rows=own_rows)
        # old id -> restored id, by model (a version 1 backup has no portal tables: none)
        maps: dict[type[models.Model], dict[int, int]] = {}
        public_ids: dict[int, uuid.UUID] = {}
        rows_of = data["tables"]
        known = {u.get_username(): u.pk for u in user_model.objects.all()}
        for table, model in BACKUP_MODELS.items():
            rows = rows_of.get(table, [])
            ids = [r["id"] for r in rows]
            keep = not _taken(model, "pk", ids)
            result.kept_ids &= keep
            if model is Patient:
                result.kept_public_ids = not _taken(Patient, "public_id",
                                                    [r["public_id"] for r in rows])
            objects = []
            for row in rows:
                values = _python(model, row, skip=() if keep else ("id",), users=known)
                _follow(model, values, clinic, maps, strict=True)
                if model is Patient and not result.kept_public_ids:
                    values["public_id"] = uuid.uuid4()
                objects.append(model(**values))
            created = model._default_manager.bulk_create(objects, batch_size=500)
            if any(o.pk is None for o in created):  # a database returning no ids
                raise RestoreError("this database does not return the ids of inserted rows")
            maps[model] = {r["id"]: o.pk for r, o in zip(rows, created, strict=True)}
            if model is Patient:
                public_ids = {o.pk: o.public_id for o in created}  # type: ignore[attr-defined]
            result.rows[table] = len(created)
            touched.append(model)
        for table, model in BACKUP_MODELS.items():
            history = model.history.model  # type: ignore[attr-defined]
            entries = data.get("history", {}).get(table, [])
            keep = not _taken(history, "pk", [e["history_id"] for e in entries])
            objects = []
            for entry in entries:
                values = _python(history, entry, skip=() if keep else ("history_id",),
                                 users=known)
                _follow(history, values, clinic, maps, strict=False)
                values["id"] = maps[model][entry["id"]]
                if "public_id" in values and not result.kept_public_ids:
                    values["public_id"] = public_ids[values["id"]]
                objects.append(history(**values))
            history.objects.bulk_create(objects, batch_size=500)
            result.history += len(objects)
            touched.append(history)
        if accounts:
            for account in backed_up["staff"]:
                StaffMember.objects.create(user=users[account["user"]["username"]],
                                           clinic=clinic, role=account["role"])
                result.accounts += 1
            for account in backed_up["patients"]:
                PatientAccount.objects.create(
                    user=users[account["user"]["username"]],
                    patient_id=maps[Patient][account["patient_id"]])
                result.accounts += 1
        # any course cached under the restored ids and versions is computed again
        Patient.all_objects.filter(clinic=clinic).update(data_version=F("data_version") + 1)
        Clinic.objects.filter(pk=clinic.pk).update(data_version=F("data_version") + 1)
        with connection.cursor() as cursor:  # ids given explicitly: move the sequences on
            for sql in connection.ops.sequence_reset_sql(no_style(), touched):
                cursor.execute(sql)
    return result

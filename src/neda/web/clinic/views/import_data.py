"""Import: upload files, preview what the readers made of them, commit all or nothing.

1. ``import/`` - the upload form: a file per table (CSV, Excel, Parquet) and/or one workbook
   with a sheet per table, and how to read them (date format, decimal mark, separator,
   encoding, the sheet of each table). The files are kept under a random token bound to the
   user and the clinic (:func:`..importing.store_upload`), never in the browser.
2. ``import/<token>/`` - the preview: the stored files read by :func:`neda.io.read_tables`
   with those options. Either every problem of every table (file, sheet, row, column, value,
   what to enter) or what a commit would store: rows per table, patients to be created or
   updated, the readers' report (rows skipped or merged, encoding notes, identifiers missing
   from the patients table), and the checks against the clinic's saved records.
3. POST ``action=commit`` reads the stored files again and stores every row in one
   transaction (:func:`..importing.commit`), then removes the files; ``action=cancel``
   removes them.

Imports go into the user's own clinic only; only editing roles import (researchers: 403);
another user's upload is 404.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from django import forms
from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from neda.io import InputError, InputProblem, Tables

from ..access import editor_required, staff_of
from ..checking import cell_text, plain_expectation
from ..importing import (
    MAX_UPLOAD_BYTES,
    SUFFIXES,
    TABLES,
    Preview,
    Upload,
    UploadNotFound,
    UploadTooLarge,
    claim_upload,
    commit,
    discard_upload,
    load_upload,
    onset_text,
    preview,
    read_upload,
    release_upload,
    store_upload,
)
from ..models import Clinic, StaffMember

log = logging.getLogger("neda.web")

SESSION_KEY = "neda_imports"
TITLES = {"patients": "Patients", "visits": "Visits", "relapses": "Relapses",
          "mri": "MRI scans", "treatments": "Treatments (DMT)",
          "pros": "Questionnaire answers (PROs)", "labs": "Safety laboratory tests"}
DATE_FORMATS = (("", "year-month-day: 2024-03-31 (ISO)"),
                ("%d/%m/%Y", "day/month/year: 31/03/2024"),
                ("%d.%m.%Y", "day.month.year: 31.03.2024"),
                ("%d-%m-%Y", "day-month-year: 31-03-2024"),
                ("%m/%d/%Y", "month/day/year: 03/31/2024 (US)"),
                ("%Y/%m/%d", "year/month/day: 2024/03/31"))
DECIMALS = (("auto", "automatic (a decimal comma in ;-separated files)"),
            (".", "point: 2.5"), (",", "comma: 2,5"))
SEPARATORS = (("", "automatic"), (",", "comma ,"), (";", "semicolon ;"), ("\t", "tab"),
              ("|", "bar |"))
ENCODINGS = (("auto", "automatic (UTF-8; else Windows-1252, noted)"),
             ("utf-8", "UTF-8"), ("cp1252", "Windows-1252 (Western Europe)"),
             ("latin-1", "Latin-1 (ISO-8859-1)"), ("utf-16", "UTF-16 (Excel 'Unicode text')"))
#: Rows of each table shown in the preview, as read.
SAMPLE_ROWS = 5


class ImportForm(forms.Form):
    """The files of an import and how to read them. Only what the readers cannot decide is
    asked: the cells themselves are read by neda.io."""

    workbook = forms.FileField(
        label="Workbook with a sheet per table (.xlsx)", required=False,
        help_text="each table is read from the sheet named like it (Visits, Relapses, ...) "
                  "or from the sheet named below")
    date_format = forms.ChoiceField(label="Dates are written", choices=DATE_FORMATS,
                                    required=False,
                                    help_text="day and month are never guessed")
    decimal = forms.ChoiceField(label="Decimal mark", choices=DECIMALS, initial="auto")
    separator = forms.ChoiceField(label="CSV separator", choices=SEPARATORS, required=False)
    encoding = forms.ChoiceField(label="CSV encoding", choices=ENCODINGS, initial="auto")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for table in TABLES:
            self.fields[f"file_{table}"] = forms.FileField(
                label=f"{TITLES[table]} file", required=False,
                help_text=".csv, .xlsx or .parquet")
            self.fields[f"sheet_{table}"] = forms.CharField(
                label=f"{TITLES[table]}: sheet", required=False, max_length=100,
                help_text="for an Excel file: the sheet's name (blank: the only sheet, or the "
                          "one named like the table)")

    def table_rows(self) -> list[tuple[str, forms.BoundField, forms.BoundField]]:
        return [(TITLES[t], self[f"file_{t}"], self[f"sheet_{t}"]) for t in TABLES]

    def files_given(self) -> dict[str, Any]:
        data = self.cleaned_data
        found = {t: data[f"file_{t}"] for t in TABLES if data.get(f"file_{t}")}
        if data.get("workbook"):
            found["workbook"] = data["workbook"]
        return found

    def sheets(self) -> dict[str, str]:
        return {t: (self.cleaned_data.get(f"sheet_{t}") or "").strip() for t in TABLES}

    def options(self) -> dict[str, str]:
        return {k: self.cleaned_data.get(k) or "" for k in
                ("date_format", "decimal", "separator", "encoding")}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        files = self.files_given()
        if not files:
            raise forms.ValidationError("Choose a file to import: the file of a table, or a "
                                        "workbook with a sheet per table.")
        for key, upload in files.items():
            name = str(upload.name)
            if not name.lower().endswith(SUFFIXES):
                field = "workbook" if key == "workbook" else f"file_{key}"
                self.add_error(field, f"{name}: neda reads .csv, .xlsx and .parquet files "
                                      "(save an .xls workbook as .xlsx, or the table as CSV)")
        total = sum(int(f.size or 0) for f in files.values())
        if total > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                f"The files are {total / 1024 / 1024:.1f} MB together; imports are limited "
                f"to {MAX_UPLOAD_BYTES / 1024 / 1024:.0f} MB.")
        return cleaned


def _staff(request: HttpRequest) -> StaffMember:
    staff = staff_of(request.user)
    assert staff is not None  # editor_required
    return staff


def _remember(request: HttpRequest, token: str) -> None:
    tokens = [t for t in request.session.get(SESSION_KEY, []) if t != token][-9:]
    request.session[SESSION_KEY] = [*tokens, token]


def _forget(request: HttpRequest, token: str) -> None:
    request.session[SESSION_KEY] = [t for t in request.session.get(SESSION_KEY, [])
                                    if t != token]


def _upload_or_404(request: HttpRequest, token: str) -> Upload:
    """The upload of this session's user in their clinic; 404 for anything else."""
    staff = _staff(request)
    if token not in request.session.get(SESSION_KEY, []):
        raise Http404("no such upload")
    try:
        return load_upload(token, staff.user_id, staff.clinic_id)
    except UploadNotFound as exc:
        _forget(request, token)
        raise Http404("no such upload") from exc


@editor_required
@require_http_methods(["GET", "POST"])
def import_upload(request: HttpRequest) -> HttpResponse:
    staff = _staff(request)
    if request.method == "POST":
        form = ImportForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                upload = store_upload(staff.user_id, staff.clinic_id, form.files_given(),
                                      form.sheets(), form.options())
            except UploadTooLarge as exc:
                form.add_error(None, str(exc))
            except ValueError:
                form.add_error("workbook", "No sheet of the workbook is named like a table "
                                           "(Patients, Visits, Relapses, MRI, Treatments, "
                                           "PROs): name the sheet of each table below.")
            else:
                _remember(request, upload.token)
                return redirect("import_preview", token=upload.token)
    else:
        form = ImportForm()
    return render(request, "clinic/io/import_form.html", {
        "form": form, "clinic": staff.clinic,
        "max_mb": round(MAX_UPLOAD_BYTES / 1024 / 1024)})


@editor_required
@require_http_methods(["GET", "POST"])
def import_preview(request: HttpRequest, token: str) -> HttpResponse:
    staff = _staff(request)
    upload = _upload_or_404(request, token)
    action = request.POST.get("action") if request.method == "POST" else None
    if action == "cancel":
        discard_upload(upload)
        _forget(request, token)
        messages.info(request, "Import cancelled: nothing was stored and the files were "
                               "removed.")
        return redirect("import_upload")
    if action == "commit":
        return _commit(request, upload, staff.clinic)
    try:
        tables = read_upload(upload)
    except InputError as exc:
        return _render_preview(request, upload, staff.clinic, error=exc)
    return _render_preview(request, upload, staff.clinic, tables=tables,
                           checked=preview(staff.clinic, tables))


class _Blocked(Exception):
    def __init__(self, checked: Preview, tables: Tables):
        self.checked = checked
        self.tables = tables


def _commit(request: HttpRequest, upload: Upload, clinic: Clinic) -> HttpResponse:
    """Read the kept files again and store every row, or nothing."""
    try:
        claimed = claim_upload(upload)  # a second click finds nothing to commit
    except UploadNotFound as exc:
        raise Http404("no such upload") from exc
    try:
        tables = read_upload(claimed)
        with transaction.atomic():
            checked = preview(clinic, tables)
            if not checked.ok:
                raise _Blocked(checked, tables)
            result = commit(clinic, tables, request.user)
    except InputError as exc:
        release_upload(claimed)
        return _render_preview(request, upload, clinic, error=exc, status=400)
    except _Blocked as blocked:
        release_upload(claimed)
        return _render_preview(request, upload, clinic, tables=blocked.tables,
                               checked=blocked.checked, status=400)
    except BaseException:
        release_upload(claimed)
        raise
    discard_upload(claimed)
    _forget(request, upload.token)
    log.info("import committed: clinic %s, user %s, %s", clinic.pk, request.user.pk,
             {k: v for k, v in result.rows.items()} | {"new_patients": result.patients_created})
    messages.success(request, f"Imported: {result.summary()}.")
    return redirect("patient_list")


# ------------------------------------------------------------------------------- showing
#: The readers' hints for the command line and Python, as the import form's words.
_FORMAT_WORDS = {code: words.split(":")[0] for code, words in DATE_FORMATS if code}
_IMPORT_HINTS: tuple[tuple[re.Pattern[str], Any], ...] = tuple(
    (re.compile(p), r) for p, r in (
        (r"^an ISO 8601 date YYYY-MM-DD; day and month order is ambiguous here, so pass "
         r"date_format.*$",
         "a date in which day and month cannot be told apart: choose how the file writes "
         "dates under 'Dates are written' (day/month/year or month/day/year)"),
        (r"^an ISO 8601 date YYYY-MM-DD; this looks like (\S+), so pass date_format=\S+ "
         r"\(--date-format \S+\)",
         lambda m: "a date written year-month-day (2024-03-05); this looks like "
         + _FORMAT_WORDS.get(m[1], m[1]) + ": choose it under 'Dates are written'"),
        (r"^an ISO 8601 date YYYY-MM-DD \(other formats need an explicit date_format[^)]*\)",
         "a date written year-month-day (2024-03-05), or choose how the file writes dates "
         "under 'Dates are written'"),
        (r"so a decimal comma is read only with decimal=',' \(--decimal ,\)",
         "so choose 'comma' as the decimal mark"),
        (r"; name another column with columns=\{'(\w+)': \.\.\.\}(?: \(--column \S+\))?",
         r"; rename the file's column to '\1'"),
        (r"\(sheet=, --sheet (\w+)=NAME\)", r"(choose the sheet of \1 in the import form)"),
        (r"pick one with sheet='\.\.\.' \(--sheet (\w+)=NAME\)",
         r"name the sheet of \1 in the import form"),
        (r"or pass its encoding \(encoding='latin-1', --encoding\)",
         "or choose its encoding in the import form"),
        (r"; set cutoff= / --cutoff for data from the future\)", ")"),
    ))
_SHEET = re.compile(r"^(?P<file>.*), sheet '(?P<sheet>.*)'$")


def import_expectation(expected: str) -> str:
    """A reader's expectation in the words of the import form (then a nurse's words)."""
    for pattern, repl in _IMPORT_HINTS:
        expected = pattern.sub(repl, expected)
    return plain_expectation(expected)


def problem_rows(error: InputError) -> list[dict[str, Any]]:
    """Every problem as a row of the error report: file, sheet, row, column, value, what to
    enter."""
    rows = []
    for p in error.problems:
        rows.append(_problem_row(p))
    for (label, column), n in error.omitted.items():
        found = _SHEET.match(label)
        rows.append({"file": found["file"] if found else label,
                     "sheet": found["sheet"] if found else "", "row": "", "column": column,
                     "value": "", "expected": f"and {n} more rows with problems in this column"})
    return rows


def _problem_row(p: InputProblem) -> dict[str, Any]:
    found = _SHEET.match(p.file)
    value = p.value if p.value is not None else ("" if p.row is None else "(empty)")
    row = "" if p.row is None else (str(p.row) if p.row_kind == "row" else f"{p.row} (index)")
    return {"file": found["file"] if found else p.file, "sheet": found["sheet"] if found else "",
            "row": row, "column": p.column or "", "value": value,
            "expected": import_expectation(p.expected)}


def _sample(frame: Any, table: str) -> dict[str, Any]:
    """The first rows of a table as read (what will be stored), as text; a relapse's onset
    as the clinic stores it (``2024-03``, not the interval of days the rules read)."""
    head = frame.head(SAMPLE_ROWS)
    columns = [c for c in frame.columns if c not in ("source_row", "precision", "date_end")
               or (c == "date_end" and table != "relapses")]
    rows = []
    for record in head.to_dict("records"):
        cells = {c: cell_text(_plain(record[c])) for c in columns}
        if table == "relapses":
            onset, latest = onset_text(record)
            cells["date"] = onset + (f" to {latest}" if latest else "")
        rows.append([cells[c] for c in columns])
    return {"columns": columns, "rows": rows}


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") and not hasattr(value, "date") else value


def _render_preview(request: HttpRequest, upload: Upload, clinic: Clinic, *,
                    tables: Tables | None = None, checked: Preview | None = None,
                    error: InputError | None = None, status: int = 200) -> HttpResponse:
    read_from = []
    names = upload.file_names
    for table, where in upload.tables.items():
        sheet = where.get("sheet")
        read_from.append({"table": TITLES[table], "file": names[where["file"]],
                          "sheet": sheet or ""})
    samples = []
    if tables is not None:
        for table in TABLES:
            frame = getattr(tables, table)
            if frame is not None:
                samples.append({"title": TITLES[table], "count": len(frame),
                                **_sample(frame, table)})
    options = upload.meta["options"]
    shown_options = [
        ("Dates", dict(DATE_FORMATS).get(options.get("date_format", ""), "")),
        ("Decimal mark", dict(DECIMALS).get(options.get("decimal") or "auto", "")),
        ("CSV separator", dict(SEPARATORS).get(options.get("separator", ""), "")),
        ("CSV encoding", dict(ENCODINGS).get(options.get("encoding") or "auto", "")),
    ]
    return render(request, "clinic/io/import_preview.html", {
        "token": upload.token, "clinic": clinic, "read_from": read_from,
        "sheets_not_read": upload.meta.get("sheets_not_read", []),
        "options": shown_options, "problems": problem_rows(error) if error else None,
        "problem_count": (len(error.problems) + sum(error.omitted.values())) if error else 0,
        "checked": checked, "samples": samples,
        "rows": [(TITLES[t], n) for t, n in (checked.rows.items() if checked else [])],
    }, status=status)

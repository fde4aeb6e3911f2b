"""Disease-modifying therapy (DMT) catalogue (clinical rules §8).

The catalogue is data, not code (rules §8: "versioned ... with ``label_source``, ``label_date``,
``status``"): one row per therapy in ``neda/rules/data/dmt_catalogue.csv``, loaded once.

Columns (one :class:`Drug` field each):

* ``name`` - generic name (the canonical key); ``brands`` and ``aliases`` - other names accepted
  by :func:`lookup_drug` (case-insensitive; hyphens, underscores, "®"/"™" and "β" are normalised).
* ``route`` (``oral``, ``sc``, ``im``, ``iv``, ``im_or_sc``, ``sc_or_im``, ``iv_or_sc``,
  ``procedure``), ``drug_class``, ``mechanism``, ``regimen`` - rules §8.1 [M]/[V] per row.
* ``schedule`` - ``continuous`` (epoch end = last dose + dosing interval + carry-over),
  ``pulsed`` (alemtuzumab, cladribine: fixed effect windows) or ``procedure`` (AHSCT) - rules §8.3.
* ``dosing_interval_days`` - rules §8.3 defaults; a treatment record's own interval overrides.
* ``efficacy_a`` / ``efficacy_b`` / ``efficacy_c`` - rules §8.2 mappings A (common clinical usage,
  [C]), B (ABN 2015, Scolding et al. Pract Neurol 2015 [V]) and C (He et al. Lancet Neurol 2020,
  binary [V]); ``None`` = not mapped by that source.
* ``eu_status``, ``eu_first_approval``, ``eu_indication``, ``us_status``,
  ``us_first_approval``, ``us_indication`` - rules §8.1b. Status values: ``approved``,
  ``approved_nationally``, ``not_approved``, ``withdrawn``, ``off_label`` and ``procedure``
  (AHSCT, not a licensed medicine).
* ``evidence`` (rules §0.1 tag V/M/C), ``label_source``, ``label_date`` (empty = not verified
  against the current label; open item 12.8), ``notes``.
* ``lab_schedule`` - the safety labs as intervals (rules §14.4): ``test:days`` entries,
  ``;``-separated, each optionally limited to a period of the therapy, ``@from-to`` in days
  since its start (``to`` left open = onwards); ``none`` = the label asks for no routine safety
  labs; blank = no interval schedule is known (labs "periodically" or "as clinically
  indicated", or not retrieved). ``lab_schedule_evidence``: its tag (V/M/C).

Facts are restated from the spec, which restates product labels (US PI / EU SmPC); nothing here
is medical advice. Every row must be re-checked against the current labels before release
(rules §12.8).
"""

from __future__ import annotations

import csv
import difflib
import io
import re
from dataclasses import dataclass, fields
from functools import cache
from importlib import resources

import pandas as pd

#: Version of the bundled catalogue; stored in every result's provenance.
CATALOGUE_VERSION = "2026.12-draft3"
#: Where the facts come from.
CATALOGUE_SOURCE = "docs/rules.md §8.1, 8.1b, 8.2, 8.3"

EFFICACY_MAPPINGS = {
    "A": "platform / moderate-high / high (common clinical usage) [C]",
    "B": "ABN 2015 guideline category 1 / 2 (Scolding et al., Pract Neurol 2015) [V]",
    "C": "He et al., Lancet Neurol 2020: higher vs lower efficacy [V]",
}
#: The test names of a lab schedule: the ``labs`` table's tests (docs/data-model.md).
LAB_SCHEDULE_TESTS = ("cbc", "liver", "creatinine", "urinalysis", "thyroid", "jcv_antibody",
                      "immunoglobulins", "hbv", "vzv_antibody")
STATUS_VALUES = ("approved", "approved_nationally", "not_approved", "withdrawn", "off_label",
                 "procedure")
SCHEDULES = ("continuous", "pulsed", "procedure")


@dataclass(frozen=True)
class LabInterval:
    """One entry of a drug's lab schedule (rules §14.4): ``test`` is due ``days`` after the
    last test of that kind, while the therapy day (days since its start) lies in
    ``[from_day, to_day)`` (``to_day`` None = onwards)."""

    test: str
    days: int
    from_day: int = 0
    to_day: int | None = None

    def applies(self, therapy_day: int) -> bool:
        return self.from_day <= therapy_day and (self.to_day is None
                                                 or therapy_day < self.to_day)

    def describe(self) -> str:
        period = ("" if self.from_day == 0 and self.to_day is None else
                  f" from day {self.from_day}" + (f" to day {self.to_day}"
                                                  if self.to_day is not None else " on"))
        return f"{self.test} every {self.days} days{period}"


def parse_lab_schedule(text: str | None) -> tuple[LabInterval, ...] | None:
    """A ``lab_schedule`` cell as intervals: ``()`` for ``none`` (no routine labs), ``None``
    for a blank cell (no schedule known). Raises ``ValueError`` on a malformed entry."""
    if text is None or not text.strip():
        return None
    if text.strip().lower() == "none":
        return ()
    out = []
    for entry in text.split(";"):
        entry = entry.strip()
        match = _LAB_ENTRY.fullmatch(entry)
        if match is None:
            raise ValueError(f"lab schedule entry {entry!r}: expected test:days or "
                             "test:days@from-to (days since the therapy start)")
        test, days, lo, hi = match.groups()
        if test not in LAB_SCHEDULE_TESTS:
            raise ValueError(f"lab schedule entry {entry!r}: unknown test {test!r}; one of "
                             f"{', '.join(LAB_SCHEDULE_TESTS)}")
        interval = LabInterval(test, int(days), int(lo or 0), int(hi) if hi else None)
        if interval.days < 1 or (interval.to_day is not None
                                 and interval.to_day <= interval.from_day):
            raise ValueError(f"lab schedule entry {entry!r}: empty interval or period")
        out.append(interval)
    return tuple(out)


_LAB_ENTRY = re.compile(r"([a-z_]+):(\d+)(?:@(\d+)-(\d*))?")


@dataclass(frozen=True)
class Drug:
    """One catalogue entry (rules §8.1, 8.1b, 8.2, 8.3)."""

    name: str
    brands: tuple[str, ...]
    aliases: tuple[str, ...]
    route: str
    drug_class: str
    mechanism: str
    schedule: str
    dosing_interval_days: int | None
    regimen: str
    efficacy_a: str | None
    efficacy_b: str | None
    efficacy_c: str | None
    eu_status: str
    eu_first_approval: str | None
    eu_indication: str | None
    us_status: str
    us_first_approval: str | None
    us_indication: str | None
    monitoring: str
    evidence: str
    label_source: str
    label_date: str | None
    notes: str | None
    lab_schedule: str | None = None
    lab_schedule_evidence: str | None = None

    @property
    def lab_intervals(self) -> tuple[LabInterval, ...] | None:
        """The lab schedule as intervals (rules §14.4): ``()`` = no routine labs, ``None`` = no
        interval schedule known."""
        return parse_lab_schedule(self.lab_schedule)

    def efficacy(self, mapping: str = "A") -> str | None:
        """Efficacy category under mapping ``A``, ``B`` or ``C`` (rules §8.2; ``None`` = not
        mapped)."""
        key = mapping.upper()
        if key not in EFFICACY_MAPPINGS:
            raise ValueError(f"unknown efficacy mapping {mapping!r}; use one of "
                             f"{sorted(EFFICACY_MAPPINGS)}")
        value: str | None = getattr(self, f"efficacy_{key.lower()}")
        return value

    @property
    def names(self) -> tuple[str, ...]:
        """Every name the drug is known by: generic, brands, aliases."""
        return (self.name, *self.brands, *self.aliases)

    @property
    def label(self) -> str:
        """``generic (Brand, ...)`` for messages."""
        return f"{self.name} ({', '.join(self.brands)})" if self.brands else self.name


_SPACES = re.compile(r"[\s_\-]+")


def normalise_name(name: str) -> str:
    """Lookup key: case-folded, "®"/"™" removed, "β" spelt "beta", hyphens, underscores and
    runs of spaces made one space."""
    s = str(name).replace("®", "").replace("™", "").replace("β", "beta").replace("Β", "beta")
    return _SPACES.sub(" ", s.casefold()).strip()


def _opt(value: str) -> str | None:
    value = value.strip()
    return value or None


def _split(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(";") if v.strip())


def _parse(text: str) -> tuple[Drug, ...]:
    lines = [ln for ln in text.splitlines() if not ln.startswith("#")]
    reader = csv.DictReader(io.StringIO("\n".join(lines)))
    wanted = [f.name for f in fields(Drug)]
    if reader.fieldnames is None or list(reader.fieldnames) != wanted:
        raise ValueError(f"DMT catalogue columns {reader.fieldnames} != {wanted}")
    drugs = []
    for i, row in enumerate(reader, start=1):
        interval = row["dosing_interval_days"].strip()
        drug = Drug(
            name=row["name"].strip(),
            brands=_split(row["brands"]),
            aliases=_split(row["aliases"]),
            route=row["route"].strip(),
            drug_class=row["drug_class"].strip(),
            mechanism=row["mechanism"].strip(),
            schedule=row["schedule"].strip(),
            dosing_interval_days=int(interval) if interval else None,
            regimen=row["regimen"].strip(),
            efficacy_a=_opt(row["efficacy_a"]),
            efficacy_b=_opt(row["efficacy_b"]),
            efficacy_c=_opt(row["efficacy_c"]),
            eu_status=row["eu_status"].strip(),
            eu_first_approval=_opt(row["eu_first_approval"]),
            eu_indication=_opt(row["eu_indication"]),
            us_status=row["us_status"].strip(),
            us_first_approval=_opt(row["us_first_approval"]),
            us_indication=_opt(row["us_indication"]),
            monitoring=row["monitoring"].strip(),
            evidence=row["evidence"].strip(),
            label_source=row["label_source"].strip(),
            label_date=_opt(row["label_date"]),
            notes=_opt(row["notes"]),
            lab_schedule=_opt(row["lab_schedule"]),
            lab_schedule_evidence=_opt(row["lab_schedule_evidence"]),
        )
        try:
            drug.lab_intervals  # noqa: B018 - checked once, when the catalogue is loaded
        except ValueError as exc:
            raise ValueError(f"DMT catalogue row {i} ({drug.name}): {exc}") from None
        if drug.lab_schedule and drug.lab_schedule_evidence not in ("V", "M", "C"):
            raise ValueError(f"DMT catalogue row {i} ({drug.name}): lab_schedule_evidence "
                             "must be V, M or C")
        if drug.schedule not in SCHEDULES:
            raise ValueError(f"DMT catalogue row {i} ({drug.name}): schedule {drug.schedule!r}")
        if (drug.schedule == "continuous") != (drug.dosing_interval_days is not None):
            raise ValueError(f"DMT catalogue row {i} ({drug.name}): a continuous therapy needs "
                             "dosing_interval_days, a pulsed one or a procedure has none")
        for status in (drug.eu_status, drug.us_status):
            if status not in STATUS_VALUES:
                raise ValueError(f"DMT catalogue row {i} ({drug.name}): status {status!r}")
        drugs.append(drug)
    return tuple(drugs)


@cache
def catalogue() -> tuple[Drug, ...]:
    """Every catalogue entry, in the order of rules §8.1."""
    text = (resources.files("neda.rules") / "data" / "dmt_catalogue.csv").read_text("utf-8")
    return _parse(text)


@cache
def _index() -> dict[str, Drug]:
    index: dict[str, Drug] = {}
    for drug in catalogue():
        for name in drug.names:
            key = normalise_name(name)
            other = index.get(key)
            if other is not None and other is not drug:
                raise ValueError(f"DMT catalogue: name {name!r} is used by both {other.name!r} "
                                 f"and {drug.name!r}")
            index[key] = drug
    return index


def lookup_drug(name: str) -> Drug:
    """The catalogue entry for a generic name, brand name or alias (case-insensitive).

    Raises ``ValueError`` for an unknown name, listing the closest catalogue names
    (``difflib``) so a misspelling is easy to fix.
    """
    if name is None or (isinstance(name, float) and name != name):
        raise ValueError("missing drug name")
    key = normalise_name(name)
    index = _index()
    if key in index:
        return index[key]
    close = difflib.get_close_matches(key, list(index), n=8, cutoff=0.6)
    spelled = {normalise_name(n): n for drug in catalogue() for n in drug.names}
    suggestions: dict[str, str] = {}
    for k in close:
        drug = index[k]
        if drug.name not in suggestions and len(suggestions) < 4:
            suggestions[drug.name] = (drug.label if k == normalise_name(drug.name)
                                      else f"{spelled[k]} (= {drug.name})")
    suggestions_list = list(suggestions.values())
    hint = ("; did you mean " + " or ".join(suggestions_list) + "?") if suggestions_list else (
        "; see neda.rules.dmt_catalogue.catalogue() for the known drugs")
    raise ValueError(f"unknown drug {name!r} (not a generic name, brand or alias in the DMT "
                     f"catalogue {CATALOGUE_VERSION}){hint}")


def catalogue_frame() -> pd.DataFrame:
    """The catalogue as a table (one row per drug; list fields joined with ``"; "``)."""
    rows = []
    for drug in catalogue():
        row = {f.name: getattr(drug, f.name) for f in fields(Drug)}
        row["brands"] = "; ".join(drug.brands)
        row["aliases"] = "; ".join(drug.aliases)
        rows.append(row)
    return pd.DataFrame(rows)

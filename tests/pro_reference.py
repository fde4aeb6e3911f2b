"""Frozen copy of ``neda.rules.pro.score_pros`` as it was before the columnar rewrite (commit
3e80088), kept as the oracle of ``tests/test_rules_pro_columnar.py``: the rewrite must give the
same frames (columns, dtypes, values, row order, provenance) and the same error messages.

Only the scoring code is copied; the instrument tables, options and output schema are imported
from ``neda.rules.pro`` (they are data, not what the rewrite changed). Do not edit to make a
test pass: a difference is either a bug in the new code or a documented, deliberate change.
"""
# ruff: noqa: E501

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from neda.rules.common import plain, provenance, with_provenance
from neda.rules.pro import (
    _SCORE_COLUMNS,
    ASHWORTH_CATEGORIES,
    INSTRUMENTS,
    RESULT_COLUMNS,
    SOURCE,
    ProOptions,
    _Instrument,
    _instruments,
    canonical_instrument,
)

__all__ = ["score_pros", "SOURCE"]


# ------------------------------------------------------------------------------- parsing
class _Context:
    """Row descriptions for error messages."""

    def __init__(self, subjects: np.ndarray, dates: np.ndarray, instruments: np.ndarray,
                 items: np.ndarray) -> None:
        self.subjects, self.dates, self.instruments, self.items = (subjects, dates, instruments,
                                                                   items)

    def where(self, row: int) -> str:
        d = self.dates[row]
        day = "NaT" if pd.isna(d) else pd.Timestamp(d).strftime("%Y-%m-%d")
        return (f"pros row {row} (subject {plain(self.subjects[row])!r}, date {day}, instrument "
                f"{plain(self.instruments[row])!r}, item {plain(self.items[row])!r})")


def _blank(values: np.ndarray) -> np.ndarray:
    """True for NaN/None/NA and blank strings (object arrays checked element-wise)."""
    out = pd.isna(values)
    if values.dtype == object:
        idx = np.flatnonzero(~out)
        if idx.size:
            is_str = np.fromiter((isinstance(v, str) for v in values[idx]), bool, idx.size)
            s = idx[is_str]
            if s.size:
                out[s] = np.fromiter((not v.strip() for v in values[s]), bool, s.size)
    return np.asarray(out, bool)


def _numeric(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(float values, "is not a number though not blank") for any 1-d array."""
    if values.dtype.kind in "biuf":
        return values.astype(float), np.zeros(values.size, bool)
    num = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(float)
    nan = np.isnan(num)
    bad = np.zeros(values.size, bool)
    if nan.any():
        idx = np.flatnonzero(nan)
        bad[idx] = ~_blank(values[idx])
    return num, bad


def _range_text(lo: int, hi: int) -> str:
    return f"a whole number from {lo} to {hi}"


# ------------------------------------------------------------------------------- scoring
def _score_matrix(inst: _Instrument, m: np.ndarray) -> tuple[dict[str, np.ndarray],
                                                             list[list[str]]]:
    """Scores of every response set (row of ``m``) and the reasons of missing scales."""
    g = m.shape[0]
    pos = {item: j for j, item in enumerate(inst.items)}
    lo_all = np.asarray(inst.lo, float)
    hi_all = np.asarray(inst.hi, float)
    cols: dict[str, np.ndarray] = {}
    reasons: list[list[str]] = [[] for _ in range(g)]
    for sc in inst.scales:
        idx = np.array([pos[i] for i in sc.items])
        sub = m[:, idx]
        ans = ~np.isnan(sub)
        k = ans.sum(axis=1)
        n = idx.size
        ok = (n - k <= sc.max_missing) & (k > 0)
        s = np.where(ans, sub, 0.0).sum(axis=1)
        kk = np.maximum(k, 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            if sc.kind == "sum":
                val = np.where(k == n, s, s / kk * n)
            elif sc.kind in ("mean", "value"):
                val = s / kk
            else:  # percent: mean imputation, generic range (spec 7.5)
                lo_a = (ans * lo_all[idx]).sum(axis=1)
                hi_a = (ans * hi_all[idx]).sum(axis=1)
                val = 100.0 * (s - lo_a) / np.where(hi_a > lo_a, hi_a - lo_a, 1.0)
                lo_t, hi_t = lo_all[idx].sum(), hi_all[idx].sum()
                raw = np.where(k == n, s, lo_t + val / 100.0 * (hi_t - lo_t))
                assert sc.raw_column is not None
                cols[sc.raw_column] = np.where(ok, raw, np.nan)
        cols[sc.column] = np.where(ok, val, np.nan)
        for r in np.flatnonzero(~ok):
            if sc.kind == "value":
                reasons[r].append(f"{sc.label}: not answered")
            elif sc.kind == "mean":
                reasons[r].append(f"{sc.label}: {k[r]} of {n} items answered (at least "
                                  f"{n - sc.max_missing} needed, {sc.rule})")
            else:
                reasons[r].append(f"{sc.label}: {n - k[r]} of {n} items missing (at most "
                                  f"{sc.max_missing} allowed, {sc.rule})")
    if inst.name == "MFIS":
        parts = [cols["mfis_physical"], cols["mfis_cognitive"], cols["mfis_psychosocial"]]
        total = parts[0] + parts[1] + parts[2]
        cols["mfis_total"] = total
        for r in np.flatnonzero(np.isnan(total)):
            reasons[r].append("total: needs all three subscales")
    if inst.name == "FSS":
        cols["fss_sum"] = cols["fss"] * 9.0
    return cols, reasons


def _keys(subj_codes: np.ndarray, date_codes: np.ndarray, n_dates: int,
          extra: np.ndarray | None = None, n_extra: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """(group index per row, first row of each group) for subject x date (x extra)."""
    key = subj_codes.astype(np.int64) * n_dates + date_codes
    if extra is not None:
        key = key * n_extra + extra
    group, _ = pd.factorize(key, sort=True)
    _, first = np.unique(group, return_index=True)
    return group.astype(np.int64), first.astype(np.int64)


def _duplicate_error(ctx: _Context, rows: np.ndarray, key: np.ndarray,
                     responses: np.ndarray) -> ValueError | None:
    order = np.argsort(key, kind="stable")
    k = key[order]
    same = np.flatnonzero(k[1:] == k[:-1])
    if not same.size:
        return None
    a, b = order[same[0]], order[same[0] + 1]
    ra, rb = rows[a], rows[b]
    return ValueError(f"{ctx.where(int(rb))}: answered twice (responses {responses[ra]!r} in "
                      f"row {ra} and {responses[rb]!r} in row {rb}); expected one answer per "
                      "item")


def _score_items(inst: _Instrument, rows: np.ndarray, ctx: _Context, items: np.ndarray,
                 responses: np.ndarray, subj_codes: np.ndarray, date_codes: np.ndarray,
                 n_dates: int) -> tuple[dict[str, np.ndarray], np.ndarray, list[list[str]],
                                        np.ndarray]:
    """Validate and score the rows of one numbered-item instrument."""
    it, it_bad = _numeric(items[rows])
    top = max(inst.items)
    valid = np.zeros(top + 2, bool)
    valid[list(inst.items)] = True
    as_int = np.where(np.isfinite(it) & (it == np.round(it)) & (it >= 0) & (it <= top), it,
                      top + 1).astype(np.int64)
    bad = it_bad | ~valid[as_int]
    if bad.any():
        r = rows[int(np.flatnonzero(bad)[0])]
        listed = (f"{inst.items[0]}-{inst.items[-1]}"
                  if inst.items == tuple(range(inst.items[0], inst.items[-1] + 1))
                  else ", ".join(map(str, inst.items)))
        hint = ""
        if inst.name == "MFIS-5":
            hint = " (see pro.mfis5_item_numbering)"
        raise ValueError(f"{ctx.where(int(r))}: unknown item {plain(items[r])!r} for {inst.name}; "
                         f"expected an item number {listed}{hint}")
    position = np.full(top + 2, -1, np.int64)
    position[list(inst.items)] = np.arange(len(inst.items))
    j = position[as_int]

    v, v_bad = _numeric(responses[rows])
    lo = np.asarray(inst.lo, float)[j]
    hi = np.asarray(inst.hi, float)[j]
    answered = ~np.isnan(v)
    if inst.not_scored is not None:
        out_of = v_bad | (answered & ((v != np.round(v)) | ~np.isfinite(v)))
    else:
        out_of = v_bad | (answered & ((v < lo) | (v > hi) | (v != np.round(v))))
    if out_of.any():
        i = int(np.flatnonzero(out_of)[0])
        r = rows[i]
        expected = ("a whole number" if inst.not_scored is not None
                    else _range_text(int(lo[i]), int(hi[i])))
        raise ValueError(f"{ctx.where(int(r))}: {inst.name} item answered {plain(responses[r])!r}; "
                         f"expected {expected}")

    group, first = _keys(subj_codes[rows], date_codes[rows], n_dates)
    n_items = len(inst.items)
    cell = group * n_items + j
    err = _duplicate_error(ctx, rows, cell, responses)
    if err is not None:
        raise err
    m = np.full((first.size, n_items), np.nan)
    m[group, j] = v
    n_answered = (~np.isnan(m)).sum(axis=1)
    if inst.not_scored is not None:
        return {}, first, [[inst.not_scored] for _ in range(first.size)], n_answered
    cols, reasons = _score_matrix(inst, m)
    return cols, first, reasons, n_answered


_ASHWORTH_MAP: dict[Any, int] = {c: i for i, c in enumerate(ASHWORTH_CATEGORIES)}
_ASHWORTH_MAP.update({0: 0, 1: 1, 2: 3, 3: 4, 4: 5})


def _ashworth_codes(values: np.ndarray, rows: np.ndarray, ctx: _Context) -> np.ndarray:
    """Ordinal codes 0-5 (-1 = not answered)."""
    codes = np.full(values.size, -1, np.int64)
    blank = _blank(values)
    for i in np.flatnonzero(~blank):
        v = values[i]
        key = v.strip().upper() if isinstance(v, str) else v
        code = None
        if isinstance(key, str | int | float | np.integer | np.floating) and not isinstance(
                key, bool):
            try:
                code = _ASHWORTH_MAP.get(key)
            except TypeError:
                code = None
            if code is None and isinstance(key, str):
                try:
                    num = float(key)
                    code = _ASHWORTH_MAP.get(num) if num == int(num) else None
                except (ValueError, OverflowError):  # 'nan', 'inf': not a category
                    code = None
        if code is None:
            hint = (" - '1+' is a category, not 1.5 (spec 7.6)"
                    if str(v).strip() in ("1.5", "1,5") else "")
            raise ValueError(f"{ctx.where(int(rows[i]))}: Modified Ashworth answered {v!r}; "
                             f"expected one of 0, 1, 1+, 2, 3, 4{hint}")
        codes[i] = code
    return codes


def _score_ashworth(rows: np.ndarray, ctx: _Context, items: np.ndarray, responses: np.ndarray,
                    subj_codes: np.ndarray, date_codes: np.ndarray, n_dates: int
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(first row per muscle rating, muscle names, codes) for the Ashworth rows."""
    muscles = items[rows]
    blank = _blank(muscles)
    if blank.any():
        raise ValueError(f"{ctx.where(int(rows[int(np.flatnonzero(blank)[0])]))}: Modified "
                         "Ashworth needs the muscle group (and side) in `item`")
    names = np.array([str(x).strip() for x in muscles], dtype=object)
    m_codes, m_uniques = pd.factorize(names)
    group, first = _keys(subj_codes[rows], date_codes[rows], n_dates, m_codes, len(m_uniques))
    err = _duplicate_error(ctx, rows, group, responses)
    if err is not None:
        raise err
    codes = _ashworth_codes(responses[rows], rows, ctx)
    out_codes = np.full(first.size, -1, np.int64)
    out_codes[group] = codes
    return first, names[first], out_codes


def _check_table(pros: pd.DataFrame, subject: str) -> pd.DataFrame:
    if not isinstance(pros, pd.DataFrame):
        raise ValueError("pros must be a pandas DataFrame (docs/data-model.md)")
    need = [subject, "date", "instrument", "item", "response"]
    missing = [c for c in need if c not in pros.columns]
    if missing:
        raise ValueError(f"pros: missing column(s) {', '.join(missing)}; expected {need} "
                         "(docs/data-model.md)")
    return pros


def _empty_result() -> pd.DataFrame:
    out = pd.DataFrame({c: pd.Series(dtype=object) for c in RESULT_COLUMNS if c != "rule_set"})
    return _finish(out)


def _finish(out: pd.DataFrame) -> pd.DataFrame:
    out["date"] = pd.to_datetime(out["date"])
    for c in _SCORE_COLUMNS:
        out[c] = pd.to_numeric(out[c], errors="coerce").astype(float)
    out["n_items"] = out["n_items"].astype(np.int64)
    out["items_answered"] = out["items_answered"].astype(np.int64)
    out["scored"] = out["scored"].astype(bool)
    code = pd.array(out["ashworth_code"].to_numpy(), dtype="Int64")
    out["ashworth_code"] = code
    labels = np.array(ASHWORTH_CATEGORIES, dtype=object)
    known = ~np.asarray(pd.isna(code), bool)
    cat = np.full(len(out), None, dtype=object)
    cat[known] = labels[np.asarray(code[known], dtype=np.int64)]
    out["ashworth"] = pd.Categorical(cat, categories=list(ASHWORTH_CATEGORIES), ordered=True)
    return out


def score_pros(pros: pd.DataFrame, options: ProOptions | None = None, *,
               subject: str = "subject") -> pd.DataFrame:
    """Score every response set of a long ``pros`` table (spec 7.2-7.8), vectorised.

    One output row per subject, date and instrument (per muscle group for Modified Ashworth),
    with every column of :data:`RESULT_COLUMNS` (scores of other instruments are NaN), sorted by
    subject, date, instrument and muscle; ``attrs["provenance"]`` holds every option.
    ``subject`` names the identifier column (e.g. ``"id"`` for the demo registry).

    Rows with a blank response count as unanswered items. Bad input raises a ``ValueError``
    naming the row, subject, date, instrument and item, and what was expected: an unknown
    instrument (or MSIS-29/MSWS-12 without a version), an unknown item number, an answer out of
    the item's range or not a whole number, the same item answered twice, a missing date.
    """
    opts = options or ProOptions()
    table = _check_table(pros, subject)
    record = provenance(opts.rule_set, opts, SOURCE)
    if len(table) == 0:
        return with_provenance(_empty_result(), record)

    subjects = table[subject].to_numpy()
    raw_dates = table["date"].to_numpy()
    raw_inst = table["instrument"].to_numpy()
    items = table["item"].to_numpy()
    responses = table["response"].to_numpy()

    inst_codes, inst_uniques = pd.factorize(raw_inst, use_na_sentinel=True)
    subj_codes, subj_uniques = pd.factorize(subjects, use_na_sentinel=True)
    dcodes, d_uniques = pd.factorize(raw_dates, use_na_sentinel=True)
    parsed_u = pd.to_datetime(pd.Series(d_uniques, dtype=object), errors="coerce")
    parsed_vals = parsed_u.to_numpy()
    row_dates = np.where(dcodes >= 0, parsed_vals[np.maximum(dcodes, 0)] if len(parsed_vals)
                         else np.datetime64("NaT"), np.datetime64("NaT")).astype("datetime64[ns]")
    ctx = _Context(subjects, row_dates, raw_inst, items)
    if (inst_codes < 0).any():
        raise ValueError(f"{ctx.where(int(np.flatnonzero(inst_codes < 0)[0]))}: no instrument "
                         f"given; expected one of {', '.join(INSTRUMENTS)}")
    if (subj_codes < 0).any():
        raise ValueError(f"{ctx.where(int(np.flatnonzero(subj_codes < 0)[0]))}: no subject")
    bad_date = np.isnat(row_dates)
    if bad_date.any():
        r = int(np.flatnonzero(bad_date)[0])
        raise ValueError(f"{ctx.where(r)}: date {raw_dates[r]!r} is not a date (ISO 8601 "
                         "expected)")
    date_codes, date_uniques = pd.factorize(row_dates)
    n_dates = max(len(date_uniques), 1)

    names: list[str] = []
    for k, u in enumerate(inst_uniques):
        try:
            names.append(canonical_instrument(u))
        except ValueError as exc:
            r = int(np.flatnonzero(inst_codes == k)[0])
            raise ValueError(f"{ctx.where(r)}: {exc}") from None
    canon_names = sorted(set(names))
    row_canon = np.array([canon_names.index(x) for x in names], np.int64)[inst_codes]

    defs = _instruments(opts)
    parts: list[pd.DataFrame] = []
    for c, name in enumerate(canon_names):
        rows = np.flatnonzero(row_canon == c)
        part: dict[str, Any]
        if name == "ashworth":
            first, muscles, codes = _score_ashworth(rows, ctx, items, responses, subj_codes,
                                                    date_codes, n_dates)
            answered = codes >= 0
            part = {
                "muscle": muscles, "n_items": np.ones(first.size, np.int64),
                "items_answered": answered.astype(np.int64), "scored": answered,
                "reason": [None if a else "Modified Ashworth: not answered" for a in answered],
                "ashworth_code": np.where(answered, codes, np.nan),
            }
        else:
            inst = defs[name]
            cols, first, reasons, n_answered = _score_items(
                inst, rows, ctx, items, responses, subj_codes, date_codes, n_dates)
            scored = np.ones(first.size, bool)
            for col in inst.headline:
                scored &= ~np.isnan(cols[col]) if col in cols else False
            part = {"muscle": None, "n_items": len(inst.items), "items_answered": n_answered,
                    "scored": scored,
                    "reason": [("; ".join(r) if r else None) for r in reasons], **cols}
        frame = pd.DataFrame({
            "subject": subjects[rows[first]],
            "date": row_dates[rows[first]], "instrument": name, **part})
        parts.append(frame)

    out = pd.concat(parts, ignore_index=True)
    out = out.reindex(columns=[c for c in RESULT_COLUMNS if c != "rule_set"])
    out = _finish(out)
    try:
        out = out.sort_values(["subject", "date", "instrument", "muscle"], kind="stable",
                              na_position="first")
    except TypeError:  # mixed identifier types: keep first-appearance order of subjects
        first_seen = {s: i for i, s in reversed(list(enumerate(subj_uniques)))}
        out = out.assign(_s=out["subject"].map(first_seen)).sort_values(
            ["_s", "date", "instrument", "muscle"], kind="stable", na_position="first"
        ).drop(columns="_s")
    out = out.reset_index(drop=True)
    return with_provenance(out, record)


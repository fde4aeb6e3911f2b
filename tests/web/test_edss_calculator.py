"""The EDSS calculator and the visit form's EDSS helper: the EDSS computed by neda.rules.edss
from FS grades and ambulation (rules §1), with how its step was found; the input read by the
visits reader like any visit."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from neda.web.clinic.models import Patient, Visit

from .conftest import login

FS = ("visual", "brainstem", "pyramidal", "cerebellar", "sensory", "bowel_bladder", "cerebral")


def grades(v: str, bs: str, p: str, cbll: str, s: str, bb: str, cer: str, amb: str
           ) -> dict[str, str]:
    """A row of the test vectors of rules §1.8 (V, BS, P, Cbll, S, BB, Cer, Amb)."""
    return {**{f"fs_{n}": g for n, g in zip(FS, (v, bs, p, cbll, s, bb, cer), strict=True)},
            "ambulation": amb}


@pytest.fixture
def staff(db: Any) -> Client:
    return login("researcher")  # any staff member may use the calculator


def compute(client: Client, data: dict[str, str]) -> Any:
    r = client.get(reverse("edss_calculator"), data)
    assert r.status_code == 200
    return r


@pytest.mark.parametrize(("row", "edss"), [
    (("0", "0", "0", "0", "0", "0", "1", "0"), 0.0),
    (("0", "0", "1", "0", "0", "0", "1", "0"), 1.0),
    (("0", "0", "2", "2X", "0", "0", "0", "0"), 2.5),
    (("0", "0", "3", "2", "0", "0", "0", "0"), 3.5),
    (("6", "0", "0", "0", "0", "0", "0", "0"), 4.0),
    (("0", "0", "0", "0", "0", "6", "0", "0"), 5.0),
    (("0", "0", "4", "3", "3", "3", "0", "0"), 5.0),
    (("0", "0", "3", "0", "0", "0", "0", "5"), 6.0),
    (("0", "0", "6", "0", "0", "0", "0", "16"), 10.0),
])
def test_the_calculator_gives_the_rules_test_vectors(staff: Client, row: tuple[str, ...],
                                                     edss: float) -> None:
    r = compute(staff, grades(*row))
    assert r.context["result"] is not None, r.context["form"].errors
    assert r.context["result"].edss == edss
    assert f'<strong class="rec-edss-value">{edss:.1f}</strong>' in r.content.decode()


def test_the_calculator_explains_the_step(staff: Client) -> None:
    r = compute(staff, grades("0", "0", "3", "2", "1", "0", "1", "0"))
    page = r.content.decode()
    assert "How the step was found:" in page
    assert ("FS (converted grades): one FS grade 3 with one or two FS grade 2, cerebral grade "
            "1 counted as 0 (edss.cerebral1_as_zero) -&gt; 3.5") in page
    r = compute(staff, grades("0", "0", "0", "0", "0", "0", "0", "0"))
    assert r.context["result"].step_rule == ("FS (converted grades): all FS 0, walking "
                                             "unrestricted -> 0.0")
    # raw grades and the grades counted (visual and bowel/bladder converted first)
    r = compute(staff, grades("6", "0", "0", "0", "0", "5", "0", "0"))
    rows = {g["system"]: (g["raw"], g["converted"]) for g in r.context["grades"]}
    assert rows["Visual"] == ("6", 4) and rows["Bowel/bladder"] == ("5", 4)
    r = compute(staff, grades("0", "0", "2", "0", "0", "0", "0", "6"))
    assert r.context["result"].step_rule.startswith("walking: ambulation score 6 (unilateral "
                                                    "assistance, >=50 m) -> 6.0")


def test_the_calculator_says_why_it_cannot_compute(staff: Client) -> None:
    data = grades("0", "0", "", "0", "0", "0", "0", "0")
    r = compute(staff, data)
    assert r.context["result"].edss is None
    assert "Not computed: FS grade missing (pyramidal) and needed" in r.content.decode()
    r = compute(staff, {**data, "fs_pyramidal": "1", "ambulation": ""})
    assert "Not computed: ambulation score missing" in r.content.decode()
    # walking alone sets the step: missing grades do not matter (rules §1.5)
    r = compute(staff, {**data, "ambulation": "3"})
    assert r.context["result"].edss == 5.0


def test_the_calculator_checks_a_rated_edss(staff: Client) -> None:
    r = compute(staff, {**grades("0", "0", "3", "2", "0", "0", "0", "0"), "edss": "3.0"})
    assert "rated EDSS 3.0 is below the computed EDSS 3.5" in r.content.decode()


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"fs_pyramidal": "7"}, "fs_pyramidal", "FS pyramidal: '7' is not accepted; enter a grade "
                                            "0-6"),
    ({"fs_cerebral": "2Y"}, "fs_cerebral", "FS cerebral: '2Y' is not accepted"),
    ({"ambulation": "17"}, "ambulation", "Ambulation score: '17' is not accepted; enter a "
                                         "whole number from 0 to 16"),
    ({"ambulation": "2.5"}, "ambulation", "Ambulation score: '2.5' is not accepted"),
    ({"ambulation": "14", "edss_method": "neurostatus_12"}, "ambulation",
     "Ambulation score: '14' is not accepted; enter a whole number from 0 to 13 (the "
     "neurostatus_12 coding of the EDSS method chosen)"),
    ({"edss": "0.5"}, "edss", "Rated EDSS (optional): '0.5' is not accepted; enter an EDSS "
                              "value on the scale"),
])
def test_the_calculator_reads_its_input_like_a_visit(staff: Client, changes: dict[str, str],
                                                     field: str, message: str) -> None:
    r = compute(staff, {**grades("0", "0", "1", "0", "0", "0", "0", "0"), **changes})
    assert r.context["result"] is None
    errors = [str(m) for m in r.context["form"].errors[field]]
    assert any(message in m for m in errors), errors
    assert "Not computed." in r.content.decode()


def test_kurtzke_is_not_computed_with_its_reason(staff: Client) -> None:
    r = compute(staff, {**grades("0", "0", "1", "0", "0", "0", "0", "0"),
                        "edss_method": "kurtzke_1983"})
    assert r.context["result"] is None
    assert "cannot be computed: Kurtzke 1983 has no coded ambulation score" in \
        r.content.decode()


def test_an_empty_calculator_shows_the_form_and_the_walking_codes(staff: Client) -> None:
    r = compute(staff, {})
    page = r.content.decode()
    assert r.context["result"] is None and "Not computed" not in page
    assert "bilateral assistance, &gt;=120 m" in page  # code 7 of the walking table


def test_patients_cannot_use_the_staff_calculator(db: Any) -> None:
    assert login("patient1").get(reverse("edss_calculator")).status_code == 403
    assert Client().get(reverse("edss_calculator")).status_code == 302


def test_the_visit_form_helper_computes_without_saving(demo_patient: Patient) -> None:
    nurse = login("nurse")
    n0, v0 = Visit.all_objects.count(), demo_patient.data_version
    data = {"date": "2026-07-15", **grades("0", "0", "3", "3", "0", "0", "0", "0"),
            "action": "compute"}
    r = nurse.post(reverse("record_add", args=[demo_patient.public_id, "visits"]), data)
    assert r.status_code == 200
    page = r.content.decode()
    assert "Computed EDSS: <strong class=\"rec-edss-value\">3.5</strong>" in page
    assert "two FS grade 3, others 0 or 1" in page
    assert Visit.all_objects.count() == n0
    demo_patient.refresh_from_db()
    assert demo_patient.data_version == v0
    # the same input saved: the EDSS computed is a note (no rated EDSS to check)
    data["action"] = "save"
    r = nurse.post(reverse("record_add", args=[demo_patient.public_id, "visits"]), data,
                   follow=True)
    assert r.redirect_chain
    assert "EDSS computed from the FS grades and ambulation: 3.5" in r.content.decode()
    visit = Visit.objects.get(patient=demo_patient, date="2026-07-15")
    assert visit.edss is None and visit.fs_cerebellar == "3"  # computed, never stored as rated


def test_the_fs_grades_are_declared_once_for_the_visit_form_and_the_calculator() -> None:
    """One declaration of the FS fields (one per system of neda.rules.edss), shared by the
    visit form and the calculator: a label or hint changed there shows in both. The visit
    form keeps its fields in the order of its fieldsets, the calculator the grades first."""
    from neda.rules.edss import FS_SYSTEMS
    from neda.web.clinic.forms import EdssCalculatorForm, VisitForm

    names = [f"fs_{s}" for s in FS_SYSTEMS]
    for name in names:
        assert VisitForm.base_fields[name] is EdssCalculatorForm.base_fields[name], name
    assert [n for n in EdssCalculatorForm.base_fields if n.startswith("fs_")] == names
    assert list(EdssCalculatorForm.base_fields)[:len(names)] == names
    visit = VisitForm(patient=Patient())
    assert list(visit.fields) == [n for _, group in VisitForm.fieldsets for n in group]

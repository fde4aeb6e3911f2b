"""Forms to add, edit, delete and restore every record type; the audit trail; the EDSS
calculator.

``<table>`` is one of ``visits``, ``relapses``, ``mri``, ``treatments``,
``symptom_treatments``, ``pros`` (the record types of :data:`.models.RECORD_MODELS`); any other
name is 404.
"""

from django.urls import path

from .views import edss_calculator, history, records, restore

P = "patients/<uuid:public_id>"
R = f"{P}/<str:table>/<int:pk>"

urlpatterns = [
    # the patient's own data
    path("patients/new/", records.patient_add, name="patient_add"),
    path(f"{P}/edit/", records.patient_edit, name="patient_edit"),
    path(f"{P}/delete/", records.patient_delete, name="patient_delete"),
    path(f"{P}/history/", history.patient_history, name="patient_history"),
    # records of every type
    path(f"{P}/<str:table>/", records.record_list, name="record_list"),
    path(f"{P}/<str:table>/add/", records.record_add, name="record_add"),
    path(f"{R}/", records.record_edit, name="record_edit"),
    path(f"{R}/delete/", records.record_delete, name="record_delete"),
    path(f"{R}/history/", history.record_history, name="record_history"),
    # administrators: deleted records, restore
    path("deleted/", restore.deleted_records, name="deleted_records"),
    path("deleted/<str:table>/<int:pk>/restore/", restore.record_restore,
         name="record_restore"),
    path("deleted/<str:table>/<int:pk>/history/", history.deleted_history,
         name="deleted_history"),
    # the EDSS calculator
    path("edss/", edss_calculator.edss_calculator, name="edss_calculator"),
]

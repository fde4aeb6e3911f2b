"""Import (upload, preview, commit) and export (tables as CSV or JSON, a course as JSON).

The upload's token is random and bound to its user and clinic (another user's token is 404).
"""

from django.urls import path

from .views import export, import_data

E = "export/patients/<uuid:public_id>"

urlpatterns = [
    path("import/", import_data.import_upload, name="import_upload"),
    path("import/<str:token>/", import_data.import_preview, name="import_preview"),
    path("export/", export.export_page, name="export"),
    path("export/clinic.zip", export.export_clinic, {"fmt": "zip"}, name="export_clinic_csv"),
    path("export/clinic.json", export.export_clinic, {"fmt": "json"},
         name="export_clinic_json"),
    path(f"{E}/", export.export_patient_page, name="export_patient"),
    path(f"{E}/tables.zip", export.export_patient, {"fmt": "zip"}, name="export_patient_csv"),
    path(f"{E}/tables.json", export.export_patient, {"fmt": "json"},
         name="export_patient_json"),
    path(f"{E}/course.json", export.export_course, name="export_course"),
]

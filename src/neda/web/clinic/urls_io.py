"""Import (upload, preview, commit) and export (tables as CSV or JSON, a course as JSON).

The upload's token is random and bound to its user and clinic (another user's token is 404).
"""

from django.urls import path

from .views import import_data

urlpatterns = [
    path("import/", import_data.import_upload, name="import_upload"),
    path("import/<str:token>/", import_data.import_preview, name="import_preview"),
]

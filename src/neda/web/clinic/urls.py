"""Clinician screens (list, overview, print); ``/me/`` sends a patient to the portal."""

from django.urls import path

from neda.web.portal.views import my_course

from .views import patient_list, patient_overview, patient_print

urlpatterns = [
    path("patients/", patient_list.patient_list, name="patient_list"),
    path("patients/<uuid:public_id>/", patient_overview.patient_overview,
         name="patient_overview"),
    path("patients/<uuid:public_id>/print/", patient_print.patient_print, name="patient_print"),
    path("me/", my_course.old_my_course, name="my_course"),  # now the portal's home
]

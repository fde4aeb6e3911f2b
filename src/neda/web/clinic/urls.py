"""Clinician screens (list, overview, print) and the patient's own page."""

from django.urls import path

from .views import my_course, patient_list, patient_overview, patient_print

urlpatterns = [
    path("patients/", patient_list.patient_list, name="patient_list"),
    path("patients/<uuid:public_id>/", patient_overview.patient_overview,
         name="patient_overview"),
    path("patients/<uuid:public_id>/print/", patient_print.patient_print, name="patient_print"),
    path("me/", my_course.my_course, name="my_course"),
]

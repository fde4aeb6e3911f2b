"""Clinician screens: list, overview, print."""

from django.urls import path

from .views import patient_list, patient_overview

urlpatterns = [
    path("patients/", patient_list.patient_list, name="patient_list"),
    path("patients/<uuid:public_id>/", patient_overview.patient_overview,
         name="patient_overview"),
]

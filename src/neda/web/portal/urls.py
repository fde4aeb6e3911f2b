"""The portal's routes, all under ``/portal/`` (see ``neda.web.urls``). Every view carries an
access policy from :mod:`neda.web.clinic.access`; the access-matrix test enumerates these."""

from __future__ import annotations

from django.urls import URLPattern, path

from .views import definitions, my_course, report_relapse, review

urlpatterns: list[URLPattern] = [
    # portal-relapse: the patient's course, relapse reports, the clinic's review queue
    path("", my_course.my_course, name="portal_home"),
    path("definitions/", definitions.definitions, name="portal_definitions"),
    path("relapses/", report_relapse.my_relapses, name="portal_relapses"),
    path("relapses/new/", report_relapse.report_relapse, name="portal_report_relapse"),
    path("review/", review.review_queue, name="review_queue"),
    path("review/relapses/<uuid:public_id>/<int:pk>/", review.review_relapse,
         name="review_relapse"),
]

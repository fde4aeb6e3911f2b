"""The portal's routes, all under ``/portal/`` (see ``neda.web.urls``). Every view carries an
access policy from :mod:`neda.web.clinic.access`; the access-matrix test enumerates these."""

from __future__ import annotations

from django.urls import URLPattern, path

from .views import (
    adherence,
    clinic_diary,
    definitions,
    diary,
    exercise,
    my_course,
    questionnaires,
    report_relapse,
    review,
)

urlpatterns: list[URLPattern] = [
    # portal-relapse: the patient's course, relapse reports, the clinic's review queue
    path("", my_course.my_course, name="portal_home"),
    path("definitions/", definitions.definitions, name="portal_definitions"),
    path("relapses/", report_relapse.my_relapses, name="portal_relapses"),
    path("relapses/new/", report_relapse.report_relapse, name="portal_report_relapse"),
    path("review/", review.review_queue, name="review_queue"),
    path("review/relapses/<uuid:public_id>/<int:pk>/", review.review_relapse,
         name="review_relapse"),
    # symptoms and lifestyle diary, questionnaires (patient side)
    path("diary/", diary.diary, name="portal_diary"),
    path("exercise/", exercise.exercise, name="portal_exercise"),
    path("adherence/", adherence.adherence, name="portal_adherence"),
    path("questionnaires/", questionnaires.questionnaire_list, name="portal_questionnaires"),
    path("questionnaires/<str:instrument>/", questionnaires.questionnaire,
         name="portal_questionnaire"),
    # the diary seen by the clinic: entries, review, exercise goal, questionnaire schedule
    path("clinic/questionnaire-schedule/", clinic_diary.clinic_schedule,
         name="portal_clinic_schedule"),
    path("clinic/<uuid:public_id>/entries/", clinic_diary.patient_entries,
         name="portal_patient_entries"),
    path("clinic/<uuid:public_id>/entries/reviewed/", clinic_diary.entries_reviewed,
         name="portal_entries_reviewed"),
    path("clinic/<uuid:public_id>/exercise-goal/", clinic_diary.exercise_goal_edit,
         name="portal_exercise_goal"),
    path("clinic/<uuid:public_id>/questionnaire-schedule/", clinic_diary.patient_schedule,
         name="portal_patient_schedule"),
]

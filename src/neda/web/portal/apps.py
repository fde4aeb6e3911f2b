from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "neda.web.portal"
    label = "portal"
    verbose_name = "neda patient portal"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # the review queue's sections are registered by the parts of the portal they show
        from .diary import review_section
        from .queue import SECTIONS, register

        if review_section not in SECTIONS:
            register(review_section)
        # the patients' own entries are in the clinic's backup (neda-admin backup/restore),
        # after the clinic's tables they refer to
        from neda.web.clinic.exporting import register_backup_table

        from .models import (
            AdherenceEntry,
            ExerciseGoal,
            ExerciseSession,
            QuestionnaireSchedule,
            SymptomEntry,
            SymptomMedicationEntry,
        )

        register_backup_table("portal_symptoms", SymptomEntry)
        register_backup_table("portal_exercise", ExerciseSession)
        register_backup_table("portal_adherence", AdherenceEntry)
        register_backup_table("portal_symptom_medication", SymptomMedicationEntry)
        register_backup_table("portal_exercise_goals", ExerciseGoal)
        register_backup_table("portal_questionnaire_schedules", QuestionnaireSchedule,
                              clinic_lookup="clinic")

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
        # the second factor goes with its account, as the password hash does: a restore gives
        # the accounts back as they were (docs/portal-accounts.md, "Backups")
        from django_otp.plugins.otp_totp.models import TOTPDevice

        from neda.web.clinic.exporting import register_account_table

        register_account_table("totp_devices", TOTPDevice)

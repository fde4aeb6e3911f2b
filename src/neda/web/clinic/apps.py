from django.apps import AppConfig


class ClinicConfig(AppConfig):
    name = "neda.web.clinic"
    label = "clinic"
    verbose_name = "neda clinic"
    default_auto_field = "django.db.models.BigAutoField"

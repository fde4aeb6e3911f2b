from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "neda.web.portal"
    label = "portal"
    verbose_name = "neda patient portal"
    default_auto_field = "django.db.models.BigAutoField"

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

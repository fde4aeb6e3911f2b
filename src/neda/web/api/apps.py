"""The JSON API as a Django app (for its management command, ``neda-admin issue_token``)."""

from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "neda.web.api"
    label = "neda_api"
    verbose_name = "neda JSON API"

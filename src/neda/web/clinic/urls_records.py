"""Forms to add, edit, delete and restore every record type."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []

"""Import (upload, preview, commit) and export."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []

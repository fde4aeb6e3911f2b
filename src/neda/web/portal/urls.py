"""The portal's routes, all under ``/portal/`` (see ``neda.web.urls``). Every view carries an
access policy from :mod:`neda.web.clinic.access`; the access-matrix test enumerates these."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []

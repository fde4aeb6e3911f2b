"""Every route of the site. The access-matrix test enumerates these from the resolver, so a new
route cannot escape it."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import include, path

from .clinic.access import public
from .clinic.views import health, home

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("login/", public(auth_views.LoginView.as_view(template_name="clinic/login.html",
                                                      redirect_authenticated_user=True)),
         name="login"),
    path("logout/", public(auth_views.LogoutView.as_view()), name="logout"),
    path("", home.home, name="home"),
    # before the clinic's records: "patients/<id>/portal-invitation/" is not a record table
    path("", include("neda.web.portal.urls_accounts")),  # invitations, reset, second factor
    path("", include("neda.web.clinic.urls")),          # screens
    path("", include("neda.web.clinic.urls_records")),  # forms: add, edit, delete, restore
    path("", include("neda.web.clinic.urls_io")),       # import, export
    path("portal/", include("neda.web.portal.urls")),   # the patient portal
    path("api/", include("neda.web.api.urls")),         # JSON API (OpenAPI)
]

"""The JSON API (django-ninja; OpenAPI at ``/api/openapi.json``, docs at ``/api/docs``).

Every route is tagged for the site's access matrix: the schema and its docs are public; every
operation is ``api`` - its own authentication (token or session, :mod:`neda.web.api.auth`) and
the access module's object checks, held to them route by route in ``tests/web/test_api.py``.
"""

from django.urls import URLPattern, URLResolver

from .routes import api

_patterns, _app, app_name = api.urls  # the namespace ninja reverses its own views in
urlpatterns: list[URLPattern | URLResolver] = list(_patterns)

for _pattern in urlpatterns:
    if isinstance(_pattern, URLPattern):
        _public = _pattern.name in ("openapi-json", "openapi-view", "api-root")
        _pattern.callback.neda_access = "public" if _public else "api"  # type: ignore[attr-defined]

"""``/healthz``: the server answers and the database is reachable."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, JsonResponse

from ..access import public


@public
def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return JsonResponse({"status": "ok"})

"""Home, the command palette, notifications, the audit log and error pages."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def not_found(request: HttpRequest, exception: Any = None) -> HttpResponse:
    return render(request, "web/error.html", {"status": 404, "title": "Not found"}, status=404)


def forbidden(request: HttpRequest, exception: Any = None) -> HttpResponse:
    return render(request, "web/error.html", {"status": 403, "title": "Forbidden", "detail": str(exception or "")},
                  status=403)

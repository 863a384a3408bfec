"""Turning a keyset ``Page`` from a selector into the API's page body."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.http import HttpRequest, QueryDict
from pydantic import Field

from amity.core.pagination import Page

DEFAULT_LIMIT = 25
MAX_LIMIT = 200

LIMIT = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description=f"Rows per page, 1–{MAX_LIMIT}.")
CURSOR = Field(None, description="`next_cursor` or `prev_cursor` of a page you already have.")


def page_body(page: Page[Any], serialize: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    return {
        "items": [serialize(obj) for obj in page.items],
        "next_cursor": page.next_cursor,
        "prev_cursor": page.prev_cursor,
        "total": page.total,
        "total_capped": page.total_capped,
    }


def query_params(request: HttpRequest, **overrides: str) -> Mapping[str, Any]:
    """The request's query string as the selectors take it (the same as the UI's list pages), with
    ``overrides`` applied (e.g. the company of ``/companies/{id}/contacts``)."""
    params: QueryDict = request.GET.copy()
    for key, value in overrides.items():
        params[key] = value
    return params

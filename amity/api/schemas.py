"""Schemas shared by every router: references to other records, problems, and paged lists."""

from __future__ import annotations

from typing import Any

from ninja import Schema
from pydantic import ConfigDict, Field, create_model


class InputSchema(Schema):
    """Request bodies refuse unknown fields, so a typo (``emial``) is an error rather than silently ignored."""

    model_config = ConfigDict(extra="forbid")


class Ref(Schema):
    """Another record, by its public id and what people call it."""

    id: str = Field(description="UUID")
    name: str


class FieldError(Schema):
    field: str = Field(description="The input field, e.g. `emails` or `custom.tier`; empty for the whole request.")
    message: str
    code: str | None = None
    existing: dict[str, Any] | None = Field(
        None, description="For duplicates: the record that already has this value, `{id, url}`."
    )


class Problem(Schema):
    """RFC 9457 problem details (sent as ``application/problem+json``)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    errors: list[FieldError] | None = None


# Responses every authenticated endpoint can give besides its success.
READ_ERRORS: dict[int, type] = {401: Problem, 404: Problem, 422: Problem}
WRITE_ERRORS: dict[int, type] = {401: Problem, 403: Problem, 404: Problem, 422: Problem}


def page_schema(item: type[Schema], name: str) -> type[Schema]:
    """``{items, next_cursor, prev_cursor, total, total_capped}`` for ``item`` (a named model in the OpenAPI)."""
    return create_model(
        name,
        __base__=Schema,
        __doc__=f"One page of {item.__name__} rows. Pass `next_cursor`/`prev_cursor` back as `cursor` to move.",
        items=(list[item], ...),  # type: ignore[valid-type]
        next_cursor=(str | None, Field(None, description="Cursor of the next page; null on the last page.")),
        prev_cursor=(str | None, Field(None, description="Cursor of the previous page; null on the first page.")),
        total=(int | None, Field(None, description="Rows matching the filters (counted up to 10,000).")),
        total_capped=(bool, Field(False, description="True when more than 10,000 rows match.")),
    )


def list_schema(item: type[Schema], name: str) -> type[Schema]:
    """``{items}`` for short lists that are returned whole (tags, custom fields, users)."""
    return create_model(name, __base__=Schema, items=(list[item], ...))  # type: ignore[valid-type]


try:  # django-ninja ≥ 1.5 wants an explicit Status; older versions take a (status, body) tuple
    from ninja import Status
except ImportError:  # pragma: no cover
    def Status(status_code: int, value: Any) -> Any:  # type: ignore[no-redef]  # noqa: N802
        return status_code, value


def created(body: Any) -> Any:
    return Status(201, body)


def no_content() -> Any:
    return Status(204, None)


def enum_of(values: Any) -> dict[str, Any]:
    """``json_schema_extra`` listing the allowed values of a string field (validated by the service)."""
    return {"enum": list(values)}

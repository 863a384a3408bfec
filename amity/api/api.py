"""The JSON API: one NinjaAPI mounting each app's router.

Auth: a personal API token (``Authorization: Bearer amy_…``) or the browser session (with CSRF).
Errors: RFC 9457 problem details (``application/problem+json``) with per-field ``errors``.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import APIKeyCookie, HttpBearer

from amity.accounts.services import authenticate_token

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        api_token = authenticate_token(token)
        if api_token is None:
            return None
        if api_token.scope != "write" and request.method not in SAFE_METHODS:
            raise HttpError(403, "This token is read-only; create a read-write token to make changes.")
        request.user = api_token.user
        request.api_token = api_token  # type: ignore[attr-defined]
        return api_token.user


class SessionAuth(APIKeyCookie):
    """The logged-in browser session; CSRF is checked for unsafe methods."""

    param_name = "sessionid"

    def __init__(self) -> None:
        super().__init__(csrf=True)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = getattr(request, "user", None)
        return user if user is not None and user.is_authenticated and user.is_active else None


api = NinjaAPI(
    title="Amity API",
    version="1",
    description="Contacts, companies, notes, tags, custom fields and users. "
    "Authenticate with `Authorization: Bearer <token>` (create tokens under Settings → API tokens).",
    auth=[TokenAuth(), SessionAuth()],
    docs_url="/docs",
    openapi_url="/openapi.json",
    urls_namespace="api",
)


def problem(request: HttpRequest, status: int, title: str, detail: str = "",
            errors: list[dict[str, Any]] | None = None) -> HttpResponse:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if errors is not None:
        body["errors"] = errors
    response = api.create_response(request, body, status=status)
    response["Content-Type"] = "application/problem+json"
    return response


def _field_errors(error: ValidationError) -> list[dict[str, Any]]:
    if hasattr(error, "error_dict"):
        result = []
        for field, items in error.error_dict.items():
            for item in items:
                entry: dict[str, Any] = {"field": field, "message": " ".join(item.messages)}
                if item.code:
                    entry["code"] = item.code
                if item.params and isinstance(item.params, dict) and "uuid" in item.params:
                    entry["existing"] = {"id": item.params["uuid"], "url": item.params.get("url")}
                result.append(entry)
        return result
    return [{"field": "", "message": m} for m in error.messages]


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    return problem(request, 422, "Invalid input", "Some fields are not valid; see errors.", _field_errors(exc))


@api.exception_handler(NinjaValidationError)
def on_schema_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    errors = []
    for err in exc.errors:
        loc = [str(p) for p in err.get("loc", [])]
        # ("body", "<param name>", *field path) or ("query"|"path"|…, *field path): keep only the field path, so a
        # field that is itself called "body" (a note's text) is still named.
        if loc and loc[0] == "body":
            loc = loc[2:]
        elif loc and loc[0] in {"query", "path", "header", "cookie", "form", "file"}:
            loc = loc[1:]
        errors.append({"field": ".".join(loc), "message": err.get("msg", "invalid")})
    return problem(request, 422, "Invalid input", "Some fields are not valid; see errors.", errors)


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return problem(request, 404, "Not found", "There is no such record, or you may not see it.")


@api.exception_handler(PermissionDenied)
def on_forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return problem(request, 403, "Forbidden", str(exc) or "You may not do that.")


@api.exception_handler(AuthenticationError)
def on_unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = problem(request, 401, "Unauthorized", "Send a valid API token: Authorization: Bearer <token>.")
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return problem(request, exc.status_code, HttpResponse(status=exc.status_code).reason_phrase, str(exc))


def _mount_routers() -> None:
    """Each app contributes a router in its ``api.py``."""
    from amity.accounts.api import router as accounts_router
    from amity.commerce.api import router as commerce_router
    from amity.commerce.api_orders import router as orders_router
    from amity.contacts.api import router as contacts_router
    from amity.contacts.api_dedupe import router as dedupe_router
    from amity.core.api import router as core_router
    from amity.integrations.api_cards import router as cards_router
    from amity.integrations.api_exports import router as exports_router
    from amity.integrations.api_imports import router as imports_router
    from amity.sales.api import router as sales_router
    from amity.sales.api_reports import router as sales_reports_router
    from amity.timeline.api import router as timeline_router

    # Fixed paths such as /contacts/export.vcf are mounted before /contacts/{id}, which would swallow them.
    api.add_router("/", cards_router)
    api.add_router("/", exports_router)
    api.add_router("/", contacts_router)
    api.add_router("/", timeline_router)
    api.add_router("/", core_router)
    api.add_router("/", accounts_router)
    api.add_router("/", sales_router)
    api.add_router("/", sales_reports_router)
    api.add_router("/", dedupe_router)
    api.add_router("/", commerce_router)
    api.add_router("/", orders_router)
    api.add_router("/", imports_router)
    api.add_router("/", _fallback_router())


def _fallback_router() -> Any:
    """Mounted last: an unknown ``/api/…`` path answers a 404 problem (JSON), not the web app's HTML page."""
    from ninja import Router

    router = Router(auth=None)

    @router.api_operation(["GET", "POST", "PUT", "PATCH", "DELETE"], "/{path:rest}", include_in_schema=False)
    def unknown_path(request: HttpRequest, rest: str) -> Any:
        raise Http404

    return router


_mount_routers()

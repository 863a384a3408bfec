"""Helpers for API tests: a client that sends a Bearer token and speaks JSON."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client


class ApiClient:
    def __init__(self, token: str | None) -> None:
        self.client = Client()
        self.headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}

    def get(self, path: str, params: Any = None):
        return self.client.get(path, params, **self.headers)

    def post(self, path: str, body: Any):
        return self.client.post(path, json.dumps(body), content_type="application/json", **self.headers)

    def patch(self, path: str, body: Any):
        return self.client.patch(path, json.dumps(body), content_type="application/json", **self.headers)

    def delete(self, path: str):
        return self.client.delete(path, **self.headers)


def field_names(response) -> set[str]:
    return {e["field"] for e in response.json().get("errors", [])}


def is_problem(response, status: int) -> bool:
    body = response.json()
    return (response.status_code == status and response["Content-Type"] == "application/problem+json"
            and body["status"] == status and body["title"])

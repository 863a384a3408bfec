"""Fixtures for API tests."""

from __future__ import annotations

import pytest

from amity import testing
from amity.api.tests.helpers import ApiClient


@pytest.fixture
def api_for():
    """``api_for(user, scope="write")`` → an ApiClient with a fresh token of that user."""
    def make(user, scope: str = "write") -> ApiClient:
        return ApiClient(testing.make_token(user, scope=scope))
    return make


@pytest.fixture
def admin_api(admin_user, api_for) -> ApiClient:
    return api_for(admin_user)


@pytest.fixture
def sales_api(sales_user, api_for) -> ApiClient:
    return api_for(sales_user)

from __future__ import annotations

import pytest
from django.test import Client

from amity import testing


@pytest.fixture
def readonly_client(db, team):
    client = Client()
    client.force_login(testing.make_user("readonly", team=team, full_name="Rita Readonly"))
    return client

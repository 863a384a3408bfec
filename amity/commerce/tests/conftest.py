from __future__ import annotations

import pytest
import time_machine

from .clock import NOW


@pytest.fixture
def frozen():
    """The clock stopped at ``clock.NOW`` for the test."""
    with time_machine.travel(NOW, tick=False):
        yield

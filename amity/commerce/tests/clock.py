"""The moment most commerce tests run at (the ``frozen`` fixture in conftest.py)."""

from __future__ import annotations

import datetime as dt

NOW = dt.datetime(2026, 5, 6, 12, 0, tzinfo=dt.UTC)  # a Wednesday; the week starts on Monday 2026-05-04

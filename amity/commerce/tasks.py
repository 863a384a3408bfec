"""Periodic commerce work run by the worker (``core.periodic``)."""

from __future__ import annotations

from amity.core.periodic import every


@every("commerce.abandon_carts", seconds=60)
def abandon_carts() -> int:
    """Mark idle carts abandoned (each exactly once; see ``services.mark_abandoned_carts``)."""
    from amity.commerce.services import mark_abandoned_carts

    return mark_abandoned_carts()

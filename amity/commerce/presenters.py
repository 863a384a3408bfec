"""Timeline entries for commerce events (order.placed, order.refunded, cart.abandoned, cart.recovered and the
weekly product-view summary)."""

from __future__ import annotations

from typing import Any


def describe_commerce(event: Any, prefix: str, verb: str, payload: dict[str, Any]) -> Any:
    """The timeline ``Entry`` for one commerce event, or None for the generic rendering."""
    return None

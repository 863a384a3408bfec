"""The commerce card of the contact 360 page (``{% commerce_card %}``) and small display helpers."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()

ORDER_BADGES = {"placed": "badge-info", "paid": "badge-accent", "fulfilled": "badge-success",
                "refunded": "badge-warning", "cancelled": "badge-danger"}
CART_BADGES = {"open": "badge-info", "abandoned": "badge-warning", "recovered": "badge-success",
               "converted": "badge-success"}


@register.inclusion_tag("commerce/_card.html", takes_context=True)
def commerce_card(context: Any) -> dict[str, Any]:
    """The card for ``contact`` as seen by the request's user: three queries, whatever the customer's history."""
    from amity.commerce.views import card_context

    request = context["request"]
    return {**card_context(request.user, context["contact"]), "request": request,
            "csrf_token": context.get("csrf_token")}


@register.filter
def order_badge(status: str) -> str:
    return ORDER_BADGES.get(status, "")


@register.filter
def cart_badge(status: str) -> str:
    return CART_BADGES.get(status, "")


@register.filter
def web_url(value: str) -> str:
    """A store-supplied link or image address, only if it is http(s): never ``javascript:`` or ``data:``."""
    text = (value or "").strip()
    return text if text.lower().startswith(("https://", "http://")) else ""

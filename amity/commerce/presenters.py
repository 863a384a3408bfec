"""Timeline entries for commerce events (order.placed, order.refunded, order.updated, cart.abandoned,
cart.recovered, the weekly product-view summary product.viewed, visitor.identified)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .models import Channel, OrderStatus

CHANNELS = dict(Channel.choices)
STATUSES = dict(OrderStatus.choices)


def _money(amount: Any, currency: Any) -> str:
    return f"{currency or ''} {amount}".strip() if amount not in (None, "") else ""


def _items(payload: dict[str, Any], limit: int = 3) -> str:
    items = payload.get("items") or []
    names = []
    for item in items[:limit]:
        if not isinstance(item, dict):
            continue
        name = str(item.get("name") or item.get("sku") or "")
        quantity = str(item.get("quantity") or "1")
        if quantity.endswith(".00"):
            quantity = quantity[:-3]
        names.append(name if quantity in {"1", ""} else f"{quantity} × {name}")
    more = int(payload.get("item_count") or len(items)) - len(names)
    if more > 0:
        names.append(ngettext("%(n)s more", "%(n)s more", more) % {"n": more})
    return ", ".join(n for n in names if n)


def _join(*bits: str) -> str:
    return " · ".join(b for b in bits if b)


def _week_phrase(week: str) -> str:
    try:
        start = dt.date.fromisoformat(week)
    except (TypeError, ValueError):
        return ""
    today = timezone.localdate()
    this_week = today - dt.timedelta(days=today.weekday())
    if start == this_week:
        return _("this week")
    if start == this_week - dt.timedelta(days=7):
        return _("last week")
    return _("in the week of %(day)s") % {"day": start.isoformat()}


def describe_commerce(event: Any, prefix: str, verb: str, payload: dict[str, Any]) -> Any:
    """The timeline ``Entry`` for one commerce event, or None for the generic rendering."""
    from amity.timeline.presenters import Entry

    number = str(payload.get("number") or "")
    order_ref = _("Order %(number)s") % {"number": number} if number else _("Order")
    if prefix == "order":
        total = _money(payload.get("total"), payload.get("currency"))
        if verb == "placed":
            channel = str(CHANNELS.get(payload.get("channel", ""), "")) if payload.get("channel") != "online" else ""
            return Entry(event, "store", "created", _("%(order)s placed") % {"order": order_ref},
                         detail=_join(total, _items(payload), channel))
        if verb == "refunded":
            amount = _money(payload.get("amount"), payload.get("currency"))
            title = _("%(order)s refunded") % {"order": order_ref} if payload.get("full") else \
                _("%(order)s partly refunded") % {"order": order_ref}
            return Entry(event, "alert", "danger", title, detail=_join(amount, _("of %(total)s") % {"total": total}))
        if verb == "updated":
            status = (payload.get("changes") or {}).get("status")
            if isinstance(status, list) and len(status) == 2:
                label = str(STATUSES.get(status[1], status[1]))
                return Entry(event, "check" if status[1] in {"paid", "fulfilled"} else "edit", "change",
                             _("%(order)s: %(status)s") % {"order": order_ref, "status": label}, detail=total)
            return Entry(event, "edit", "change", _("%(order)s changed") % {"order": order_ref}, detail=total)
        return None
    if prefix == "cart":
        value = _money(payload.get("value"), payload.get("currency"))
        if verb == "abandoned":
            return Entry(event, "clock", "pref", _("Cart abandoned"), detail=_join(value, _items(payload)))
        if verb == "recovered":
            recovered = _money(payload.get("total"), payload.get("order_currency"))
            ref = _("by order %(number)s") % {"number": payload.get("number")} if payload.get("number") else ""
            return Entry(event, "check", "success", _("Cart recovered"), detail=_join(recovered, ref))
        return None
    if prefix == "product" and verb == "viewed":
        views = int(payload.get("views") or 0)
        product = str(payload.get("product") or payload.get("sku") or "")
        title = ngettext("Viewed %(product)s %(n)s time %(when)s", "Viewed %(product)s %(n)s times %(when)s", views) \
            % {"product": product, "n": views, "when": _week_phrase(str(payload.get("week") or ""))}
        return Entry(event, "store", "in_store", title.strip())
    return None

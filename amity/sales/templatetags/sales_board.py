"""The board's deal card, built in Python: a board renders up to 300 cards, and the template engine's (or even
``format_html``'s) per-card cost would dominate the page. Every value is escaped with ``html.escape``."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from html import escape
from typing import Any

from django import template
from django.template.defaultfilters import date as date_filter
from django.template.defaultfilters import floatformat
from django.utils import translation
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

register = template.Library()


@lru_cache(maxsize=16)
def _labels(language: str) -> dict[str, str]:
    """The card's fixed words in one language, translated and escaped once."""
    return {key: escape(gettext(text)) for key, text in {
        "overdue": "Expected close date has passed", "close": "Expected close date",
        "unassigned": "Unassigned", "move": "Move to…"}.items()}


@register.simple_tag
def deal_card(deal: Any, column: Any, today: dt.date, can_edit: bool, detail_prefix: str) -> SafeString:
    labels = _labels(translation.get_language() or "en")
    is_open = column.stage.kind == "open"
    close_date = deal.expected_close_date
    overdue = bool(is_open and close_date and close_date < today)
    name = escape(deal.name)
    company = f'<span class="deal-card-company">{escape(deal.company.name)}</span>' if deal.company_id else ""
    close = ""
    if close_date:
        title = labels["overdue"] if overdue else labels["close"]
        close = (f'<time class="deal-card-close" datetime="{close_date.isoformat()}" title="{title}">'
                 f'{escape(date_filter(close_date, "M j"))}</time>')
    if deal.owner_id:
        owner = deal.owner
        owner_html = (f'<span class="avatar avatar-sm deal-card-owner" title="{escape(str(owner))}">'
                      f'{escape((owner.full_name or owner.email)[:1])}</span>')
    else:
        owner_html = f'<span class="avatar avatar-sm deal-card-owner is-none" title="{labels["unassigned"]}">–</span>'
    move = (f'<button type="button" class="deal-card-move" data-move-open aria-haspopup="dialog">{labels["move"]}'
            f'<span class="sr-only"> ({name})</span></button>') if can_edit else ""
    overdue_class = " is-overdue" if overdue else ""
    draggable = ' draggable="true"' if can_edit else ""
    return mark_safe(  # noqa: S308 (every interpolated value above is escaped)
        f'<li class="deal-card{overdue_class}"{draggable} '
        f'data-deal="{deal.uuid}" data-name="{name}" data-stage="{column.stage.uuid}">'
        f'<a class="deal-card-name" href="{escape(detail_prefix)}{deal.uuid}/" draggable="false">{name}</a>{company}'
        f'<div class="deal-card-foot"><span class="deal-card-amount">{escape(deal.currency)} '
        f'{escape(str(floatformat(deal.amount, "-2g")))}</span>{close}{owner_html}</div>{move}</li>'
    )

"""The event log: emit events inside a service's transaction; the worker dispatches them afterwards.

A handler is registered per event type (``@handles("contact.created")``). Dispatch claims a batch of pending
events with a lease (``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL, an IMMEDIATE transaction on SQLite),
runs the handlers and marks each event done. A worker killed mid-batch leaves leases that expire, and the next
dispatch picks those events up again, so handlers must be idempotent.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from amity.core.models import Event, EventStatus

logger = logging.getLogger(__name__)

Handler = Callable[[Event], None]
_handlers: dict[str, list[Handler]] = defaultdict(list)
MAX_ATTEMPTS = 5


def handles(*event_types: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        for event_type in event_types:
            _handlers[event_type].append(fn)
        return fn

    return register


def emit(
    event_type: str,
    *,
    subject: Any,
    actor: Any = None,
    contact_id: int | None = None,
    company_id: int | None = None,
    deal_id: int | None = None,
    payload: dict[str, Any] | None = None,
    occurred_at: datetime | None = None,
) -> Event:
    """Write one event. Call inside the service's ``transaction.atomic()`` so it commits with the change."""
    return Event.objects.create(
        type=event_type,
        subject_type=subject._meta.model_name,
        subject_id=subject.pk,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        contact_id=contact_id,
        company_id=company_id,
        deal_id=deal_id,
        payload=payload or {},
        occurred_at=occurred_at or timezone.now(),
    )


def _claim(batch_size: int) -> list[Event]:
    now = timezone.now()
    lease = now + timedelta(seconds=settings.AMITY_EVENT_LEASE_SECONDS)
    claimable = Q(status=EventStatus.PENDING) & (Q(lease_until__isnull=True) | Q(lease_until__lt=now))
    with transaction.atomic():
        qs = Event.objects.filter(claimable).order_by("id")
        if connection.vendor == "postgresql":
            qs = qs.select_for_update(skip_locked=True)
        ids = list(qs.values_list("id", flat=True)[:batch_size])
        if not ids:
            return []
        # The lease is taken in the same transaction that found the rows, so two workers never share one.
        Event.objects.filter(id__in=ids).update(lease_until=lease)
    return list(Event.objects.filter(id__in=ids).order_by("id"))


def dispatch_pending(batch_size: int = 200) -> int:
    """Run handlers for one batch of pending events; return how many were processed."""
    events = _claim(batch_size)
    for event in events:
        try:
            with transaction.atomic():
                for handler in _handlers.get(event.type, []):
                    handler(event)
                Event.objects.filter(pk=event.pk).update(
                    status=EventStatus.DONE, processed_at=timezone.now(), lease_until=None
                )
        except Exception as exc:  # a failing handler must not stop the others; it is retried later
            logger.exception("event %s (%s) failed", event.pk, event.type)
            attempts = event.attempts + 1
            Event.objects.filter(pk=event.pk).update(
                attempts=attempts,
                last_error=f"{type(exc).__name__}: {exc}"[:2000],
                status=EventStatus.FAILED if attempts >= MAX_ATTEMPTS else EventStatus.PENDING,
                # back off: the retry waits for its lease, growing with each attempt
                lease_until=timezone.now() + timedelta(seconds=30 * attempts),
            )
    return len(events)

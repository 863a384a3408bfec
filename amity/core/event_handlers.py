"""Side effects of events, run by the worker after the writing transaction committed.

Handlers are idempotent: a redelivered event (after a worker crash) must not repeat its effect.
"""

from __future__ import annotations

from amity.core.events import handles
from amity.core.models import Event


@handles("note.created")
def email_mentioned_users(event: Event) -> None:
    from amity.timeline.services import send_mention_emails

    send_mention_emails(event)


@handles("meeting.logged")
def email_meeting_invitation(event: Event) -> None:
    from amity.timeline.services import send_meeting_invitation

    send_meeting_invitation(event)

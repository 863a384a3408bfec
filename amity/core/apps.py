from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "amity.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from amity.core import db, event_handlers  # noqa: F401  (the ``one_of`` lookup; the outbox handlers)

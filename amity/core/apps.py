from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "amity.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from amity.core import event_handlers  # noqa: F401  (registers the outbox handlers)

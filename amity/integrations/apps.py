from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "amity.integrations"
    label = "integrations"
    verbose_name = "Integrations"

    def ready(self) -> None:
        from amity.integrations import tasks  # noqa: F401  (registers the clean-up of uploaded import files)

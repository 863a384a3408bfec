from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "amity.integrations"
    label = "integrations"
    verbose_name = "Integrations"

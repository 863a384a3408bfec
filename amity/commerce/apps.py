from django.apps import AppConfig


class CommerceConfig(AppConfig):
    name = "amity.commerce"
    label = "commerce"
    verbose_name = "Commerce"

    def ready(self) -> None:
        from amity.commerce import tasks  # noqa: F401  (registers the periodic abandoned-cart sweep)

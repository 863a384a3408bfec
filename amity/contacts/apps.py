from django.apps import AppConfig


class ContactsConfig(AppConfig):
    name = "amity.contacts"
    label = "contacts"

    def ready(self) -> None:
        from . import dedupe  # noqa: F401  (registers the nightly duplicate scan with core.periodic)

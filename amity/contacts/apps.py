from django.apps import AppConfig


class ContactsConfig(AppConfig):
    name = "amity.contacts"
    label = "contacts"

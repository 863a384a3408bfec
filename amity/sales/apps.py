from django.apps import AppConfig


class SalesConfig(AppConfig):
    name = "amity.sales"
    label = "sales"

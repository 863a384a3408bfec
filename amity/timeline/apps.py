from django.apps import AppConfig


class TimelineConfig(AppConfig):
    name = "amity.timeline"
    label = "timeline"

from django.urls import path, register_converter

from . import views


class TargetConverter:
    """What a note, interaction or task is attached to."""

    regex = "contact|company|deal"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(TargetConverter, "target")


class QuickPanelConverter(TargetConverter):
    """One of the quick-action panels (``presenters.QUICK_PANELS``)."""

    regex = "note|call|meeting|email|task"


register_converter(QuickPanelConverter, "quickpanel")

app_name = "timeline"
urlpatterns = [
    path("my-day/", views.my_day, name="my_day"),
    path("mentions/suggest", views.mention_suggest, name="mention_suggest"),
    path("timeline/<target:target>/<uuid:uuid>/", views.timeline_partial, name="timeline_partial"),
    path("timeline/<target:target>/<uuid:uuid>/quick/<quickpanel:panel>/", views.quick_panel, name="quick_panel"),
    path("timeline/<target:target>/<uuid:uuid>/notes/", views.add_note, name="add_note"),
    path("timeline/<target:target>/<uuid:uuid>/interactions/", views.log_interaction, name="log_interaction"),
    path("timeline/<target:target>/<uuid:uuid>/tasks/", views.add_task, name="add_task"),
    path("tasks/<uuid:uuid>/done/", views.task_done, name="task_done"),
    path("tasks/<uuid:uuid>/edit/", views.task_edit, name="task_edit"),
    path("tasks/<uuid:uuid>/delete/", views.task_delete, name="task_delete"),
    path("interactions/<uuid:uuid>/delete/", views.delete_interaction, name="delete_interaction"),
    path("timeline/contact/<uuid:uuid>/preferences/", views.add_preference, name="add_preference"),
    path("preferences/<uuid:uuid>/archive/", views.archive_preference, name="archive_preference"),
]

from django.urls import path

from . import views

app_name = "sales"
urlpatterns = [
    path("deals/", views.deal_list, name="list"),
    path("deals/board/", views.board, name="board"),
    path("deals/board/<uuid:pipeline>/", views.board, name="board_pipeline"),
    path("deals/move/", views.move, name="move"),
    path("deals/new/", views.create, name="create"),
    path("deals/export.csv", views.export, name="export"),
    path("deals/<uuid:uuid>/", views.detail, name="detail"),
    # The same page under the name the timeline app links to (``timeline.services.deal_url``).
    path("deals/<uuid:uuid>/", views.detail, name="deal_detail"),
    path("deals/<uuid:uuid>/edit/", views.edit, name="edit"),
    path("deals/<uuid:uuid>/delete/", views.delete, name="delete"),
    path("deals/<uuid:uuid>/line-items/", views.line_items, name="line_items"),
    path("settings/pipelines/", views.pipelines, name="pipelines"),
    path("settings/pipelines/<uuid:uuid>/stages/", views.stage_add, name="stage_add"),
    path("settings/stages/<uuid:uuid>/", views.stage_update, name="stage_update"),
    path("settings/currencies/", views.rates, name="rates"),
]

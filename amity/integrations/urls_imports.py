from django.urls import path

from . import views_imports as views

app_name = "imports"

urlpatterns: list = [
    path("imports/", views.import_list, name="list"),
    path("imports/new/", views.import_new, name="new"),
    path("imports/<uuid:job_id>/", views.import_detail, name="detail"),
    path("imports/<uuid:job_id>/progress/", views.import_progress, name="progress"),
    path("imports/<uuid:job_id>/read-again/", views.import_read_again, name="read_again"),
    path("imports/<uuid:job_id>/mapping/", views.import_mapping, name="mapping"),
    path("imports/<uuid:job_id>/run/", views.import_run, name="run"),
    path("imports/<uuid:job_id>/undo/", views.import_undo, name="undo"),
    path("imports/<uuid:job_id>/rejected.csv", views.import_errors_csv, name="errors_csv"),
]

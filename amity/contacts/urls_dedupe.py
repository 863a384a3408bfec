from django.urls import path

from . import views_dedupe

app_name = "duplicates"

urlpatterns = [
    path("duplicates/", views_dedupe.queue, name="queue"),
    path("duplicates/scan/", views_dedupe.scan_now, name="scan"),
    path("duplicates/<uuid:uuid>/merge/", views_dedupe.pair_merge, name="pair_merge"),
    path("duplicates/<uuid:uuid>/dismiss/", views_dedupe.dismiss, name="dismiss"),
    path("contacts/<uuid:uuid>/merge/<uuid:other>/", views_dedupe.contact_merge, name="merge"),
]

from django.urls import path

from amity.api.api import api

from . import views_cards
from .api_cards import router as api_router

app_name = "cards"

# ``/api/contacts/{id}`` (the contacts router, mounted first) would claim ``/api/contacts/export.vcf`` and answer
# "id is not a UUID": this pattern comes earlier in the URLconf and hands the request to the same ninja operation
# (auth, problem JSON and OpenAPI stay ninja's). It can go once amity/api/api.py mounts this router before the
# contacts router.
_api_patterns = [
    path(f"api{route}", view.get_view())
    for bound in api._get_bound_routers() if bound.template is api_router
    for route, view in bound.path_operations.items() if "{" not in route and "export" in route
]

urlpatterns: list = [
    path("contacts/export.vcf", views_cards.export_contacts, name="export_contacts"),
    path("contacts/import/vcard/", views_cards.import_vcard, name="import_vcard"),
    path("contacts/import/vcard/run/", views_cards.import_vcard_run, name="import_vcard_run"),
    path("contacts/import/vcard/<str:key>/", views_cards.import_vcard_status, name="import_vcard_status"),
    path("contacts/<uuid:uuid>/vcard.vcf", views_cards.contact_vcard, name="contact_vcard"),
    path("calendar/export.ics", views_cards.calendar_export, name="calendar_export"),
    path("calendar/feed/<str:secret>.ics", views_cards.calendar_feed, name="calendar_feed"),
    path("settings/calendar/", views_cards.calendar_settings, name="calendar_settings"),
    *_api_patterns,
]

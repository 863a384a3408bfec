from django.urls import path

from . import views_cards

app_name = "cards"

urlpatterns: list = [
    path("contacts/export.vcf", views_cards.export_contacts, name="export_contacts"),
    path("contacts/import/vcard/", views_cards.import_vcard, name="import_vcard"),
    path("contacts/import/vcard/run/", views_cards.import_vcard_run, name="import_vcard_run"),
    path("contacts/import/vcard/<str:key>/", views_cards.import_vcard_status, name="import_vcard_status"),
    path("contacts/<uuid:uuid>/vcard.vcf", views_cards.contact_vcard, name="contact_vcard"),
    path("calendar/export.ics", views_cards.calendar_export, name="calendar_export"),
    path("calendar/feed/<str:secret>.ics", views_cards.calendar_feed, name="calendar_feed"),
    path("settings/calendar/", views_cards.calendar_settings, name="calendar_settings"),
]

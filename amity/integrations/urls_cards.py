from django.urls import path

from . import views_cards

app_name = "cards"

urlpatterns: list = [
    path("contacts/export.vcf", views_cards.export_contacts, name="export_contacts"),
    path("contacts/<uuid:uuid>/vcard.vcf", views_cards.contact_vcard, name="contact_vcard"),
]

from django.urls import path

from . import views_exports

app_name = "exports"

urlpatterns: list = [
    path("contacts/export.xlsx", views_exports.contacts_xlsx, name="contacts_xlsx"),
    path("companies/export.xlsx", views_exports.companies_xlsx, name="companies_xlsx"),
    path("deals/export.xlsx", views_exports.deals_xlsx, name="deals_xlsx"),
]

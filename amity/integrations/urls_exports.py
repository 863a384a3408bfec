from django.urls import path

from . import views_exports

app_name = "exports"

urlpatterns: list = [
    path("settings/workspace/", views_exports.workspace_page, name="workspace"),
    path("contacts/export.xlsx", views_exports.contacts_xlsx, name="contacts_xlsx"),
    path("companies/export.xlsx", views_exports.companies_xlsx, name="companies_xlsx"),
    path("deals/export.xlsx", views_exports.deals_xlsx, name="deals_xlsx"),
]

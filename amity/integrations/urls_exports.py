from django.urls import path

from amity.api.api import api

from . import views_exports
from .api_exports import router as api_router

app_name = "exports"

# The API's contacts, companies and deals routers are mounted before this app's and claim ``/api/contacts/{id}``,
# which would answer ``/api/contacts/export.csv`` with "id is not a UUID". These patterns come earlier in the
# URLconf and hand the request to the same ninja operations (auth, problem JSON, OpenAPI stay ninja's).
# They can go once amity/api/api.py mounts the exports router before the contacts and sales routers.
_api_patterns = [
    path(f"api{route}", view.get_view())
    for bound in api._get_bound_routers() if bound.template is api_router  # every router is mounted by now
    for route, view in bound.path_operations.items()
]

urlpatterns: list = [
    path("contacts/export.xlsx", views_exports.contacts_xlsx, name="contacts_xlsx"),
    path("companies/export.xlsx", views_exports.companies_xlsx, name="companies_xlsx"),
    path("deals/export.xlsx", views_exports.deals_xlsx, name="deals_xlsx"),
    *_api_patterns,
]
urlpatterns.insert(0, path("settings/workspace/", views_exports.workspace_page, name="workspace"))

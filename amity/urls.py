from django.urls import include, path

from amity.api.api import api

urlpatterns = [
    path("", include("amity.web.urls")),
    path("", include("amity.accounts.urls")),
    path("", include("amity.contacts.urls")),
    path("", include("amity.timeline.urls")),
    path("", include("amity.sales.urls")),
    path("", include("amity.sales.urls_quotes")),
    path("", include("amity.sales.urls_reports")),
    path("", include("amity.contacts.urls_dedupe")),
    path("", include("amity.commerce.urls")),
    path("", include("amity.commerce.urls_stores")),
    path("", include("amity.integrations.urls_imports")),
    path("", include("amity.integrations.urls_cards")),
    path("", include("amity.integrations.urls_exports")),
    path("api/", api.urls),
]

handler404 = "amity.web.views.not_found"
handler403 = "amity.web.views.forbidden"

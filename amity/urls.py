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
    path("api/", api.urls),
]

handler404 = "amity.web.views.not_found"
handler403 = "amity.web.views.forbidden"

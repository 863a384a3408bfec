from django.urls import path

from . import views_stores as views

app_name = "stores"

urlpatterns = [
    # Public: the snippet, its collect endpoint and the platforms' webhooks (no session, no CSRF).
    path("t/amity.js", views.snippet_js, name="snippet_js"),
    path("t/collect", views.collect, name="collect"),
    path("hooks/<uuid:uuid>/shopify", views.webhook, {"platform": "shopify"}, name="hook_shopify"),
    path("hooks/<uuid:uuid>/woocommerce", views.webhook, {"platform": "woocommerce"}, name="hook_woocommerce"),
    path("hooks/<uuid:uuid>/generic", views.webhook, {"platform": "generic"}, name="hook_generic"),
    # Admin settings.
    path("settings/stores/", views.store_list, name="list"),
    path("settings/stores/<uuid:uuid>/", views.store_detail, name="detail"),
    path("settings/stores/<uuid:uuid>/secret/", views.store_regenerate_secret, name="regenerate_secret"),
    path("settings/stores/<uuid:uuid>/active/", views.store_set_active, name="set_active"),
    # Try the snippet.
    path("demo-store/", views.demo_store, name="demo_store"),
]

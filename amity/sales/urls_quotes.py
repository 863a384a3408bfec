from django.urls import path

from . import views_quotes as views

app_name = "quotes"
urlpatterns = [
    path("products/", views.product_list, name="products"),
    path("products/new", views.product_create, name="product_create"),
    path("products/suggest", views.product_suggest, name="product_suggest"),
    path("products/<uuid:uuid>/edit", views.product_edit, name="product_edit"),
    path("products/<uuid:uuid>/active", views.product_active, name="product_active"),
    path("deals/<uuid:deal_uuid>/quotes/new", views.quote_create, name="create"),
    path("quotes/<uuid:uuid>/", views.quote_detail, name="detail"),
    path("quotes/<uuid:uuid>/pdf", views.quote_pdf, name="pdf"),
    path("quotes/<uuid:uuid>/send", views.quote_send, name="send"),
    path("quotes/<uuid:uuid>/decide", views.quote_decide, name="decide"),
    path("quotes/<uuid:uuid>/delete", views.quote_delete, name="delete"),
]

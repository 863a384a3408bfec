from django.urls import path

from . import views

app_name = "commerce"

urlpatterns = [
    path("commerce/orders/", views.order_list, name="orders"),
    path("commerce/orders/export/", views.order_export, name="orders_export"),
    path("commerce/orders/<uuid:uuid>/", views.order_detail, name="order"),
    path("commerce/orders/<uuid:uuid>/refund/", views.order_refund, name="order_refund"),
    path("commerce/carts/<uuid:uuid>/", views.cart_detail, name="cart"),
    path("commerce/recoverable/", views.recoverable, name="recoverable"),
    path("commerce/recoverable/export/", views.recoverable_export, name="recoverable_export"),
    path("commerce/contacts/<uuid:uuid>/purchase/", views.record_purchase, name="record_purchase"),
    path("commerce/products/search/", views.product_search, name="product_search"),
    path("commerce/settings/", views.commerce_settings, name="settings"),
]

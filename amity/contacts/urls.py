from django.urls import path

from . import views, views_detail

app_name = "contacts"
urlpatterns = [
    path("contacts/", views.contact_list, name="list"),
    path("contacts/new/", views.contact_create, name="create"),
    path("contacts/bulk/", views.contact_bulk, name="bulk"),
    path("contacts/export.csv", views.contact_export, name="export"),
    path("contacts/<uuid:uuid>/", views_detail.contact_detail, name="detail"),
    path("contacts/<uuid:uuid>/edit/", views.contact_edit, name="edit"),
    path("contacts/<uuid:uuid>/delete/", views.contact_delete, name="delete"),
    path("views/new/", views.saved_view_create, name="saved_view_create"),
    path("views/<uuid:uuid>/delete/", views.saved_view_delete, name="saved_view_delete"),
    path("companies/", views.company_list, name="company_list"),
    path("companies/new/", views.company_create, name="company_create"),
    path("companies/bulk/", views.company_bulk, name="company_bulk"),
    path("companies/export.csv", views.company_export, name="company_export"),
    path("companies/<uuid:uuid>/", views_detail.company_detail, name="company_detail"),
    path("companies/<uuid:uuid>/edit/", views.company_edit, name="company_edit"),
    path("companies/<uuid:uuid>/delete/", views.company_delete, name="company_delete"),
    path("settings/fields/", views.fields, name="fields"),
    path("settings/fields/new/", views.field_create, name="field_create"),
    path("settings/fields/<uuid:uuid>/edit/", views.field_edit, name="field_edit"),
    path("settings/fields/<uuid:uuid>/delete/", views.field_delete, name="field_delete"),
    path("tags/suggest", views.tag_suggest, name="tag_suggest"),
]

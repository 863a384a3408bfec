from django.urls import path

from . import views_reports

app_name = "reports"
urlpatterns = [
    path("reports/forecast/", views_reports.forecast, name="forecast"),
    path("reports/sales/", views_reports.performance, name="performance"),
    path("reports/stuck/", views_reports.stuck, name="stuck"),
]

"""The Reports pages (included at the site root by desk/urls.py)."""

from django.urls import path

from reports import views

urlpatterns = [
    path("reports/", views.reports_page, name="reports"),
    path("reports/bots.csv", views.bots_csv, name="reports-bots-csv"),
    path("reports/agents.csv", views.agents_csv, name="reports-agents-csv"),
]

"""The approvals pages (included at the site root by desk/urls.py)."""

from django.urls import path

from approvals import views

urlpatterns = [
    path("approvals/", views.approval_list, name="approvals"),
    path("approvals/history/", views.approval_history, name="approval-history"),
    path("approvals/<int:approval_id>/", views.approval_detail, name="approval"),
    path("approvals/<int:approval_id>/decide/", views.approval_decide, name="approval-decide"),
    path("settings/approvers/", views.approvers, name="approvers"),
    path("settings/approvers/<int:user_id>/", views.approver_set, name="approver-set"),
]

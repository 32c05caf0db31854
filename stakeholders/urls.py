from django.urls import path

from stakeholders import views

urlpatterns = [
    path(
        "engagements/<int:pk>/stakeholders/",
        views.engagement_stakeholders,
        name="engagement_stakeholders",
    ),
    path(
        "engagements/<int:pk>/stakeholders/add/",
        views.stakeholder_role_create,
        name="stakeholder_role_create",
    ),
    path("stakeholder-roles/<int:pk>/edit/", views.stakeholder_role_edit, name="stakeholder_role_edit"),
    path("stakeholder-roles/<int:pk>/row/", views.stakeholder_role_row, name="stakeholder_role_row"),
    path("stakeholder-roles/<int:pk>/remove/", views.stakeholder_role_remove, name="stakeholder_role_remove"),
    path("stakeholders/<int:pk>/", views.stakeholder_detail, name="stakeholder_detail"),
    path("stakeholders/<int:pk>/edit/", views.stakeholder_edit, name="stakeholder_edit"),
]

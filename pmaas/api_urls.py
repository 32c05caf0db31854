"""API v1: one router for every app's viewsets, the OpenAPI schema and its browsable docs.

Mounted under api/ with the namespace v1, which NamespaceVersioning reads as
the version; v2 would be a second namespace beside it.
"""

from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from communications import api as communications_api
from engagements import api as engagements_api
from notifications import api as notifications_api
from pmaas.api import Router
from sponsor_updates import api as sponsor_updates_api
from stakeholders import api as stakeholders_api

router = Router()
router.register("clients", engagements_api.ClientViewSet, basename="client")
router.register("engagements", engagements_api.EngagementViewSet, basename="engagement")
router.register("memberships", communications_api.TeamMembershipViewSet, basename="membership")
router.register("milestones", engagements_api.MilestoneViewSet, basename="milestone")
router.register("change-requests", engagements_api.ChangeRequestViewSet, basename="change-request")
router.register("stakeholders", stakeholders_api.StakeholderViewSet, basename="stakeholder")
router.register("stakeholder-roles", stakeholders_api.StakeholderRoleViewSet, basename="stakeholder-role")
router.register("channels", communications_api.ChannelViewSet, basename="channel")
router.register("check-ins", communications_api.CheckInViewSet, basename="check-in")
router.register("check-in-revisions", communications_api.CheckInRevisionViewSet, basename="check-in-revision")
router.register("follow-ups", communications_api.FollowUpViewSet, basename="follow-up")
router.register("follow-up-comments", communications_api.FollowUpCommentViewSet, basename="follow-up-comment")
router.register(
    "sponsor-subscriptions",
    communications_api.SponsorSubscriptionViewSet,
    basename="sponsor-subscription",
)
router.register("deliveries", sponsor_updates_api.SponsorUpdateDeliveryViewSet, basename="delivery")
router.register("raid-items", communications_api.RaidItemViewSet, basename="raid-item")
router.register("silence-flags", communications_api.SilenceFlagViewSet, basename="silence-flag")
router.register("compliance", communications_api.ComplianceViewSet, basename="compliance")
router.register("notifications", notifications_api.NotificationViewSet, basename="notification")
router.register(
    "notification-preferences",
    notifications_api.NotificationPreferenceViewSet,
    basename="notification-preference",
)

# Swagger UI and Redoc set styles at run time, and Redoc parses the schema in
# a worker it builds from a blob. Scripts stay our own files: the split view
# serves Swagger UI's start-up script from a URL, and the Redoc template in
# templates/drf_spectacular/ has no inline script.
docs_policy = csp_update({"style-src": [UNSAFE_INLINE], "worker-src": ["blob:"]})

v1 = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", docs_policy(SpectacularSwaggerSplitView.as_view(url_name="schema")), name="docs"),
    path("docs/redoc/", docs_policy(SpectacularRedocView.as_view(url_name="schema")), name="redoc"),
    *router.urls,
]

urlpatterns = [
    path("v1/", include((v1, "v1"), namespace="v1")),
]

"""Reads of engagements and what hangs off them, always through visible_to()."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    IntegerField,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Concat, NullIf, Trim

from accounts.models import User
from engagements.models import (
    ChangeRequest,
    ChangeRequestQuerySet,
    Client,
    Engagement,
    Membership,
    Milestone,
    MilestoneQuerySet,
)
from engagements.policy import Action, engagement_can, engagement_check_can
from pmaas.scoping import get_or_404


def client_list(*, user: Any) -> QuerySet[Client]:
    return Client.objects.visible_to(user).order_by("name")


def client_get_for_user(*, user: Any, id: int) -> Client:
    return get_or_404(client_list(user=user), id=id)


def engagement_list(*, user: Any) -> QuerySet[Engagement]:
    # The override's author is named in every engagement page's header.
    return (
        Engagement.objects.visible_to(user)
        .select_related("client", "health_override_by")
        .order_by("client__name", "name")
    )


def engagement_get_for_user(*, user: Any, id: int) -> Engagement:
    return get_or_404(engagement_list(user=user), id=id)


def engagement_can_edit(*, user: Any, engagement: Engagement) -> bool:
    return engagement_can(user=user, engagement=engagement, action=Action.EDIT_RECORDS)


def engagement_check_editable(*, user: Any, engagement: Engagement) -> None:
    """NotFound when the user may not see the engagement, NotAllowed when they may see but not change it."""
    engagement_check_can(user=user, engagement=engagement, action=Action.EDIT_RECORDS)


def engagement_is_member(*, engagement: Engagement, user: Any) -> bool:
    return Membership.objects.filter(engagement=engagement, user=user).exists()


def membership_list(*, user: Any) -> QuerySet[Membership]:
    return Membership.objects.visible_to(user).select_related("engagement", "user")


def membership_get_for_user(*, user: Any, id: int) -> Membership:
    return get_or_404(membership_list(user=user), id=id)


def milestone_list(*, user: Any) -> QuerySet[Milestone]:
    return Milestone.objects.visible_to(user).select_related("engagement")


def milestone_get_for_user(*, user: Any, id: int) -> Milestone:
    return get_or_404(milestone_list(user=user), id=id)


def change_request_list(*, user: Any) -> QuerySet[ChangeRequest]:
    return ChangeRequest.objects.visible_to(user).select_related("engagement", "requested_by", "decided_by")


def change_request_get_for_user(*, user: Any, id: int) -> ChangeRequest:
    return get_or_404(change_request_list(user=user), id=id)


def engagement_list_filtered(
    *, user: Any, status: str = "", client: Client | None = None
) -> QuerySet[Engagement]:
    """The engagements the user may see, narrowed by status and client when given."""
    engagements = engagement_list(user=user)
    if status:
        engagements = engagements.filter(status=status)
    if client is not None:
        engagements = engagements.filter(client=client)
    return engagements


def engagement_team(*, user: Any, engagement: Engagement) -> QuerySet[Membership]:
    """The engagement's team, leads first."""
    return (
        membership_list(user=user)
        .filter(engagement=engagement)
        .annotate(lead_first=Case(When(role=Membership.Role.LEAD, then=Value(0)), default=Value(1)))
        .order_by("lead_first", "user__last_name", "user__first_name", "user__username")
    )


def milestone_list_for_engagement(
    *, user: Any, engagement: Engagement, open_only: bool = False
) -> QuerySet[Milestone]:
    milestones = milestone_list(user=user).filter(engagement=engagement)
    if open_only:
        milestones = cast(MilestoneQuerySet, milestones).open()
    return milestones.order_by("due_on", "pk")


def change_request_list_for_engagement(
    *, user: Any, engagement: Engagement, undecided_only: bool = False
) -> QuerySet[ChangeRequest]:
    change_requests = change_request_list(user=user).filter(engagement=engagement)
    if undecided_only:
        change_requests = cast(ChangeRequestQuerySet, change_requests).undecided()
    return change_requests.order_by("-raised_on", "-pk")


def user_list(*, user: Any) -> QuerySet[User]:
    """Users a request body may name: everyone for those who see every engagement, else the teams they see."""
    if getattr(user, "sees_all_engagements", False):
        return User.objects.filter(is_active=True)
    return User.objects.filter(is_active=True, pk__in=membership_list(user=user).values("user_id"))


def user_role_label(*, user: Any) -> str:
    """The role as the user would name it: a consultant who leads an engagement is its "Engagement lead".

    One query, for consultants only; the other roles are their account's role.
    """
    leads = user.role == User.Role.CONSULTANT and Membership.objects.filter(user=user).leads().exists()
    return role_label(user=user, leads=leads)


def role_label(*, user: Any, leads: bool) -> str:
    """The role as the user would name it, knowing whether they lead an engagement; no query."""
    if user.role == User.Role.CONSULTANT and leads:
        return str(Membership.Role.LEAD.label)
    return str(user.get_role_display())


def user_leads_an_engagement() -> Exists:
    """Whether the outer user leads any engagement: what ``role_label`` needs, for a list of people."""
    return Exists(Membership.objects.leads().filter(user_id=OuterRef("pk")))


def firm_user_list(*, user: Any) -> QuerySet[User]:
    """Users of the firm a request body may name, e.g. as an engagement's lead."""
    return user_list(user=user).exclude(role=User.Role.CLIENT)


def team_candidate_list(*, user: Any) -> QuerySet[User]:
    """Users of the firm whom someone of the firm may name for an engagement's team; nobody for others."""
    if not (user is not None and user.is_authenticated and user.is_active and user.is_firm_member):
        return User.objects.none()
    return User.objects.filter(is_active=True).exclude(role=User.Role.CLIENT)


def health_override_last_day(engagement: Engagement) -> date | None:
    """The last day an override holds, in the client's time zone, as the lead chose it."""
    if engagement.health_override_until is None:
        return None
    zone = ZoneInfo(engagement.client.time_zone)
    return (engagement.health_override_until.astimezone(zone) - timedelta(days=1)).date()


# What the portfolio dashboards read of each engagement, as subqueries over an outer engagement
# query (its primary key), so one query holds every row whatever the portfolio's size.

RUNNING = (Engagement.Status.ACTIVE, Engagement.Status.ON_HOLD)


def engagement_lead_columns() -> dict[str, Subquery]:
    """The engagement's first lead (by membership): ``lead_id``, and ``lead_name`` as ``str(user)`` reads."""
    leads = Membership.objects.leads().filter(engagement_id=OuterRef("pk")).order_by("pk")
    full = Trim(Concat("user__first_name", Value(" "), "user__last_name", output_field=CharField()))
    name = Coalesce(NullIf(full, Value("")), "user__username", output_field=CharField())
    return {
        "lead_id": Subquery(leads.values("user_id")[:1]),
        "lead_name": Subquery(leads.annotate(full=name).values("full")[:1], output_field=CharField()),
    }


def engagement_next_milestone_columns() -> dict[str, Subquery]:
    """The earliest open milestone: ``next_milestone_name`` and ``next_milestone_due``."""
    milestones = Milestone.objects.open().filter(engagement_id=OuterRef("pk")).order_by("due_on", "pk")
    return {
        "next_milestone_name": Subquery(milestones.values("name")[:1]),
        "next_milestone_due": Subquery(milestones.values("due_on")[:1]),
    }


def engagement_undecided_changes() -> Coalesce:
    """How many of the engagement's change requests await a decision."""
    rows = (
        ChangeRequest.objects.undecided()
        .filter(engagement_id=OuterRef("pk"))
        .order_by()
        .values("engagement_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), Value(0))


def engagement_lead_choices(*, user: Any) -> QuerySet[User]:
    """The people who lead an engagement the user may see, by name: a dashboard's lead filter."""
    visible = Engagement.objects.visible_to(user).values("pk")
    return User.objects.filter(
        Exists(Membership.objects.leads().filter(user=OuterRef("pk"), engagement__in=visible))
    ).order_by("first_name", "last_name", "username", "pk")


def user_running_engagements() -> Coalesce:
    """How many running engagements (active or on hold) the outer user is on the team of."""
    rows = (
        Membership.objects.filter(user_id=OuterRef("pk"), engagement__status__in=RUNNING)
        .order_by()
        .values("user_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), Value(0))

"""The ORM scoping matrix: which of the world's objects each role sees and may change.

Every model of the project that hangs off an engagement (or a client) must have a
``visible_to`` and an entry in MATRIX; a new model without one fails
``test_every_model_that_hangs_off_an_engagement_is_in_the_matrix``.
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import models
from django.db.models import Q
from django.http import Http404

from accounts.models import CalendarFeed, User, UserSession
from communications import obligations as communication_obligations
from communications import scheduling as communication_scheduling
from communications import selectors as communication_selectors
from communications import silence as communication_silence
from communications.models import (
    Channel,
    CheckIn,
    CheckInDeletion,
    CheckInRevision,
    CommunicationObligation,
    ConsultantWeeklyRollup,
    Delivery,
    FollowUp,
    FollowUpComment,
    FollowUpOverdue,
    FollowUpRedate,
    Occurrence,
    RaidItem,
    RaidRiskReview,
    SilenceFlag,
    SponsorSubscription,
    WeeklyRollup,
)
from engagements import selectors as engagement_selectors
from engagements.models import (
    ChangeRequest,
    Client,
    Engagement,
    EngagementScopedQuerySet,
    Membership,
    Milestone,
)
from engagements.services import membership_add
from notifications.models import Notification, NotificationPreference, OutboxMessage
from pmaas.sharing import NOTHING, client_share
from stakeholders import selectors as stakeholder_selectors
from stakeholders.models import Stakeholder, StakeholderRole
from tests import factories
from tests.factories import Scope, World

SCOPES = ("mine", "sibling", "other")
ALL = frozenset(SCOPES)
NONE: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Entry:
    """How to find a model's object in one scope of the world, and a row's engagement(s)."""

    pick: Callable[[Scope], models.Model]
    engagement_lookup: str
    # Shared by all engagements of a client: visible with any one of them.
    by_client: bool = False


MATRIX: dict[type[models.Model], Entry] = {
    Client: Entry(lambda s: s.engagement.client, "engagements"),
    Engagement: Entry(lambda s: s.engagement, "pk"),
    Membership: Entry(lambda s: s.membership, "engagement"),
    Milestone: Entry(lambda s: s.milestone, "engagement"),
    ChangeRequest: Entry(lambda s: s.change_request, "engagement"),
    Stakeholder: Entry(lambda s: s.stakeholder, "client__engagements", by_client=True),
    StakeholderRole: Entry(lambda s: s.role, "engagement"),
    Channel: Entry(lambda s: s.channel, "engagement"),
    CheckIn: Entry(lambda s: s.check_in, "engagement"),
    FollowUp: Entry(lambda s: s.follow_up, "engagement"),
    FollowUpComment: Entry(lambda s: s.comment, "follow_up__engagement"),
    FollowUpOverdue: Entry(lambda s: _overdue_stamp(s.follow_up), "follow_up__engagement"),
    SponsorSubscription: Entry(lambda s: s.subscription, "engagement"),
    Delivery: Entry(lambda s: s.delivery, "subscription__engagement"),
    CommunicationObligation: Entry(lambda s: s.obligation, "engagement"),
    Occurrence: Entry(lambda s: s.occurrence, "channel__engagement"),
    SilenceFlag: Entry(lambda s: s.silence_flag, "engagement"),
    RaidItem: Entry(lambda s: s.raid_item, "engagement"),
    CheckInRevision: Entry(lambda s: _revision(s.check_in), "check_in__engagement"),
    CheckInDeletion: Entry(lambda s: _deletion(s.check_in), "engagement"),
    FollowUpRedate: Entry(lambda s: _redate(s.follow_up), "follow_up__engagement"),
    RaidRiskReview: Entry(lambda s: _review(s.raid_item), "item__engagement"),
    WeeklyRollup: Entry(lambda s: _rollup(s.engagement), "engagement"),
    ConsultantWeeklyRollup: Entry(lambda s: _consultant_rollup(s.engagement), "engagement"),
}


# The world holds no corrections; each is written, as its service would, the first time a test asks.
def _revision(check_in: CheckIn) -> CheckInRevision:
    revision, _ = CheckInRevision.objects.get_or_create(
        check_in=check_in,
        defaults={
            "occurred_at": check_in.occurred_at,
            "summary": check_in.summary,
            "edited_by": check_in.logged_by,
            "edited_at": check_in.occurred_at,
        },
    )
    return revision


def _deletion(check_in: CheckIn) -> CheckInDeletion:
    deletion, _ = CheckInDeletion.objects.get_or_create(
        engagement=check_in.engagement,
        check_in_number=check_in.pk + 1_000_000,
        defaults={
            "occurred_at": check_in.occurred_at,
            "kind": check_in.kind,
            "summary": check_in.summary,
            "logged_by": check_in.logged_by,
            "deleted_by": check_in.logged_by,
            "deleted_at": check_in.occurred_at,
            "reason": "Logged twice",
        },
    )
    return deletion


def _redate(follow_up: FollowUp) -> FollowUpRedate:
    redate, _ = FollowUpRedate.objects.get_or_create(
        follow_up=follow_up,
        defaults={
            "previous_due_at": follow_up.due_at,
            "due_at": follow_up.due_at,
            "redated_at": follow_up.due_at,
        },
    )
    return redate


def _review(risk: RaidItem) -> RaidRiskReview:
    review, _ = RaidRiskReview.objects.get_or_create(
        item=risk,
        defaults={
            "previous_likelihood": risk.likelihood,
            "previous_impact": risk.impact,
            "likelihood": risk.likelihood,
            "impact": risk.impact,
            "trend": "steady",
            "next_review_on": risk.review_on,
            "reviewed_at": risk.created_at,
        },
    )
    return review


def _rollup(engagement: Engagement) -> WeeklyRollup:
    """The week of the world's check-in, rolled up when it was logged."""
    return WeeklyRollup.objects.filter(engagement=engagement).earliest("week_start")


def _consultant_rollup(engagement: Engagement) -> ConsultantWeeklyRollup:
    """The week of the world's check-in for the one who logged it, rolled up when it was logged."""
    return ConsultantWeeklyRollup.objects.filter(engagement=engagement).earliest("week_start", "pk")


def _overdue_stamp(follow_up: FollowUp) -> FollowUpOverdue:
    """The world's follow-ups are not late; their stamp is made the first time a test asks."""
    stamp, _ = FollowUpOverdue.objects.get_or_create(
        follow_up=follow_up, defaults={"overdue_at": follow_up.due_at}
    )
    return stamp


# Models that reach a client but are not scoped rows, and why.
UNSCOPED = {
    User: "accounts are administered in the Django admin; who sees whom follows from the rows naming them",
}

# Models scoped to the user who owns the row rather than to an engagement, and where that is tested.
OWNED: dict[type[models.Model], str] = {
    CalendarFeed: "its owner's alone, administrators see all (tests/communications/test_calendar.py)",
    UserSession: "its user's alone, administrators' own too (tests/accounts/test_sessions.py)",
    OutboxMessage: "its recipient's alone, administrators see all (tests/notifications/test_outbox.py)",
    Notification: "its recipient's alone, administrators too (tests/notifications/test_notifications.py)",
    NotificationPreference: "its user's; administrators see all (tests/notifications/test_notifications.py)",
}

# Which scopes of the world each kind of user sees, and may change.
VISIBLE: dict[str, frozenset[str]] = {
    "administrator": ALL,
    "practice_lead": ALL,
    "superuser_with_consultant_role": ALL,
    "engagement_lead": frozenset({"mine"}),
    "consultant": frozenset({"mine"}),
    "consultant_on_the_other_teams": frozenset({"sibling", "other"}),
    "consultant_on_no_team": NONE,
    "client_pmo_lead": frozenset({"mine", "sibling"}),
    "inactive_administrator": NONE,
    "inactive_practice_lead": NONE,
    "inactive_consultant_on_my_team": NONE,
    "inactive_client_pmo_lead": NONE,
    "anonymous": NONE,
    "none": NONE,
}
EDITABLE: dict[str, frozenset[str]] = VISIBLE | {"client_pmo_lead": NONE}
CLIENT_KINDS = frozenset({"client_pmo_lead", "inactive_client_pmo_lead"})


def visible_scopes(model: type[models.Model], kind: str) -> frozenset[str]:
    """The scopes of the world a kind of user sees of one model.

    The world's rows of a model the client-visibility policy shares are all of
    the shared kind (a shared check-in, a comment marked shared); of a model it
    does not share, client users see none (pmaas/sharing.py).
    """
    if kind in CLIENT_KINDS and client_share(model._meta.label) is NOTHING:
        return NONE
    return VISIBLE[kind]


def scoped(model: type[models.Model]) -> Any:
    """The model's manager, with the scoping methods its QuerySet adds."""
    return model._default_manager


def actor(world: World, kind: str) -> Any:
    """The user of one kind, created where the world does not already hold one."""
    if kind in world.users():
        return world.users()[kind]
    if kind == "anonymous":
        return AnonymousUser()
    if kind == "none":
        return None
    if kind == "superuser_with_consultant_role":
        return factories.consultant(is_superuser=True)
    if kind == "consultant_on_the_other_teams":
        return world.outsider_consultant
    if kind == "consultant_on_no_team":
        return factories.consultant()
    if kind == "inactive_administrator":
        return factories.administrator(is_active=False)
    if kind == "inactive_practice_lead":
        return factories.practice_lead(is_active=False)
    if kind == "inactive_client_pmo_lead":
        return factories.client_user(world.client_a, is_active=False)
    if kind == "inactive_consultant_on_my_team":
        user = factories.consultant()
        membership_add(
            actor=world.administrator, engagement=world.mine.engagement, user=user, role="consultant"
        )
        User.objects.filter(pk=user.pk).update(is_active=False)
        user.refresh_from_db()
        return user
    raise AssertionError(f"no such kind of user: {kind}")


def labels(world: World, model: type[models.Model]) -> dict[Any, str]:
    """Each of the world's objects of a model by primary key, labelled with the scope(s) it comes from."""
    found: dict[Any, list[str]] = {}
    for scope_name in SCOPES:
        found.setdefault(MATRIX[model].pick(getattr(world, scope_name)).pk, []).append(scope_name)
    return {pk: "+".join(names) for pk, names in found.items()}


def expected_labels(world: World, model: type[models.Model], scopes: frozenset[str]) -> set[str]:
    if MATRIX[model].by_client:
        clients = {getattr(world, name).engagement.client_id for name in scopes}
        scopes = frozenset(name for name in SCOPES if getattr(world, name).engagement.client_id in clients)
    wanted = {MATRIX[model].pick(getattr(world, name)).pk for name in scopes}
    return {label for pk, label in labels(world, model).items() if pk in wanted}


def shown_labels(world: World, model: type[models.Model], queryset: models.QuerySet[Any]) -> set[str]:
    by_pk = labels(world, model)
    return {by_pk[pk] for pk in queryset.filter(pk__in=by_pk).values_list("pk", flat=True)}


# --- the matrix covers the project ---------------------------------------------------------------------


def _project_models() -> list[type[models.Model]]:
    base = Path(settings.BASE_DIR).resolve()
    return [
        model
        for model in apps.get_models()
        if Path(model._meta.app_config.path).resolve().is_relative_to(base)
        and ".venv" not in Path(model._meta.app_config.path).parts
    ]


def _reaches(
    model: type[models.Model], targets: set[type[models.Model]], seen: set[type[models.Model]]
) -> bool:
    """Whether a chain of forward relations leads from the model to one of the targets."""
    if model in targets:
        return True
    seen.add(model)
    for field in model._meta.get_fields():
        if not field.is_relation or field.auto_created or field.related_model is None:
            continue
        related = typing.cast(type[models.Model], field.related_model)
        if related not in seen and _reaches(related, targets, seen):
            return True
    return False


def _has_visible_to(model: type[models.Model]) -> bool:
    return callable(getattr(model._default_manager, "visible_to", None))


def test_every_model_that_hangs_off_an_engagement_is_in_the_matrix() -> None:
    # Given every model of the project's own apps
    project = _project_models()
    hanging_off = {model for model in project if _reaches(model, {Engagement, Client}, set())}

    # When those that reach an engagement or a client are compared with the scoped ones
    missing_visible_to = {m.__name__ for m in hanging_off - set(UNSCOPED) if not _has_visible_to(m)}
    with_visible_to = {model for model in project if _has_visible_to(model)}

    # Then each has a visible_to, each visible_to has a matrix entry, and the exemptions still hold
    assert missing_visible_to == set()
    assert {m.__name__ for m in with_visible_to} == {m.__name__ for m in MATRIX} | {m.__name__ for m in OWNED}
    assert set(UNSCOPED) <= set(project) and not any(_has_visible_to(m) for m in UNSCOPED)
    assert {m.__name__ for m in hanging_off} >= {m.__name__ for m in MATRIX}


def test_every_engagement_scoped_queryset_has_editable_by() -> None:
    # Given the scoped models
    # When their QuerySets are inspected
    scoped_querysets = {
        model.__name__
        for model in MATRIX
        if isinstance(model._default_manager.get_queryset(), EngagementScopedQuerySet)
    }
    editable = {model.__name__ for model in MATRIX if hasattr(model._default_manager, "editable_by")}

    # Then every model below Engagement (bar Stakeholder, shared across a client's engagements)
    # shares the engagement's scope, and with Engagement has editable_by
    assert scoped_querysets == {m.__name__ for m in MATRIX} - {"Client", "Engagement", "Stakeholder"}
    assert editable == scoped_querysets | {"Engagement"}


# --- visible_to ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(VISIBLE))
def test_visible_to_shows_each_kind_of_user_exactly_their_scope(world: World, kind: str) -> None:
    # Given a user of one kind
    user = actor(world, kind)

    # When every scoped model is asked what the user may see of the world
    shown = {model.__name__: shown_labels(world, model, scoped(model).visible_to(user)) for model in MATRIX}

    # Then each shows exactly the objects of the scopes that kind of user may see
    expected = {
        model.__name__: expected_labels(world, model, visible_scopes(model, kind)) for model in MATRIX
    }
    assert shown == expected


@pytest.mark.parametrize("kind", list(VISIBLE))
def test_visible_to_shows_nothing_beyond_the_rows_of_visible_engagements(world: World, kind: str) -> None:
    # Given a user of one kind, and every row of every scoped model (not only the world's samples)
    user = actor(world, kind)
    engagements = Engagement.objects.filter(
        code__in=[getattr(world, name).engagement.code for name in VISIBLE[kind]]
    )

    # When each model is asked what the user may see
    shown = {
        model.__name__: set(scoped(model).visible_to(user).values_list("pk", flat=True)) for model in MATRIX
    }

    # Then it is every row tied to an engagement they may see, and no other
    everything = VISIBLE[kind] == ALL
    expected = {
        model.__name__: set(
            (
                model._default_manager.all()
                if everything
                else model._default_manager.filter(**{f"{MATRIX[model].engagement_lookup}__in": engagements})
            )
            .filter(client_share(model._meta.label).rows if kind in CLIENT_KINDS else Q())
            .values_list("pk", flat=True)
        )
        if visible_scopes(model, kind)
        else set()
        for model in MATRIX
    }
    assert shown == expected


# --- editable_by --------------------------------------------------------------------------------------


def _editable_models() -> list[type[models.Model]]:
    return [model for model in MATRIX if hasattr(model._default_manager, "editable_by")]


@pytest.mark.parametrize("kind", list(EDITABLE))
def test_editable_by_lets_each_kind_of_user_change_exactly_their_scope(world: World, kind: str) -> None:
    # Given a user of one kind
    user = actor(world, kind)

    # When every model with editable_by is asked what the user may change of the world
    changeable = {
        model.__name__: shown_labels(world, model, scoped(model).editable_by(user))
        for model in _editable_models()
    }

    # Then administrators and practice leads change everything, team members their engagements,
    # client users, inactive and anonymous users nothing
    expected = {model.__name__: expected_labels(world, model, EDITABLE[kind]) for model in _editable_models()}
    assert changeable == expected


# --- <entity>_get_for_user ------------------------------------------------------------------------------


def _getters() -> dict[str, tuple[Callable[..., models.Model], type[models.Model]]]:
    found: dict[str, tuple[Callable[..., models.Model], type[models.Model]]] = {}
    for module in (
        engagement_selectors,
        stakeholder_selectors,
        communication_selectors,
        communication_obligations,
        communication_scheduling,
        communication_silence,
    ):
        for name in dir(module):
            getter = getattr(module, name)
            if name.endswith("_get_for_user") and getter.__module__ == module.__name__:
                found[name] = (getter, typing.get_type_hints(getter)["return"])
    return found


def test_every_scoped_model_has_exactly_one_get_for_user() -> None:
    # Given the selectors of every app
    # When their <entity>_get_for_user functions are listed by the model they return
    returned = [model.__name__ for _, model in _getters().values()]

    # Then each scoped model has one door, and every door leads to a scoped model
    assert sorted(returned) == sorted(model.__name__ for model in MATRIX)


@pytest.mark.parametrize(
    "kind", ["administrator", "engagement_lead", "consultant", "client_pmo_lead", "anonymous"]
)
def test_get_for_user_returns_what_is_in_scope_and_404s_everything_else(world: World, kind: str) -> None:
    # Given a user of one kind
    user = actor(world, kind)

    # When each getter is asked for the object of each scope
    outcome: dict[str, set[str]] = {}
    for name, (getter, model) in _getters().items():
        found = set()
        for scope_name in SCOPES:
            wanted = MATRIX[model].pick(getattr(world, scope_name))
            try:
                got = getter(user=user, id=wanted.pk)
            except Http404:
                continue
            assert got == wanted
            found.add(scope_name)
        outcome[name] = found

    # Then it returns the objects in scope and answers 404 for the rest (clients and people: by client)
    expected = {
        name: {
            scope_name
            for scope_name in SCOPES
            if MATRIX[model].pick(getattr(world, scope_name)).pk
            in {MATRIX[model].pick(getattr(world, s)).pk for s in visible_scopes(model, kind)}
            or (
                MATRIX[model].by_client
                and getattr(world, scope_name).engagement.client_id
                in {getattr(world, s).engagement.client_id for s in visible_scopes(model, kind)}
            )
        }
        for name, (_, model) in _getters().items()
    }
    assert outcome == expected


GARBAGE_IDS: list[Any] = ["abc", "", "1; DROP TABLE x", None, -1, 0, 2**62, {"id": 1}]


@pytest.mark.parametrize("garbage", GARBAGE_IDS, ids=[repr(g) for g in GARBAGE_IDS])
def test_get_for_user_answers_404_for_ids_that_are_no_row(world: World, garbage: Any) -> None:
    # Given an administrator, who sees everything
    # When every getter is asked for an id that names no row
    # Then each answers 404 rather than failing
    for getter, _ in _getters().values():
        with pytest.raises(Http404):
            getter(user=world.administrator, id=garbage)

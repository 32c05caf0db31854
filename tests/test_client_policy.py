"""The client-visibility policy matrix: what a client user may read, proven field by field.

Every free-text field the policy (pmaas/sharing.py) does not share, and every
field of a row it does not share, is filled with a unique marker; then every
page and API endpoint a client user can reach (read from the URL resolver
through the route matrix) is fetched as that user and searched for the
markers. A text field added to any model later is internal until the policy
shares it, and this test fails the day a page shows it. Fields that are not
text (levels, scores, sentiment, budget) are given values whose rendering is
known and searched for the same way.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.apps import apps
from django.db import models
from django.urls import reverse
from django.utils import timezone

from communications import services as communication_services
from communications.models import CheckIn, FollowUp, Sentiment, SilenceFlag
from engagements.models import Engagement, Health
from pmaas.api import SharedModelSerializer
from pmaas.sharing import CLIENT_POLICY, client_share
from stakeholders.models import Level, StakeholderRole
from tests import factories
from tests.factories import World
from tests.route_kinds import ListRoute, LoggedIn, ObjectRoute
from tests.test_route_matrix import ROUTES, _object, _visible

MARK = "Zqx"
# Apps whose rows hold the firm's view of a client; accounts and the outbox are scoped by user instead.
POLICY_APPS = ("engagements", "stakeholders", "communications", "notifications")
# Free text that code parses, or that must stay unique and well-formed for pages to render at all.
PARSED = {"rrule", "idempotency_key", "token_hash", "url", "key"}
# How internal values that are not text show on a page; none may appear to a client user.
INTERNAL_RENDERINGS = (
    Level.RESISTANT.label,  # the current engagement level given below
    Sentiment.VERY_NEGATIVE.label,  # the sentiment of every check-in below
    "Influence",
    "Interest",
    "Sentiment",
    "9,876,543",  # the budget
    "9876543",
    ">Red<",  # the overridden and the computed health, not shared with the client below
    ">Amber<",
)


def _free_text(field: models.Field[Any, Any]) -> bool:
    if not isinstance(field, models.CharField | models.TextField) or field.choices:
        return False
    if field.name in PARSED or field.primary_key:
        return False
    # Validated text (time zones, country and currency codes, emails) is data, not prose.
    return not [v for v in field.validators if not v.__class__.__name__.startswith("MaxLength")]


def _internal_text_fields() -> list[tuple[type[models.Model], models.Field[Any, Any]]]:
    found = []
    for app in POLICY_APPS:
        for model in apps.get_app_config(app).get_models():
            for field in model._meta.concrete_fields:
                if _free_text(field):
                    found.append((model, field))
    return found


def _mark(world: World) -> dict[str, str]:
    """Fill internal text with markers; return marker → what it stands for."""
    markers: dict[str, str] = {}
    for model, field in _internal_text_fields():
        share = client_share(model._meta.label)
        shared_rows = set(model._default_manager.filter(share.rows).values_list("pk", flat=True))
        for pk in model._default_manager.values_list("pk", flat=True):
            if pk in shared_rows and field.name in share.fields:
                continue
            marker = f"{MARK}{len(markers):04d}"
            if field.max_length is not None:
                assert len(marker) <= field.max_length, (model, field.name)
            model._default_manager.filter(pk=pk).update(**{field.name: marker})
            markers[marker] = f"{model._meta.label}.{field.name} of row {pk}"
    return markers


@pytest.fixture
def client_world(world: World) -> tuple[World, dict[str, str]]:
    """The scoping world, with one of each thing a client must not see, and the markers it holds."""
    mine = world.mine
    # An internal meeting, with candid notes; and a tense one the team shared.
    factories.make_check_in(
        engagement=mine.engagement,
        attendees=[mine.stakeholder],
        summary="Sent a delegate who could not decide; escalation needed.",
        decisions="Escalate to the board.",
    )
    # A shared meeting that left a team item behind, which stays internal.
    factories.make_check_in(
        engagement=mine.engagement,
        attendees=[mine.stakeholder],
        shared_with_client=True,
        follow_ups=[
            communication_services.FollowUpSpec(
                title="Brief the board privately",
                due_at=timezone.now() + dt.timedelta(days=2),
                owner_user=world.lead,
            )
        ],
    )
    CheckIn.objects.update(sentiment=Sentiment.VERY_NEGATIVE)
    # A team item, a shared team item, and a silence item wrongly marked shared.
    factories.make_follow_up(
        engagement=mine.engagement, owner_user=world.lead, title="Work on the CMO's mood"
    )
    silence_item = factories.make_follow_up(
        engagement=mine.engagement, owner_user=world.lead, title="Get back in touch with the sponsor"
    )
    FollowUp.objects.filter(pk=silence_item.pk).update(shared_with_client=True)
    SilenceFlag.objects.filter(pk=mine.silence_flag.pk).update(follow_up=silence_item)
    communication_services.follow_up_comment_add(
        actor=world.lead, follow_up=mine.follow_up, body="She will stall this, chase her boss."
    )
    factories.make_notification(recipient=world.client_user, engagement=mine.engagement)
    StakeholderRole.objects.update(
        current_level=Level.RESISTANT, desired_level=Level.LEADING, influence=5, interest=1
    )
    Engagement.objects.update(
        budget=9_876_543,
        health=Health.AMBER,
        health_override=Health.RED,
        health_override_reason="The sponsor is disengaged.",
        health_override_at=timezone.now(),
        health_override_until=timezone.now() + dt.timedelta(days=30),
        health_shared_with_client=False,
    )
    return world, _mark(world)


# The API's description of itself names every field of every shape, and holds no data.
API_DOCUMENTATION = {"v1:schema", "v1:docs", "v1:redoc"}


def _client_reachable_gets() -> list[str]:
    names = []
    for name, entry in ROUTES.items():
        if name in API_DOCUMENTATION:
            continue
        reads = isinstance(entry, ObjectRoute) and entry.method == "get"
        if reads or isinstance(entry, LoggedIn | ListRoute):
            names.append(name)
    return sorted(names)


def _leaks(body: str, markers: dict[str, str]) -> list[str]:
    found = [markers[m] for m in markers if m in body]
    found += [f"rendering {text!r}" for text in INTERNAL_RENDERINGS if text in body]
    return found


@pytest.mark.parametrize("name", _client_reachable_gets())
def test_a_client_user_sees_nothing_internal_on_any_page_or_endpoint(client, client_world, name):
    world, markers = client_world
    assert markers, "the world holds internal text to look for"
    entry = ROUTES[name]
    client.force_login(world.client_user)
    for scope_name in ("mine", "sibling"):
        # Given a page or endpoint a client user reaches
        if isinstance(entry, ObjectRoute):
            target = _object(world, scope_name, entry.attr)
            if not _visible("client_pmo_lead", scope_name, entry.attr, target, entry.section):
                continue
            url = reverse(name, kwargs=entry.url_kwargs(target))
        else:
            url = reverse(name)
        # When the client user reads it (searching for the markers where the page searches)
        response = client.get(url, {"q": MARK, "page_size": 200, "by": "owner"})
        if response.status_code == 404:
            continue
        # A refusal (403) or a redirect to the full page shows nothing either, and is searched all the same.
        assert response.status_code in (200, 302, 403), (url, response.status_code)
        body = response.content.decode()

        # Then nothing the policy keeps internal is in it
        assert _leaks(body, markers) == [], url


def _model_serializers() -> list[Any]:
    from rest_framework import serializers

    import communications.serializers
    import engagements.serializers
    import notifications.serializers
    import stakeholders.serializers

    modules = [
        communications.serializers,
        engagements.serializers,
        notifications.serializers,
        stakeholders.serializers,
    ]
    return [
        value
        for module in modules
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, serializers.ModelSerializer)
        and value.__module__ == module.__name__
    ]


@pytest.mark.parametrize("serializer", _model_serializers(), ids=lambda s: s.__name__)
def test_every_model_serializer_applies_the_policy(serializer):
    # A serializer outside the policy's base class would show a client every field it declares.
    assert issubclass(serializer, SharedModelSerializer)


def _fields_of(payload: Any) -> list[dict[str, Any]]:
    if isinstance(payload, dict) and "results" in payload:
        return list(payload["results"])
    return [payload] if isinstance(payload, dict) else []


@pytest.mark.parametrize("name", sorted(n for n, e in ROUTES.items() if isinstance(e, ListRoute)))
def test_api_rows_carry_only_fields_the_policy_shares(client, client_world, name):
    world, _ = client_world
    client.force_login(world.client_user)
    # Given the client user lists a kind of object
    response = client.get(reverse(name), {"page_size": 200})
    assert response.status_code == 200
    rows = _fields_of(response.json())
    model = type(_object(world, "mine", ROUTES[name].attr))  # type: ignore[union-attr]
    share = client_share(model._meta.label)

    # Then each row holds only fields the policy names for that model
    for row in rows:
        assert set(row) <= share.fields | {"*"} or "*" in share.fields, (name, set(row) - share.fields)


def test_a_shared_check_in_shows_its_summary_but_never_its_sentiment(client, world):
    # Given a check-in the team shared, after a tense meeting
    check_in = factories.make_check_in(
        engagement=world.mine.engagement,
        attendees=[world.mine.stakeholder],
        summary="Agreed the cut-over weekend.",
        decisions="Go-live moves to a Sunday.",
        sentiment=Sentiment.VERY_NEGATIVE,
        shared_with_client=True,
    )
    client.force_login(world.client_user)

    # When the client user reads it in the API and on the timeline
    api = client.get(reverse("v1:check-in-detail", kwargs={"pk": check_in.pk})).json()
    page = client.get(
        reverse("engagement_timeline", kwargs={"pk": world.mine.engagement.pk})
    ).content.decode()

    # Then the summary and decisions are there and the sentiment is not
    assert (
        api["summary"] == "Agreed the cut-over weekend." and api["decisions"] == "Go-live moves to a Sunday."
    )
    assert "sentiment" not in api and "sentiment_display" not in api
    assert "Agreed the cut-over weekend." in page and "Go-live moves to a Sunday." in page
    assert Sentiment.VERY_NEGATIVE.label not in page


def test_an_unshared_check_in_is_not_found_by_a_client_user(client, world):
    check_in = factories.make_check_in(
        engagement=world.mine.engagement, attendees=[world.mine.stakeholder], summary="Internal debrief."
    )
    client.force_login(world.client_user)
    assert client.get(reverse("v1:check-in-detail", kwargs={"pk": check_in.pk})).status_code == 404
    client.force_login(world.lead)
    assert client.get(reverse("v1:check-in-detail", kwargs={"pk": check_in.pk})).status_code == 200


def test_a_client_sees_what_her_people_owe_and_shared_team_items_only(client, world):
    # Given an item her colleague owes, a shared team item and an internal team item
    engagement = world.mine.engagement
    shared = factories.make_follow_up(
        engagement=engagement, owner_user=world.lead, title="Send the cut-over plan", shared_with_client=True
    )
    internal = factories.make_follow_up(engagement=engagement, owner_user=world.lead, title="Prep the CMO")
    client.force_login(world.client_user)

    # When she lists follow-ups
    listed = {
        row["id"] for row in client.get(reverse("v1:follow-up-list"), {"page_size": 200}).json()["results"]
    }
    page = client.get(reverse("engagement_follow_ups", kwargs={"pk": engagement.pk})).content.decode()

    # Then hers and the shared one are there, the internal one is not
    assert {world.mine.follow_up.pk, shared.pk} <= listed and internal.pk not in listed
    assert "Send the cut-over plan" in page and "Prep the CMO" not in page


def test_a_client_users_own_comment_is_shared_and_a_team_comment_is_internal_by_default(world):
    follow_up = world.mine.follow_up
    hers = communication_services.follow_up_comment_add(
        actor=world.client_user, follow_up=follow_up, body="Done Fri"
    )
    ours = communication_services.follow_up_comment_add(
        actor=world.lead, follow_up=follow_up, body="Chase her"
    )
    assert hers.shared_with_client and not ours.shared_with_client


def test_health_shows_to_a_client_only_where_shared_and_never_the_reason(client, world):
    engagement = world.mine.engagement
    Engagement.objects.filter(pk=engagement.pk).update(
        health_override=Health.RED,
        health_override_reason="Sponsor disengaged",
        health_override_at=timezone.now(),
        health_override_until=timezone.now() + dt.timedelta(days=30),
    )
    client.force_login(world.client_user)
    url = reverse("v1:engagement-detail", kwargs={"pk": engagement.pk})
    page_url = reverse("engagement_detail", kwargs={"pk": engagement.pk})

    # Given the firm has not shared it, then neither the API nor the page shows a health
    assert "effective_health" not in client.get(url).json()
    assert "rag-red" not in client.get(page_url).content.decode()

    # Given the lead shares it, then the colour shows, the reason and the computed health do not
    client.force_login(world.lead)
    response = client.post(
        reverse("engagement_health", kwargs={"pk": engagement.pk}),
        {
            "health": Health.RED,
            "reason": "Sponsor disengaged",
            "until": (timezone.localdate() + dt.timedelta(days=7)).isoformat(),
            "shared_with_client": "on",
            "seen_updated_at": Engagement.objects.get(pk=engagement.pk).updated_at.isoformat(),
        },
    )
    assert response.status_code == 302
    client.force_login(world.client_user)
    data = client.get(url).json()
    page = client.get(page_url).content.decode()
    assert data["effective_health"] == Health.RED
    assert not {
        "health",
        "health_override",
        "health_override_reason",
        "health_override_until",
        "health_is_overridden",
        "health_factors",
        "health_computed_at",
    } & set(data)
    assert "rag-red" in page and "Sponsor disengaged" not in page


def test_the_policy_names_only_fields_that_exist():
    # A typo in the policy would hide a field it meant to share: every name is a field or a derived name.
    serializer_fields = {
        serializer.Meta.model._meta.label: set(serializer().get_fields())
        for serializer in _model_serializers()
    }
    for label, share in CLIENT_POLICY.items():
        model = apps.get_model(label)
        known = {field.name for field in model._meta.get_fields()} | serializer_fields.get(label, set())
        assert share.fields - known - {"*"} == set(), label


def test_the_world_sentinels_reach_every_kind_of_internal_text(client_world):
    _, markers = client_world
    kinds = {value.split(" of row")[0] for value in markers.values()}
    # The candid notes, summaries and reasons a client must never read are among them.
    assert {
        "stakeholders.Stakeholder.notes",
        "stakeholders.StakeholderRole.notes",
        "communications.CheckIn.summary",
        "communications.FollowUp.title",
        "communications.FollowUpComment.body",
        "engagements.Engagement.health_override_reason",
    } <= kinds

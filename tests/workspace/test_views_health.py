"""Health on the pages: the colour, computed or overridden, and why; a client sees none of the why."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from time_machine import TimeMachineFixture

from communications.health import engagement_health_refresh
from communications.models import FollowUp
from engagements import services
from engagements.models import Engagement, Health
from tests import factories
from tests.factories import World
from tests.silence_fixtures import SWEPT, silent_sponsor

SET = dt.datetime(2026, 3, 3, 10, 0, tzinfo=dt.UTC)


def _overdue(world: World, count: int, *, as_of: dt.datetime) -> Engagement:
    """A new engagement of client A (the lead's, the consultant on its team) with nothing wrong but
    ``count`` team follow-ups a few days overdue at ``as_of``; its health recomputed."""
    engagement = factories.make_engagement(
        client=world.client_a, lead=world.lead, members=(world.consultant,), code="HEALTH-A"
    )
    for _ in range(count):
        factories.make_follow_up(engagement=engagement, owner_user=world.lead)
    FollowUp.objects.filter(engagement=engagement).update(due_at=as_of - dt.timedelta(days=2))
    engagement_health_refresh(engagement_ids=[engagement.pk], as_of=as_of)
    engagement.refresh_from_db()
    return engagement


def test_the_header_shows_the_computed_colour_and_each_factor_linking_to_its_evidence(client, world):
    # Given an engagement amber for three overdue follow-ups
    engagement = _overdue(world, 3, as_of=dt.datetime.now(dt.UTC))
    client.force_login(world.consultant)

    # When a team member opens any engagement page
    body = client.get(reverse("engagement_timeline", args=[engagement.pk])).content.decode()

    # Then the header reads amber, computed, and names the factor with a link to the overdue items
    assert engagement.health == Health.AMBER
    header = body.split('id="header-health"')[1].split("</div>")[0]
    assert "rag-amber" in header
    assert "computed" in header
    evidence = reverse("engagement_follow_ups", args=[engagement.pk]) + "#follow-ups-overdue"
    assert f'<a href="{evidence}">Overdue follow-ups</a>: 3 follow-ups overdue' in header


def test_the_header_says_who_overrode_until_when_and_why(client, world, time_machine: TimeMachineFixture):
    # Given the lead overrode the health to red until 10 March
    time_machine.move_to(SET, tick=False)
    engagement = world.mine.engagement
    services.engagement_override_health(
        actor=world.lead,
        engagement=engagement,
        health="red",
        reason="Go-live slipped",
        until=dt.date(2026, 3, 10),
    )
    client.force_login(world.consultant)

    # When the overview is read
    body = client.get(reverse("engagement_detail", args=[engagement.pk])).content.decode()

    # Then the header says so, with the author, the last day and the reason
    header = body.split('id="header-health"')[1].split("</div>")[0]
    assert "rag-red" in header
    assert f"overridden until 10 Mar 2026 by {world.lead}: Go-live slipped" in header


def test_an_expired_override_gives_way_to_the_computed_health(
    client, world, time_machine: TimeMachineFixture
):
    # Given an override to red that holds until 5 March
    time_machine.move_to(SET, tick=False)
    engagement = world.mine.engagement
    services.engagement_override_health(
        actor=world.lead,
        engagement=engagement,
        health="red",
        reason="Go-live slipped",
        until=dt.date(2026, 3, 5),
    )
    engagement.refresh_from_db()
    overridden_on_the_last_day = (engagement.effective_health, engagement.health_is_overridden)

    # When the day after its last day comes (in the client's time zone)
    time_machine.move_to(dt.datetime(2026, 3, 5, 23, 30, tzinfo=dt.UTC), tick=False)
    engagement.refresh_from_db()
    client.force_login(world.lead)
    body = client.get(reverse("engagement_detail", args=[engagement.pk])).content.decode()

    # Then the computed health is the one shown again, and the page says the override lapsed
    assert overridden_on_the_last_day == (Health.RED, True)
    assert (engagement.effective_health, engagement.health_is_overridden) == (engagement.health, False)
    assert "rag-red" not in body.split('id="header-health"')[1].split("</div>")[0]
    assert "lapsed" in body


@pytest.mark.parametrize(
    ("until", "message"),
    [(None, "Say until when"), (-1, "today or a later day"), (91, "at most 90 days")],
    ids=["none", "past", "too far"],
)
def test_an_override_needs_an_expiry_from_today_to_ninety_days(world, until, message):
    # Given the lead choosing an override's last day
    engagement = world.mine.engagement
    today = timezone.localdate(timezone.now(), ZoneInfo(engagement.client.time_zone))
    last_day = None if until is None else today + dt.timedelta(days=until)

    # When the last day is missing, past or too far ahead, then it is refused under that field
    with pytest.raises(ValidationError) as refused:
        services.engagement_override_health(
            actor=world.lead, engagement=engagement, health="amber", reason="Sponsor away", until=last_day
        )
    assert message in " ".join(refused.value.message_dict["health_override_until"])
    engagement.refresh_from_db()
    assert engagement.health_override == ""


def test_the_override_form_requires_an_expiry_and_keeps_what_was_typed(client, world):
    # Given the engagement lead
    client.force_login(world.lead)
    engagement = world.mine.engagement

    # When they override to red with a reason but no last day
    response = client.post(
        reverse("engagement_health", args=[engagement.pk]),
        {"health": "red", "reason": "Sponsor resigned", "seen_updated_at": engagement.updated_at.isoformat()},
    )

    # Then the form says the expiry is missing and keeps the colour and the reason
    body = response.content.decode()
    assert response.status_code == 200
    assert response.context["health_form"].errors["until"]
    assert '<option value="red" selected>' in body
    assert "Sponsor resigned" in body
    engagement.refresh_from_db()
    assert engagement.health_override == ""


def test_a_client_user_never_sees_the_factors_even_where_the_colour_is_shared(client, world):
    # Given an amber engagement whose colour the lead shares with the client
    engagement = _overdue(world, 3, as_of=dt.datetime.now(dt.UTC))
    Engagement.objects.filter(pk=engagement.pk).update(health_shared_with_client=True)
    client.force_login(world.client_user)

    # When the client's PMO lead reads the engagement's pages and the API
    pages = [
        client.get(reverse(name, args=args)).content.decode()
        for name, args in (("engagement_detail", [engagement.pk]), ("engagement_list", []), ("home", []))
    ]
    data = client.get(reverse("v1:engagement-detail", args=[engagement.pk])).json()

    # Then the colour shows, but no factor, its words or its link
    assert "rag-amber" in pages[0]
    for page in pages:
        assert "Overdue follow-ups" not in page
        assert "follow-ups overdue" not in page
        assert "#follow-ups-overdue" not in page
    assert data["effective_health"] == Health.AMBER
    assert "health_factors" not in data


def test_the_engagement_list_shows_the_colour_and_the_main_factor(client, world):
    engagement = _overdue(world, 3, as_of=dt.datetime.now(dt.UTC))
    client.force_login(world.practice_lead)

    body = client.get(reverse("engagement_list")).content.decode()

    evidence = reverse("engagement_follow_ups", args=[engagement.pk]) + "#follow-ups-overdue"
    assert f'<a href="{evidence}">Overdue follow-ups</a>' in body


def test_a_practice_lead_is_told_of_silent_sponsors_owned_by_others(client, db):
    # Given sponsors a lead owns gone silent, and a practice lead who owns no relationship
    lead = factories.consultant()
    role = silent_sponsor(lead=lead)
    silent_sponsor(lead=lead, engagement=role.engagement, name="Robert Chen")
    engagement_health_refresh(engagement_ids=[role.engagement_id], as_of=SWEPT)
    practice_lead = factories.practice_lead()
    client.force_login(practice_lead)

    # When the practice lead opens My week
    body = client.get(reverse("my_week")).content.decode()

    # Then it does not claim everything is on cadence, says how many are silent,
    # and lists the engagement as needing attention with the silence as its main reason
    assert "Every relationship you own is on cadence" not in body
    assert "2 sponsors or PMO leads owned by others are silent" in body
    attention = body.split('id="attention"')[1].split("</table>")[0]
    assert role.engagement.code in attention
    assert "rag-red" in attention
    assert "Silent sponsors and PMO leads" in attention


def test_every_factor_link_lands_on_its_evidence(client, world):
    # Given an engagement with overdue follow-ups and a milestone past its day
    now = dt.datetime.now(dt.UTC)
    engagement = _overdue(world, 3, as_of=now)
    engagement.milestones.create(name="Go-live", due_on=(now - dt.timedelta(days=20)).date())
    engagement_health_refresh(engagement_ids=[engagement.pk], as_of=now)
    client.force_login(world.lead)

    # When the lead follows each factor's link from the header
    body = client.get(reverse("engagement_timeline", args=[engagement.pk])).content.decode()
    header = body.split('id="header-health"')[1].split("</div>")[0]
    links = re.findall(r'<a href="([^"#]+)#([^"]+)">', header)
    assert {fragment for _, fragment in links} >= {"follow-ups-overdue", "milestones"}

    # Then each page holds the part the link names
    for path, fragment in links:
        page = client.get(path)
        assert page.status_code == 200, path
        assert f'id="{fragment}"' in page.content.decode(), (path, fragment)

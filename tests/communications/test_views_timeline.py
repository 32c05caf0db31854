"""The timeline: check-ins newest first with attendees, sentiment and follow-ups; filters; paging."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from communications.models import ChannelKind, CheckIn, FollowUp, Sentiment
from communications.services import FollowUpSpec
from communications.views.timeline import TIMELINE_PAGE_SIZE
from tests import factories

HX = {"HTTP_HX_REQUEST": "true"}


def _timeline(engagement):
    return reverse("engagement_timeline", args=[engagement.pk])


def _log(world, *, summary, hours_ago, attendees=None, **kwargs) -> CheckIn:
    return factories.make_check_in(
        engagement=world.mine.engagement,
        attendees=attendees or [world.mine.stakeholder],
        actor=world.lead,
        summary=summary,
        occurred_at=timezone.now() - dt.timedelta(hours=hours_ago),
        **kwargs,
    )


@pytest.mark.parametrize(
    "role", ["administrator", "practice_lead", "engagement_lead", "consultant", "client_pmo_lead"]
)
def test_timeline_shows_check_ins_to_every_role_that_sees_the_engagement(client, world, role) -> None:
    client.force_login(world.users()[role])

    response = client.get(_timeline(world.mine.engagement))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Walked through the plan." in page
    assert "Approve the data migration plan" in page
    assert world.mine.stakeholder.name in page


def test_timeline_lists_newest_first_with_sentiment_decisions_and_follow_ups(client, world) -> None:
    # Given an older check-in and a newer one with decisions and a follow-up
    _log(world, summary="Older conversation", hours_ago=48)
    _log(
        world,
        summary="Newer conversation",
        hours_ago=2,
        sentiment=Sentiment.VERY_POSITIVE,
        decisions="Go-live moves to **October**.",
        follow_ups=[
            FollowUpSpec(
                title="Send the revised plan",
                due_at=timezone.now() + dt.timedelta(days=3),
                owner_user=world.lead,
            )
        ],
    )
    client.force_login(world.consultant)

    # When the consultant opens the timeline
    page = client.get(_timeline(world.mine.engagement)).content.decode()

    # Then the newer comes first, with its sentiment in words and as a meter, its decisions rendered
    assert page.index("Newer conversation") < page.index("Older conversation")
    assert "Sentiment: Very positive" in page
    assert 'class="sentiment-meter" data-level="2"' in page
    assert "Go-live moves to <strong>October</strong>." in page
    assert str(world.lead) in page
    # and the follow-up is named by its title, which leads to its page (not a second "Open" beside its status)
    follow_up = FollowUp.objects.get(title="Send the revised plan")
    assert f'<a href="{reverse("follow_up_detail", args=[follow_up.pk])}">Send the revised plan</a>' in page
    assert ">Open</a>" not in page


def test_a_script_in_a_summary_shows_as_text(client, world) -> None:
    _log(world, summary="<script>alert('x')</script> noted", hours_ago=1)
    client.force_login(world.lead)

    page = client.get(_timeline(world.mine.engagement)).content.decode()

    assert "<script>alert" not in page
    assert "&lt;script&gt;" in page


def test_timeline_filters_by_stakeholder_and_by_kind(client, world) -> None:
    # Given a call with a second stakeholder and a workshop with the first
    second = factories.make_role(engagement=world.mine.engagement).stakeholder
    _log(world, summary="Call with the CFO", hours_ago=3, attendees=[second], kind=ChannelKind.CALL)
    _log(world, summary="Design workshop", hours_ago=4, kind=ChannelKind.WORKSHOP)
    client.force_login(world.lead)
    url = _timeline(world.mine.engagement)

    # When filtered by the second stakeholder, then only their call shows
    by_person = client.get(url, {"stakeholder": second.pk}).content.decode()
    assert "Call with the CFO" in by_person
    assert "Design workshop" not in by_person

    # When filtered by kind, then only the workshop shows
    by_kind = client.get(url, {"kind": ChannelKind.WORKSHOP}).content.decode()
    assert "Design workshop" in by_kind
    assert "Call with the CFO" not in by_kind
    assert "Walked through the plan." not in by_kind


def test_a_stakeholder_of_another_engagement_is_not_a_filter_choice(client, world) -> None:
    client.force_login(world.practice_lead)

    response = client.get(_timeline(world.mine.engagement), {"stakeholder": world.other.stakeholder.pk})

    assert response.status_code == 200
    assert response.context["form"].errors["stakeholder"]
    assert "Walked through the plan." in response.content.decode()


def test_filtering_with_htmx_returns_only_the_list(client, world) -> None:
    client.force_login(world.lead)

    response = client.get(_timeline(world.mine.engagement), {"kind": ChannelKind.MEETING}, **HX)

    page = response.content.decode()
    assert response.status_code == 200
    assert page.lstrip().startswith('<div id="timeline-list"')
    assert "<html" not in page
    assert "Walked through the plan." in page


def test_the_filter_form_works_without_javascript(client, world) -> None:
    client.force_login(world.lead)

    page = client.get(_timeline(world.mine.engagement)).content.decode()

    assert 'method="get"' in page
    assert '<button type="submit" class="button">Filter</button>' in page
    assert '<label for="id_stakeholder">' in page
    assert '<label for="id_kind">' in page


def test_timeline_pages_older_check_ins(client, world) -> None:
    # Given more check-ins than fit on one page
    for hour in range(TIMELINE_PAGE_SIZE + 1):
        _log(world, summary=f"Check-in number {hour}", hours_ago=hour + 2)
    client.force_login(world.lead)
    url = _timeline(world.mine.engagement)

    # When the first and the second page are opened
    first = client.get(url).content.decode()
    second = client.get(url, {"page": 2}).content.decode()

    # Then the newest are on the first page and the oldest on the second, which links back
    assert "Walked through the plan." in first
    assert f"Check-in number {TIMELINE_PAGE_SIZE}<" not in first
    assert f"Check-in number {TIMELINE_PAGE_SIZE}<" in second
    assert "Walked through the plan." not in second
    assert "Page 2 of 2" in second
    assert 'rel="prev"' in second


def test_timeline_query_count_does_not_grow_with_check_ins(client, world, django_assert_num_queries) -> None:
    # Given the timeline at 5 and then 50 check-ins, each with two attendees and two follow-ups
    second = factories.make_role(engagement=world.mine.engagement).stakeholder
    client.force_login(world.lead)
    url = _timeline(world.mine.engagement)
    specs = [
        FollowUpSpec(title="Draft", due_at=timezone.now() + dt.timedelta(days=2), owner_user=world.lead),
        FollowUpSpec(title="Approve", due_at=timezone.now() + dt.timedelta(days=4), owner_stakeholder=second),
    ]
    for size in (5, 50):
        while CheckIn.objects.filter(engagement=world.mine.engagement).count() < size:
            _log(
                world,
                summary="More",
                hours_ago=5,
                attendees=[world.mine.stakeholder, second],
                follow_ups=specs,
            )

        # Then one page costs the same number of queries (two of them for status updates: the next
        # page's first check-in, which bounds them, and the updates themselves; one for the user's
        # standing, which decides each entry's edit and delete links; one for deleted check-ins)
        with django_assert_num_queries(14):
            response = client.get(url, {"page": 2} if size == 50 else {})
        assert response.status_code == 200


def test_a_check_in_of_a_channel_whose_title_says_its_kind_names_the_kind_once(client, world) -> None:
    # Given a steering committee channel titled so, and a check-in held as one on it
    role = factories.make_role(engagement=world.mine.engagement)
    channel = factories.make_channel(
        role=role, owner=world.lead, title="Steering committee", kind=ChannelKind.STEERING_COMMITTEE
    )
    check_in = _log(
        world,
        summary="Budget approved.",
        hours_ago=2,
        attendees=[role.stakeholder],
        channel=channel,
        kind=ChannelKind.STEERING_COMMITTEE,
    )
    client.force_login(world.lead)

    # When the lead opens the timeline
    html = client.get(_timeline(world.mine.engagement)).content.decode()

    # Then its heading says "Steering committee" once, not "Steering committee · Steering committee"
    heading = html.split(f'id="check-in-{check_in.pk}-heading"')[1].split("</h3>")[0]
    assert heading.count("Steering committee") == 1


def test_a_check_ins_follow_up_still_open_past_its_due_time_is_marked_overdue(client, world) -> None:
    # Given a check-in a week ago with two follow-ups: one due three days ago, one due in three days
    check_in = _log(
        world,
        summary="Agreed the cutover plan.",
        hours_ago=24 * 7,
        follow_ups=[
            FollowUpSpec(
                title="Send the cutover runbook",
                due_at=timezone.now() - dt.timedelta(days=3),
                owner_user=world.lead,
            ),
            FollowUpSpec(
                title="Book the rehearsal",
                due_at=timezone.now() + dt.timedelta(days=3),
                owner_user=world.lead,
            ),
        ],
    )
    client.force_login(world.lead)

    # When the lead reads the timeline
    page = client.get(_timeline(world.mine.engagement)).content.decode()

    # Then the late one says it is overdue, the other only that it is open
    entry = page.split(f'id="check-in-{check_in.pk}"')[1].split("</article>")[0]
    late = entry.split("Send the cutover runbook")[1].split("</li>")[0]
    coming = entry.split("Book the rehearsal")[1].split("</li>")[0]
    assert "Overdue" in late
    assert "Open" in coming and "Overdue" not in coming

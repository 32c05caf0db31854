"""The brief before a planned meeting: its content, who may read it, and the reminder mail that carries it."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from email import message_from_bytes
from typing import Any

from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from communications import scheduling
from communications import services as communication_services
from communications.briefs import BRIEF_LIST_LIMIT, meeting_briefs
from communications.models import Channel, RaidItem
from communications.obligations import change_request_record
from engagements.models import ChangeRequest
from stakeholders.models import Level, StakeholderRole
from tests import factories


def _history(world: Any) -> dict[str, Any]:
    """Meetings with the sponsor of world.mine: an old one, the last one, and one without them."""
    mine = world.mine
    now = timezone.now()
    factories.make_check_in(
        engagement=mine.engagement,
        attendees=[mine.stakeholder],
        occurred_at=now - dt.timedelta(days=10),
        summary="Kick-off of the ward rollout.",
        follow_ups=[
            communication_services.FollowUpSpec(
                title="Send the ward rollout plan", due_at=now - dt.timedelta(days=5), owner_user=world.lead
            )
        ],
    )
    # The last meeting is half an hour before the world's pharmacy change was recorded, on the same
    # day where the sponsor is (a meeting that day tells them), so never before their local midnight.
    recorded = mine.obligation.opened_at
    local = recorded.astimezone(zoneinfo.ZoneInfo(mine.stakeholder.time_zone))
    local_midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    factories.make_check_in(
        engagement=mine.engagement,
        attendees=[mine.stakeholder],
        occurred_at=max(recorded - dt.timedelta(minutes=30), local_midnight),
        summary="Budget walk-through for phase two.",
        decisions="Go-live moves to May.",
        follow_ups=[
            communication_services.FollowUpSpec(
                title="Share the revised budget", due_at=now + dt.timedelta(days=3), owner_user=world.lead
            )
        ],
    )
    other_person = factories.make_role(engagement=mine.engagement, kind=StakeholderRole.Kind.BUSINESS_LEADER)
    factories.make_check_in(
        engagement=mine.engagement,
        attendees=[other_person.stakeholder],
        summary="Finance sync.",
        follow_ups=[
            communication_services.FollowUpSpec(
                title="Someone else's action", due_at=now + dt.timedelta(days=1), owner_user=world.lead
            )
        ],
    )
    change = change_request_record(
        actor=world.lead,
        engagement=mine.engagement,
        title="Add the theatre module",
        kind=ChangeRequest.Kind.SCOPE,
        raised_on=now.date(),
        notify_stakeholder_ids=[mine.stakeholder.pk],
        as_of=now,
    )
    StakeholderRole.objects.filter(pk=mine.role.pk).update(
        current_level=Level.NEUTRAL, desired_level=Level.LEADING
    )
    return {"now": now, "change": change}


def test_the_brief_holds_the_last_meeting_what_is_open_both_ways_changes_and_the_level(world):
    # Given a history of meetings, follow-ups and a change with the sponsor
    history = _history(world)
    channel = Channel.objects.select_related("engagement", "stakeholder").get(pk=world.mine.channel.pk)

    # When the brief of their next meeting is read
    brief = meeting_briefs(channels=[channel], viewers={channel.pk: world.lead}, as_of=history["now"])[
        channel.pk
    ]

    # Then it shows the last meeting, what each side owes (overdue first, only from meetings they
    # attended), the change still to tell them about, the other changes since the last meeting,
    # and their level against the wanted one
    assert brief.last_check_in is not None
    assert brief.last_check_in.summary == "Budget walk-through for phase two."
    assert brief.last_check_in.decisions == "Go-live moves to May."
    assert [f.title for f in brief.team_owes] == ["Send the ward rollout plan", "Share the revised budget"]
    assert [f.title for f in brief.they_owe] == ["Approve the data migration plan"]
    assert [o.change_request.title for o in brief.obligations] == ["Add the theatre module"]
    # (the world's pharmacy change was recorded after that meeting too, and a meeting that day told them)
    assert [c.title for c in brief.changes] == ["Add the pharmacy module"]
    assert brief.level_gap == 2
    assert brief.log_url == f"{reverse('check_in_create')}?channel={channel.pk}"


def _raid_history(world: Any, now: dt.datetime) -> dict[str, RaidItem]:
    """RAID items around the sponsor of world.mine, whose last meeting was half an hour before ``now``."""
    mine = world.mine
    person = [mine.stakeholder]
    today = now.date()
    # The world's own shared risk about the sponsor, due for review in ten days.
    RaidItem.objects.filter(pk=mine.raid_item.pk).update(review_on=today + dt.timedelta(days=10))
    items = {
        "late_risk": factories.make_raid_item(
            engagement=mine.engagement,
            title="Ward staff may not be released for training",
            stakeholders=person,
            review_on=today - dt.timedelta(days=3),
        ),
        "issue": factories.make_raid_item(
            engagement=mine.engagement,
            kind="issue",
            title="Lab interface rejects orders",
            raised_by=mine.stakeholder,
            severity="high",
            due_on=today + dt.timedelta(days=2),
        ),
        "new_decision": factories.make_raid_item(
            engagement=mine.engagement,
            kind="decision",
            title="Pharmacy goes live with phase two",
            stakeholders=person,
            decided_on=today,
        ),
        "old_decision": factories.make_raid_item(
            engagement=mine.engagement,
            kind="decision",
            title="Paper charts kept for a month",
            stakeholders=person,
            decided_on=today - dt.timedelta(days=5),
        ),
        "closed_risk": factories.make_raid_item(
            engagement=mine.engagement, title="Server room too small", stakeholders=person
        ),
        "someone_else": factories.make_raid_item(
            engagement=mine.engagement,
            kind="issue",
            title="Finance report late",
            stakeholders=[factories.make_role(engagement=mine.engagement).stakeholder],
        ),
    }
    RaidItem.objects.filter(pk=items["closed_risk"].pk).update(status=RaidItem.Status.CLOSED, closed_at=now)
    return items


def test_the_brief_lists_the_raid_items_concerning_the_person_open_and_overdue_first(world):
    # Given the sponsor's last meeting half an hour ago, and RAID items about them and about others
    now = _history(world)["now"]
    _raid_history(world, now)
    channel = Channel.objects.select_related("engagement", "stakeholder").get(pk=world.mine.channel.pk)

    # When the lead reads the brief of their next meeting
    brief = meeting_briefs(channels=[channel], viewers={channel.pk: world.lead}, as_of=now)[channel.pk]

    # Then the open items concerning or raised by them are listed, the overdue review first, with
    # the decision taken since that meeting; not a closed risk, an older decision or another's item
    assert [
        (line.item.title, line.item.kind, line.item.status_words, line.overdue) for line in brief.raid_items
    ] == [
        ("Ward staff may not be released for training", "risk", "Open", True),
        ("Lab interface rejects orders", "issue", "Open", False),
        ("Interface vendor may slip", "risk", "Open", False),
        ("Pharmacy goes live with phase two", "decision", "In force", False),
    ]
    assert brief.raid_more == 0


def test_the_brief_shows_each_reader_only_the_raid_items_their_scope_allows(world):
    # Given internal items and the world's shared risk about the sponsor, and three channels with
    # the sponsor whose briefs are read in one batch, as the reminder sweep reads them
    now = _history(world)["now"]
    _raid_history(world, now)
    extra = [factories.make_channel(role=world.mine.role, owner=world.consultant) for _ in range(2)]
    channels = list(
        Channel.objects.select_related("engagement", "stakeholder").filter(
            pk__in=[world.mine.channel.pk, *(c.pk for c in extra)]
        )
    )
    readers = dict(
        zip(
            sorted(c.pk for c in channels),
            [world.lead, world.client_user, world.outsider_consultant],
            strict=True,
        )
    )

    # When the lead, the client's own user and a consultant of another team are the readers (only
    # the lead reaches a brief page, see below; the RAID items are scoped for the reader all the same)
    briefs = meeting_briefs(channels=channels, viewers=readers, as_of=now)

    # Then the lead sees the internal items, the client's user only the item shared with the
    # client, the outsider none
    titles = {readers[pk].username: [line.item.title for line in b.raid_items] for pk, b in briefs.items()}
    assert "Ward staff may not be released for training" in titles["lead"]
    assert titles["client-pmo"] == ["Interface vendor may slip"]
    assert titles["outsider"] == []


def test_a_long_raid_list_is_capped_with_a_count_of_the_rest(world):
    # Given eleven open issues concerning the sponsor besides the world's risk
    for n in range(11):
        factories.make_raid_item(
            engagement=world.mine.engagement,
            kind="issue",
            title=f"Issue {n}",
            stakeholders=[world.mine.stakeholder],
        )
    channel = Channel.objects.select_related("engagement", "stakeholder").get(pk=world.mine.channel.pk)

    # When the brief is read
    brief = meeting_briefs(channels=[channel], viewers={channel.pk: world.lead}, as_of=timezone.now())[
        channel.pk
    ]

    # Then one screen of them is listed and the rest counted
    assert len(brief.raid_items) == BRIEF_LIST_LIMIT
    assert brief.raid_more == 12 - BRIEF_LIST_LIMIT


def test_the_brief_page_is_reached_from_my_week_by_the_team_only(client, world):
    # Given the sponsor's channel due tomorrow, on the lead's My week
    history = _history(world)
    raid = _raid_history(world, history["now"])
    Channel.objects.filter(pk=world.mine.channel.pk).update(next_due_at=history["now"] + dt.timedelta(days=1))
    url = reverse("channel_brief", kwargs={"pk": world.mine.channel.pk})
    client.force_login(world.lead)
    assert url in client.get(reverse("home")).content.decode()

    # When the lead opens it
    page = client.get(url).content.decode()

    # Then it shows the brief with a link that logs this check-in
    assert "Budget walk-through for phase two." in page
    assert "Send the ward rollout plan" in page and "Overdue" in page
    assert "Add the theatre module" in page
    assert "Neutral now; leading wanted (2 steps to go)" in page
    assert f'href="{reverse("check_in_create")}?channel={world.mine.channel.pk}"' in page
    late_risk_url = reverse("raid_item_detail", kwargs={"pk": raid["late_risk"].pk})
    assert f'Risk: <a href="{late_risk_url}">Ward staff may not be released for training</a> · Open' in page
    assert "Paper charts kept for a month" not in page and "Finance report late" not in page

    # and nobody outside the team reaches it: another team's consultant, the client's own user
    for outsider in (world.outsider_consultant, world.client_user):
        client.force_login(outsider)
        assert client.get(url).status_code == 404


def test_the_reminder_mail_carries_the_brief(world, eager_tasks, django_capture_on_commit_callbacks):
    # Given the sponsor's meeting due in three hours and a history with them
    history = _history(world)
    now = history["now"]
    raid = _raid_history(world, now)
    Channel.objects.filter(pk=world.mine.channel.pk).update(next_due_at=now + dt.timedelta(hours=3))
    scheduling.occurrences_dispatch(as_of=now)

    # When the reminder sweep mails the owner
    with django_capture_on_commit_callbacks(execute=True):
        scheduling.occurrences_send_reminders(as_of=now)

    # Then the mail, read as a mail client reads it, carries the brief in both parts
    assert len(mail.outbox) == 1
    parsed = message_from_bytes(mail.outbox[0].message().as_bytes())
    parts = {
        part.get_content_type(): bytes(part.get_payload(decode=True)).decode()
        for part in parsed.walk()
        if not part.is_multipart()
    }
    text, html = parts["text/plain"], parts["text/html"]
    log_link = f"/check-ins/new/?channel={world.mine.channel.pk}"
    for body in (text, html):
        assert "Budget walk-through for phase two." in body
        assert "Go-live moves to May." in body
        assert "Send the ward rollout plan" in body
        assert "Approve the data migration plan" in body
        assert "Add the theatre module" in body
        assert log_link in body
        assert "Lab interface rejects orders" in body
        assert f"/raid/{raid['issue'].pk}/" in body
        assert "Finance report late" not in body
    overdue_line = next(line for line in text.splitlines() if "Send the ward rollout plan" in line)
    assert overdue_line.endswith("(OVERDUE)")
    late_risk_line = next(line for line in text.splitlines() if "Ward staff may not be released" in line)
    assert late_risk_line.startswith("- Risk: ") and "(OVERDUE)" in late_risk_line
    assert "Someone else's action" not in text


def _more_for_the_brief(world: Any, n: int) -> None:
    """``n`` more of each list the brief holds about the sponsor: meetings, open items, RAID items."""
    mine, now = world.mine, timezone.now()
    for i in range(n):
        factories.make_check_in(
            engagement=mine.engagement,
            attendees=[mine.stakeholder],
            occurred_at=now - dt.timedelta(days=20 + i),
            summary=f"Earlier meeting {i}.",
            follow_ups=[
                communication_services.FollowUpSpec(
                    title=f"Action {i}", due_at=now + dt.timedelta(days=2 + i), owner_user=world.lead
                ),
                communication_services.FollowUpSpec(
                    title=f"Their action {i}",
                    due_at=now + dt.timedelta(days=2 + i),
                    owner_stakeholder=mine.stakeholder,
                ),
            ],
        )
        factories.make_raid_item(
            engagement=mine.engagement, title=f"Risk {i}", stakeholders=[mine.stakeholder]
        )


def test_the_brief_page_reads_a_fixed_number_of_queries(client, world, django_assert_num_queries):
    # Given the sponsor's brief with one of each list, then with twelve (over the page's cap)
    url = reverse("channel_brief", kwargs={"pk": world.mine.channel.pk})
    client.force_login(world.lead)
    _more_for_the_brief(world, 1)
    client.get(url)
    with CaptureQueriesContext(connection) as small:
        assert client.get(url).status_code == 200
    # Read now: the next request's start clears the log the capture is a view of.
    budget = len(small.captured_queries)
    _more_for_the_brief(world, 11)

    # When the lead opens it again, then it reads as many queries as with one
    with django_assert_num_queries(budget):
        page = client.get(url).content.decode()
    assert "Their action 0" in page
    assert page.count(">Risk ") == BRIEF_LIST_LIMIT


def test_the_brief_says_the_level_it_gives_is_the_persons_engagement_level(
    client, world, eager_tasks, django_capture_on_commit_callbacks
):
    # Given the sponsor, neutral where leading is wanted, whose meeting is due in three hours
    now = _history(world)["now"]
    Channel.objects.filter(pk=world.mine.channel.pk).update(next_due_at=now + dt.timedelta(hours=3))
    scheduling.occurrences_dispatch(as_of=now)

    # When the reminder mails the brief and the lead opens it as a page
    with django_capture_on_commit_callbacks(execute=True):
        scheduling.occurrences_send_reminders(as_of=now)
    text = mail.outbox[0].body
    client.force_login(world.lead)
    page = client.get(reverse("channel_brief", kwargs={"pk": world.mine.channel.pk})).content.decode()

    # Then the level is headed as an engagement level, apart from the mail's line naming the engagement
    assert "Engagement level: Neutral now; leading wanted (2 steps to go)." in text
    assert f"Engagement: {world.mine.engagement.code} " in text
    assert "Engagement: Neutral" not in text
    assert f'<h2 id="brief-level-{world.mine.channel.pk}">Engagement level</h2>' in page


def test_a_change_still_to_tell_them_about_is_listed_once_among_the_obligations(client, world):
    # Given a change recorded since the sponsor's last meeting that they are still to be told of,
    # and one since then that a meeting that day already told them of
    _history(world)
    url = reverse("channel_brief", kwargs={"pk": world.mine.channel.pk})
    client.force_login(world.lead)

    # When the lead opens the brief of their next meeting
    page = client.get(url).content.decode()

    # Then the change to tell them about is listed once, as something to do, and the told one
    # among the changes since the last meeting
    to_tell = page.split("Changes to tell them about")[1].split("</section>")[0]
    since = page.split("Change requests concerning them since the last meeting")[1].split("</section>")[0]
    assert page.count("Add the theatre module") == 1
    assert "Add the theatre module" in to_tell
    assert "Add the pharmacy module" in since and "Add the pharmacy module" not in to_tell


def test_the_brief_page_leads_back_to_my_week_the_engagement_and_the_person(client, world):
    # Given the lead, who reaches the sponsor's brief from My week
    url = reverse("channel_brief", kwargs={"pk": world.mine.channel.pk})
    client.force_login(world.lead)

    # When they open it
    page = client.get(url).content.decode()

    # Then its eyebrow links back to My week, the engagement and the person, each a page they may open
    eyebrow = page.split('<p class="eyebrow">')[1].split("</p>")[0]
    back = [
        reverse("my_week"),
        reverse("engagement_detail", kwargs={"pk": world.mine.engagement.pk}),
        reverse("stakeholder_detail", kwargs={"pk": world.mine.stakeholder.pk}),
    ]
    for link in back:
        assert f'href="{link}"' in eyebrow
        assert client.get(link).status_code == 200
    assert world.mine.stakeholder.name in eyebrow


def test_the_brief_of_a_meeting_past_its_time_says_it_is_overdue(client, world):
    # Given the sponsor's planned meeting, due two hours ago and not yet held, and another due tomorrow
    channel = world.mine.channel
    client.force_login(world.lead)
    url = reverse("channel_brief", kwargs={"pk": channel.pk})
    heads = {}
    for label, due in (("late", -2), ("coming", 24)):
        Channel.objects.filter(pk=channel.pk).update(next_due_at=timezone.now() + dt.timedelta(hours=due))
        # When the lead opens the brief
        page = client.get(url).content.decode()
        heads[label] = page.split("</h1>")[1].split("</p>")[0]

    # Then the late one's line says it is overdue beside its time, the coming one's does not
    assert "Overdue" in heads["late"]
    assert "Overdue" not in heads["coming"] and "due" in heads["coming"]

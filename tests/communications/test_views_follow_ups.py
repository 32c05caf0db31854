"""Follow-ups of an engagement: the team's and the client's lists, completing, bulk completing, re-dating."""

from __future__ import annotations

import datetime as dt
from datetime import UTC
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from communications import selectors, services
from communications.models import FollowUp
from pmaas.concurrency import STALE_MESSAGE
from tests import factories

HX = {"HTTP_HX_REQUEST": "true"}


def _page(engagement):
    return reverse("engagement_follow_ups", args=[engagement.pk])


def _team_item(
    world, *, title="Send the revised plan", days=3, engagement=None, owner=None, shared=False
) -> FollowUp:
    return factories.make_follow_up(
        engagement=engagement or world.mine.engagement,
        owner_user=owner or world.lead,
        title=title,
        due_at=timezone.now() + dt.timedelta(days=days),
        shared_with_client=shared,
    )


# The page


@pytest.mark.parametrize(
    "role", ["administrator", "practice_lead", "engagement_lead", "consultant", "client_pmo_lead"]
)
def test_follow_ups_page_serves_every_role_that_sees_the_engagement(client, world, role) -> None:
    # A team item shared with the client: every role that sees the engagement sees it
    _team_item(world, shared=True)
    client.force_login(world.users()[role])

    response = client.get(_page(world.mine.engagement))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Send the revised plan" in page
    assert "Approve the data migration plan" in page


def test_team_items_are_split_into_overdue_open_and_done(client, world) -> None:
    # Given one late, one upcoming and one completed item the team owes
    late = _team_item(world, title="Late item", days=-2)
    _team_item(world, title="Upcoming item", days=5)
    done = _team_item(world, title="Finished item", days=1)
    services.follow_up_complete(actor=world.lead, follow_up=done)
    client.force_login(world.consultant)

    # When the consultant opens the page
    board = client.get(_page(world.mine.engagement)).context["board"]

    # Then each sits in its own list
    assert [f.title for f in board.overdue.rows] == ["Late item"]
    assert [f.title for f in board.open.rows] == ["Upcoming item"]
    assert [f.title for f in board.done.rows] == ["Finished item"]
    assert board.overdue.rows[0].is_overdue and board.overdue.rows[0].pk == late.pk


def test_what_the_client_owes_is_listed_apart_with_the_stakeholders_name(client, world) -> None:
    # Given the world's item owed by the client's stakeholder and one the team owes
    _team_item(world)
    client.force_login(world.lead)

    # When the lead opens the page
    response = client.get(_page(world.mine.engagement))

    # Then the client's item is only in the client's list, under the stakeholder's name
    board = response.context["board"]
    assert [f.title for f in board.client_owed.rows] == ["Approve the data migration plan"]
    assert all(f.owner_user_id for f in board.overdue.rows + board.open.rows + board.done.rows)
    page = response.content.decode()
    client_section = page[page.index('id="client-follow-ups"') :]
    assert "Approve the data migration plan" in client_section
    assert world.mine.stakeholder.name in client_section
    assert "Send the revised plan" not in client_section


def test_what_stakeholders_owe_overdue_is_counted_in_its_heading(client, world) -> None:
    # Given an item the client's stakeholder owed yesterday, beside the world's open one
    factories.make_follow_up(
        engagement=world.mine.engagement,
        owner_stakeholder=world.mine.stakeholder,
        title="Sign the test plan",
        due_at=timezone.now() - dt.timedelta(days=1),
    )
    client.force_login(world.lead)

    # When the lead opens the follow-ups
    page = client.get(_page(world.mine.engagement)).content.decode()

    # Then the stakeholders' heading says how many of theirs are overdue, as health counts them
    heading = page[page.index('id="follow-ups-client"') :]
    heading = heading[: heading.index("</h3>")]
    assert "(2, " in heading
    assert "1 overdue" in heading


def test_rows_carry_complete_and_redate_controls_named_after_the_item(client, world) -> None:
    item = _team_item(world)
    client.force_login(world.lead)

    page = client.get(_page(world.mine.engagement)).content.decode()

    assert f'<tr id="follow-up-{item.pk}"' in page
    assert 'aria-label="Complete: Send the revised plan"' in page
    assert 'aria-label="Re-date: Send the revised plan"' in page
    assert 'form="bulk-complete" name="follow_up_ids"' in page
    assert "Complete selected" in page


def test_a_done_rows_select_and_action_cells_are_empty_so_a_phone_shows_no_bare_labels(client, world) -> None:
    # Given a done item
    item = _team_item(world)
    services.follow_up_complete(actor=world.lead, follow_up=item)
    client.force_login(world.lead)

    # When the lead opens the follow-ups
    page = client.get(_page(world.mine.engagement)).content.decode()

    # Then its row has nothing in its select and actions cells, not even a space (app.css hides :empty cells)
    row = page[page.index(f'<tr id="follow-up-{item.pk}"') :]
    row = row[: row.index("</tr>")]
    assert '<td data-label="Select"></td>' in row
    assert '<td data-label="Actions" class="follow-up-actions"></td>' in row


def test_client_pmo_lead_gets_controls_only_for_what_they_own(client, world) -> None:
    _team_item(world)
    client.force_login(world.client_user)

    page = client.get(_page(world.mine.engagement)).content.decode()

    assert 'aria-label="Complete: Approve the data migration plan"' in page
    assert 'aria-label="Complete: Send the revised plan"' not in page


def test_complete_selected_is_offered_only_while_a_row_can_be_ticked(client, world) -> None:
    # Given a shared team item the client user may read but not complete
    _team_item(world, shared=True)
    client.force_login(world.client_user)
    assert "Complete selected" in client.get(_page(world.mine.engagement)).content.decode()

    # When her people's only item is done
    owed = FollowUp.objects.get(engagement=world.mine.engagement, title="Approve the data migration plan")
    services.follow_up_complete(actor=world.client_user, follow_up=owed)

    # Then the page offers no bulk button for rows she cannot tick
    page = client.get(_page(world.mine.engagement)).content.decode()
    assert "Send the revised plan" in page
    assert 'name="follow_up_ids"' not in page
    assert "Complete selected" not in page


def test_complete_selected_heads_the_part_of_the_page_whose_rows_can_be_ticked(client, world) -> None:
    # Given the team owes nothing open and the client owes one item the lead may complete
    FollowUp.objects.filter(engagement=world.mine.engagement, owner_user__isnull=False).delete()
    client.force_login(world.lead)

    # When the lead opens the follow-ups
    page = client.get(_page(world.mine.engagement)).content.decode()

    # Then the bulk button heads what the client owes, not what the team owes, which has nothing to tick
    team, owed = page.split('id="client-follow-ups"')
    assert "Complete selected" not in team
    assert "New follow-up" in team
    assert owed.count("Complete selected") == 1
    assert 'aria-label="Complete: Approve the data migration plan"' in owed


def test_follow_ups_query_count_does_not_grow_with_items(client, world, django_assert_num_queries) -> None:
    # Given the page with 5, then 50 items of each kind a list shows
    client.force_login(world.lead)
    url = _page(world.mine.engagement)
    for size in (5, 50):
        while FollowUp.objects.filter(engagement=world.mine.engagement).count() < size:
            _team_item(world, title="Upcoming")
            _team_item(world, title="Late", days=-1)
            factories.make_follow_up(
                engagement=world.mine.engagement,
                owner_stakeholder=world.mine.stakeholder,
                title="Client owes",
                due_at=timezone.now() + dt.timedelta(days=2),
            )

        # Then it costs the same number of queries
        with django_assert_num_queries(10):
            response = client.get(url)
        assert response.status_code == 200


def test_a_long_list_is_paged_oldest_first_with_its_total(client, world) -> None:
    # Given more overdue items than a page holds, each a day older than the next
    size = selectors.FOLLOW_UPS_PAGE_SIZE
    for n in range(size + 3):
        _team_item(world, title=f"Late {n:03d}", days=-(n + 1))
    client.force_login(world.lead)

    # When the lead opens the page
    response = client.get(_page(world.mine.engagement))

    # Then the oldest page shows with the total and a link to the next page
    board = response.context["board"]
    oldest_first = [f"Late {n:03d}" for n in range(size + 2, -1, -1)]
    assert [f.title for f in board.overdue.rows] == oldest_first[:size]
    body = response.content.decode()
    assert f'Overdue <span class="muted">({size + 3})</span>' in body
    assert f"1–{size} of {size + 3}" in body
    assert 'href="?overdue=2#follow-ups-overdue"' in body

    # And the next page holds the rest, and keeps the other lists' pages
    response = client.get(_page(world.mine.engagement) + "?overdue=2&open=1")
    assert [f.title for f in response.context["board"].overdue.rows] == oldest_first[size:]
    assert 'href="?overdue=1&amp;open=1#follow-ups-overdue"' in response.content.decode()

    # And a page past the end shows the last one rather than nothing
    response = client.get(_page(world.mine.engagement) + "?overdue=99")
    assert [f.title for f in response.context["board"].overdue.rows] == oldest_first[size:]


def test_a_client_user_counts_only_the_items_shared_with_the_client(client, world) -> None:
    # Given two overdue items the team owes, one shared with the client and one not
    _team_item(world, title="Shared late", days=-1, shared=True)
    _team_item(world, title="Internal late", days=-2)
    client.force_login(world.client_user)

    # When the client user opens the page
    response = client.get(_page(world.mine.engagement))

    # Then the list and its count know only the shared one
    assert [f.title for f in response.context["board"].overdue.rows] == ["Shared late"]
    assert response.context["board"].overdue.total == 1


# Completing one


def test_completing_without_javascript_returns_to_a_safe_next(client, world) -> None:
    item = _team_item(world)
    client.force_login(world.consultant)

    response = client.post(reverse("follow_up_complete", args=[item.pk]), {"next": "/?week=1"})

    assert response.status_code == 302
    assert response["Location"] == "/?week=1"
    item.refresh_from_db()
    assert (item.status, item.completed_by) == (FollowUp.Status.DONE, world.consultant)


def test_completing_ignores_a_next_pointing_elsewhere(client, world) -> None:
    item = _team_item(world)
    client.force_login(world.consultant)

    response = client.post(reverse("follow_up_complete", args=[item.pk]), {"next": "https://evil.test/"})

    assert response["Location"] == _page(world.mine.engagement)


def test_completing_with_htmx_returns_the_updated_row(client, world) -> None:
    item = _team_item(world)
    client.force_login(world.lead)

    response = client.post(reverse("follow_up_complete", args=[item.pk]), {"next": "/"}, **HX)

    page = response.content.decode()
    assert response.status_code == 200
    assert page.lstrip().startswith(f'<tr id="follow-up-{item.pk}"')
    assert "Done" in page
    assert "Complete:" not in page


def test_client_pmo_lead_completes_their_own_item_but_not_the_teams(client, world) -> None:
    # Given the client's PMO lead, owner of the world's client item, and a team item shared with her
    team_item = _team_item(world, shared=True)
    client.force_login(world.client_user)

    # When they complete their own, and then one the team owes
    own = client.post(reverse("follow_up_complete", args=[world.mine.follow_up.pk]))
    theirs = client.post(reverse("follow_up_complete", args=[team_item.pk]))

    # Then only their own is done; the other is forbidden
    assert own.status_code == 302
    assert theirs.status_code == 403
    world.mine.follow_up.refresh_from_db()
    team_item.refresh_from_db()
    assert (world.mine.follow_up.status, team_item.status) == (FollowUp.Status.DONE, FollowUp.Status.OPEN)


# Completing several


def test_bulk_complete_completes_only_open_in_scope_items_in_one_update(world) -> None:
    # Given two open items, one already done, one of another engagement
    first, second = _team_item(world, title="One"), _team_item(world, title="Two")
    done = _team_item(world, title="Done already")
    services.follow_up_complete(actor=world.lead, follow_up=done)
    foreign = world.other.follow_up

    # When the lead completes all four ids (and one that does not exist)
    with CaptureQueriesContext(connection) as queries:
        result = services.follow_ups_complete_bulk(
            actor=world.lead,
            engagement=world.mine.engagement,
            follow_up_ids=[first.pk, second.pk, done.pk, foreign.pk, 999_999],
        )

    # Then the two open ones are completed by one UPDATE and the rest reported as ignored
    # (the engagement's health, recomputed after it, is written by an UPDATE of its own)
    updates = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].lstrip().upper().startswith("UPDATE") and FollowUp._meta.db_table in q["sql"]
    ]
    assert len(updates) == 1
    assert result.completed == 2
    assert result.ignored_ids == tuple(sorted([done.pk, foreign.pk, 999_999]))
    assert set(FollowUp.objects.filter(pk__in=[first.pk, second.pk]).values_list("status", flat=True)) == {
        "done"
    }
    foreign.refresh_from_db()
    assert foreign.status == FollowUp.Status.OPEN


def test_bulk_complete_lets_a_client_user_complete_only_their_own(world) -> None:
    team_item = _team_item(world)

    result = services.follow_ups_complete_bulk(
        actor=world.client_user,
        engagement=world.mine.engagement,
        follow_up_ids=[world.mine.follow_up.pk, team_item.pk],
    )

    assert (result.completed, result.ignored_ids) == (1, (team_item.pk,))


def test_bulk_complete_twice_completes_nothing_more(world) -> None:
    item = _team_item(world)
    services.follow_ups_complete_bulk(
        actor=world.lead, engagement=world.mine.engagement, follow_up_ids=[item.pk]
    )

    again = services.follow_ups_complete_bulk(
        actor=world.lead, engagement=world.mine.engagement, follow_up_ids=[item.pk]
    )

    assert (again.completed, again.ignored_ids) == (0, (item.pk,))


def test_bulk_complete_page_reports_what_it_did(client, world) -> None:
    # Given two ticked items, one of which is of another engagement
    item = _team_item(world)
    client.force_login(world.lead)

    # When "Complete selected" is pressed
    response = client.post(
        reverse("follow_up_bulk_complete", args=[world.mine.engagement.pk]),
        {"follow_up_ids": [item.pk, world.other.follow_up.pk]},
        follow=True,
    )

    # Then the page says how many were completed and how many left alone
    messages = [str(m) for m in response.context["messages"]]
    assert "Completed 1 follow-up." in messages
    assert any(m.startswith("1 left unchanged") for m in messages)
    item.refresh_from_db()
    assert item.status == FollowUp.Status.DONE


def test_bulk_complete_with_nothing_ticked_says_so(client, world) -> None:
    client.force_login(world.lead)

    response = client.post(
        reverse("follow_up_bulk_complete", args=[world.mine.engagement.pk]), {}, follow=True
    )

    assert "Tick at least one follow-up to complete." in [str(m) for m in response.context["messages"]]


# Re-dating


def test_redate_page_offers_the_current_date_and_time(client, world) -> None:
    item = _team_item(world)
    client.force_login(world.lead)

    response = client.get(reverse("follow_up_redate", args=[item.pk]), {"next": "/"})

    form = response.context["form"]
    assert response.status_code == 200
    assert form["due_on"].value() == timezone.localtime(item.due_at, timezone.get_default_timezone()).date()
    assert '<label for="id_due_on">' in response.content.decode()


def test_redating_reads_the_date_and_time_in_the_users_zone(client, world) -> None:
    # Given a lead working from Kolkata (UTC+05:30)
    world.lead.time_zone = "Asia/Kolkata"
    world.lead.save(update_fields=["time_zone"])
    item = _team_item(world)
    client.force_login(world.lead)

    # When they move the item to a day next month at 10:00
    day = (timezone.now() + dt.timedelta(days=30)).date()
    response = client.post(
        reverse("follow_up_redate", args=[item.pk]),
        {
            "due_on": day.isoformat(),
            "due_time": "10:00",
            "next": "/",
            "seen_updated_at": item.updated_at.isoformat(),
        },
    )

    # Then it is stored as 04:30 UTC and they are sent back
    assert response.status_code == 302
    assert response["Location"] == "/"
    item.refresh_from_db()
    assert item.due_at == dt.datetime.combine(day, dt.time(4, 30), tzinfo=UTC)


def test_redating_to_the_future_clears_the_overdue_stamp(world) -> None:
    # Given an item the overdue scan has flagged
    item = _team_item(world, days=-1)
    services.follow_ups_flag_overdue(as_of=timezone.now())
    assert FollowUp.objects.flagged().filter(pk=item.pk).exists()

    # When it is re-dated to next week
    redated = services.follow_up_redate(
        actor=world.lead, follow_up=item, due_at=timezone.now() + dt.timedelta(days=7)
    )

    # Then it is no longer stamped overdue
    assert not FollowUp.objects.flagged().filter(pk=redated.pk).exists()


def test_redating_a_done_item_is_refused(world) -> None:
    item = _team_item(world)
    services.follow_up_complete(actor=world.lead, follow_up=item)

    with pytest.raises(ValidationError) as refused:
        services.follow_up_redate(
            actor=world.lead, follow_up=item, due_at=timezone.now() + dt.timedelta(days=2)
        )

    assert refused.value.message_dict["due_at"] == ["Only an open follow-up can be re-dated."]


def test_a_wrongly_typed_date_is_refused_and_kept(client, world) -> None:
    item = _team_item(world)
    client.force_login(world.lead)

    response = client.post(reverse("follow_up_redate", args=[item.pk]), {"due_on": "next tuesday"})

    assert response.status_code == 200
    assert response.context["form"].errors["due_on"] == ["Enter a valid date."]
    assert 'value="next tuesday"' in response.content.decode()


def test_a_stale_redate_is_refused(client, world) -> None:
    # Given someone re-dated the item after the form was opened
    item = _team_item(world)
    opened = item.updated_at.isoformat()
    services.follow_up_redate(
        actor=world.consultant, follow_up=item, due_at=timezone.now() + dt.timedelta(days=9)
    )
    client.force_login(world.lead)

    # When the lead saves from the old copy
    response = client.post(
        reverse("follow_up_redate", args=[item.pk]), {"due_on": "2026-12-24", "seen_updated_at": opened}
    )

    # Then they are told and the first change stands
    assert STALE_MESSAGE in response.context["form"].non_field_errors()
    item.refresh_from_db()
    assert item.due_at.date() != dt.date(2026, 12, 24)


def test_redating_with_htmx_returns_the_form_row_then_the_updated_row(client, world) -> None:
    item = _team_item(world)
    client.force_login(world.lead)
    url = reverse("follow_up_redate", args=[item.pk])

    # When the Re-date link is followed by htmx, then the inline form row comes back
    form_row = client.get(url, {"next": "/", "bulk": "1"}, **HX).content.decode()
    assert form_row.lstrip().startswith(f'<tr id="follow-up-{item.pk}"')
    assert 'name="due_on"' in form_row

    # When it is saved, then the follow-up's row comes back with its new date
    day = (timezone.now() + dt.timedelta(days=30)).date()
    saved = client.post(
        url,
        {
            "due_on": day.isoformat(),
            "due_time": "15:00",
            "next": "/",
            "bulk": "1",
            "seen_updated_at": item.updated_at.isoformat(),
        },
        **HX,
    )
    row = saved.content.decode()
    assert row.lstrip().startswith(f'<tr id="follow-up-{item.pk}"')
    assert f"{day.day} {day:%b %Y}" in row
    assert 'name="follow_up_ids"' in row


def test_client_pmo_lead_may_not_redate_the_teams_item(client, world) -> None:
    item = _team_item(world, shared=True)
    client.force_login(world.client_user)

    assert client.get(reverse("follow_up_redate", args=[item.pk])).status_code == 403
    assert client.get(reverse("follow_up_redate", args=[world.mine.follow_up.pk])).status_code == 200


# Items agreed for a day


def _agreed_in_new_york_for(client, world, day: dt.date) -> FollowUp:
    """An item the lead, working from New York, records through the form "for" ``day``."""
    world.lead.time_zone = "America/New_York"
    world.lead.save(update_fields=["time_zone"])
    client.force_login(world.lead)
    client.post(
        reverse("follow_up_create", args=[world.mine.engagement.pk]),
        {"title": "Send the cut-over checklist", "owner": f"user:{world.lead.pk}", "due": day.isoformat()},
    )
    return FollowUp.objects.get(title="Send the cut-over checklist")


def _from_tokyo(client, world) -> None:
    world.consultant.time_zone = "Asia/Tokyo"
    world.consultant.save(update_fields=["time_zone"])
    client.force_login(world.consultant)


def test_an_item_agreed_for_a_day_reads_as_that_day_to_a_reader_in_tokyo(client, world) -> None:
    # Given an item agreed in New York for a day ten days ahead (whose end is the next morning in Tokyo)
    day = (timezone.now() + dt.timedelta(days=10)).date()
    item = _agreed_in_new_york_for(client, world, day)
    tokyo_clock = f"{timezone.localtime(item.due_at, dt.timezone(dt.timedelta(hours=9))):%H:%M}"

    # When a consultant in Tokyo opens its page and the engagement's follow-ups
    _from_tokyo(client, world)
    pages = [
        client.get(reverse("follow_up_detail", args=[item.pk])).content.decode(),
        client.get(_page(world.mine.engagement)).content.decode(),
    ]

    # Then both say the New York day, and neither the Tokyo clock time of its end
    words = f"{day:%a} {day.day} {day:%b %Y}, end of day in New York"
    for page in pages:
        assert f">{words}</time>" in page
        assert f", {tokyo_clock}</time>" not in page


def test_redating_an_item_agreed_for_a_day_without_a_time_keeps_it_due_by_the_end_of_the_new_day(
    client, world
) -> None:
    # Given an item agreed in New York for a day, opened for re-dating by a consultant in Tokyo
    day = (timezone.now() + dt.timedelta(days=10)).date()
    item = _agreed_in_new_york_for(client, world, day)
    _from_tokyo(client, world)
    url = reverse("follow_up_redate", args=[item.pk])
    form = client.get(url).context["form"]

    # When the form offers the agreed day with no time, and a day a week later is chosen without one
    assert (form["due_on"].value(), form["due_time"].value()) == (day, None)
    later = day + dt.timedelta(days=7)
    response = client.post(
        url, {"due_on": later.isoformat(), "next": "/", "seen_updated_at": item.updated_at.isoformat()}
    )

    # Then it is due by the end of that day in New York, and its history reads day to day
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.due_at == dt.datetime.combine(later, dt.time(23, 59), tzinfo=ZoneInfo("America/New_York"))
    history = client.get(reverse("follow_up_detail", args=[item.pk])).content.decode()
    assert f">{day:%a} {day.day} {day:%b %Y}, end of day in New York</time> to" in history
    assert f">{later:%a} {later.day} {later:%b %Y}, end of day in New York</time>" in history


def test_giving_a_time_when_redating_makes_an_item_due_at_that_time(client, world) -> None:
    # Given an item agreed in New York for a day
    day = (timezone.now() + dt.timedelta(days=10)).date()
    item = _agreed_in_new_york_for(client, world, day)

    # When the lead moves it to 10:00 on the same day
    client.post(
        reverse("follow_up_redate", args=[item.pk]),
        {
            "due_on": day.isoformat(),
            "due_time": "10:00",
            "next": "/",
            "seen_updated_at": item.updated_at.isoformat(),
        },
    )

    # Then it is no longer a day's end: it reads as that time on the lead's clock
    item.refresh_from_db()
    assert item.due_zone == ""
    page = client.get(reverse("follow_up_detail", args=[item.pk])).content.decode()
    assert f">{day:%a} {day.day} {day:%b %Y}, 10:00</time>" in page

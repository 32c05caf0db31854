"""Calendar feeds: the secret .ics URL of upcoming due check-ins, and the page that opens and revokes them."""

from __future__ import annotations

import datetime as dt
from datetime import UTC
from zoneinfo import ZoneInfo

import icalendar
import pytest
import time_machine
import vobject  # type: ignore[import-untyped]
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from ical.calendar_stream import IcsCalendarStream
from ical.timezone import IcsTimezoneInfo

from accounts.models import CalendarFeed, User
from communications import calendar_feeds, scheduling
from communications import services as communication_services
from engagements.models import Membership
from pmaas.errors import NotAllowed
from tests import factories

BERLIN = ZoneInfo("Europe/Berlin")
# A Monday two weeks before Europe's clocks go forward (29 March 2026).
BEFORE_DST = dt.datetime(2026, 3, 16, 12, 0, tzinfo=UTC)


def _feed_url(secret):
    return reverse("calendar_feed", kwargs={"token": secret})


def _events(body):
    return icalendar.Calendar.from_ical(body).walk("VEVENT")


def _berlin_channel(world, **kwargs):
    stakeholder = factories.make_stakeholder(client=world.client_a, time_zone="Europe/Berlin")
    role = factories.make_role(engagement=world.mine.engagement, stakeholder=stakeholder)
    return factories.make_channel(role=role, owner=world.lead, **kwargs)


@time_machine.travel(BEFORE_DST, tick=False)
def test_feed_is_rfc5545_that_icalendar_and_vobject_both_parse(client, world):
    # Given the lead's personal feed (the lead owns the channel of their engagement)
    _, secret = calendar_feeds.calendar_feed_create(actor=world.lead)

    # When a calendar client fetches it without logging in
    response = client.get(_feed_url(secret))

    # Then it is text/calendar in UTF-8, with PRODID and VERSION, and a second parser reads it too
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    parsed = icalendar.Calendar.from_ical(response.content)
    assert parsed["VERSION"] == "2.0"
    assert "PMaaS" in str(parsed["PRODID"])
    second = vobject.readOne(response.content.decode())
    assert second.version.value == "2.0"
    assert len(second.vevent_list) == len(_events(response.content)) > 0
    assert {event.uid.value for event in second.vevent_list} == {
        str(e["UID"]) for e in _events(response.content)
    }


@time_machine.travel(BEFORE_DST, tick=False)
def test_weekly_nine_o_clock_in_berlin_stays_nine_local_across_the_dst_change(client, world):
    # Given a weekly Tuesday 09:00 Europe/Berlin check-in, owned by the lead
    channel = _berlin_channel(world, title="Sponsor sync", recurrence_rule="FREQ=WEEKLY;BYDAY=TU")
    _, secret = calendar_feeds.calendar_feed_create(actor=world.lead)

    # When the feed is read by both parsers
    response = client.get(_feed_url(secret))
    mine = [e for e in _events(response.content) if str(e["UID"]).startswith(f"channel-{channel.pk}-")]
    second = [
        e
        for e in vobject.readOne(response.content.decode()).vevent_list
        if e.uid.value.startswith(f"channel-{channel.pk}-")
    ]

    # Then there is one event per Tuesday of the next eight weeks, each at 09:00 Berlin time with its TZID,
    # moving from 08:00 to 07:00 UTC when the clocks go forward
    starts = [e.decoded("DTSTART") for e in mine]
    assert len(starts) == 8
    assert all(
        start.tzinfo is not None and start.astimezone(BERLIN).time() == dt.time(9, 0) for start in starts
    )
    assert all(e["DTSTART"].params["TZID"] == "Europe/Berlin" for e in mine)
    assert starts[0].astimezone(UTC) == dt.datetime(2026, 3, 17, 8, 0, tzinfo=UTC)
    assert starts[2].astimezone(UTC) == dt.datetime(2026, 3, 31, 7, 0, tzinfo=UTC)
    assert [e.dtstart.value.astimezone(UTC) for e in second] == [s.astimezone(UTC) for s in starts]
    assert "Europe/Berlin" in {
        str(tz["TZID"]) for tz in icalendar.Calendar.from_ical(response.content).walk("VTIMEZONE")
    }


@time_machine.travel(BEFORE_DST, tick=False)
def test_event_names_the_check_in_and_links_to_logging_it(client, world, settings):
    # Given a channel in the lead's personal feed
    settings.SITE_URL = "https://tracker.example"
    channel = _berlin_channel(world, title="Steering prep", kind="call")
    _, secret = calendar_feeds.calendar_feed_create(actor=world.lead)

    # When the feed is read
    events = [
        e for e in _events(client.get(_feed_url(secret)).content) if f"channel-{channel.pk}-" in str(e["UID"])
    ]

    # Then the summary names kind, title, stakeholder and engagement; the description links to logging it
    first = events[0]
    assert str(first["SUMMARY"]) == f"Call: Steering prep — {channel.stakeholder.name} (EHR-A)"
    assert f"https://tracker.example/check-ins/new/?channel={channel.pk}" in str(first["DESCRIPTION"])
    assert str(first["UID"]).endswith("@pmaas-tracker")
    assert "DTSTAMP" in first


@time_machine.travel(BEFORE_DST, tick=False)
def test_personal_feed_leaves_out_paused_channels_and_channels_outside_scope(client, world):
    # Given the lead's feed, a paused channel of theirs, and channels of other teams
    paused = _berlin_channel(world, title="Paused one")
    communication_services.channel_pause(actor=world.administrator, channel=paused)
    _, secret = calendar_feeds.calendar_feed_create(actor=world.lead)

    # When the feed is read
    uids = {str(e["UID"]) for e in _events(client.get(_feed_url(secret)).content)}

    # Then only the lead's active channel on their own engagement appears
    channels = {uid.split("-")[1] for uid in uids}
    assert channels == {str(world.mine.channel.pk)}
    assert str(paused.pk) not in channels
    assert str(world.sibling.channel.pk) not in channels


@time_machine.travel(BEFORE_DST, tick=False)
def test_engagement_feed_shows_the_engagements_active_channels_for_its_team(client, world):
    # Given a second channel of the engagement, owned by the consultant, and the consultant's engagement feed
    other_owner_channel = factories.make_channel(
        role=factories.make_role(engagement=world.mine.engagement), owner=world.consultant
    )
    _, secret = calendar_feeds.calendar_feed_create(actor=world.consultant, engagement=world.mine.engagement)

    # When the feed is read
    uids = {str(e["UID"]) for e in _events(client.get(_feed_url(secret)).content)}

    # Then it holds every active channel of that engagement, whoever owns it, and nothing else
    assert {uid.split("-")[1] for uid in uids} == {str(world.mine.channel.pk), str(other_owner_channel.pk)}


@time_machine.travel(BEFORE_DST, tick=False)
def test_a_user_removed_from_the_team_no_longer_sees_its_channels(client, world):
    # Given the lead's personal feed and the consultant's engagement feed, both showing the engagement
    _, personal = calendar_feeds.calendar_feed_create(actor=world.lead)
    _, team = calendar_feeds.calendar_feed_create(actor=world.consultant, engagement=world.mine.engagement)
    assert _events(client.get(_feed_url(personal)).content)

    # When both leave the team (no service removes a member yet, so the row goes directly)
    Membership.objects.filter(
        engagement=world.mine.engagement, user__in=[world.lead, world.consultant]
    ).delete()

    # Then the personal feed is empty of that engagement and the engagement feed answers 404
    assert _events(client.get(_feed_url(personal)).content) == []
    assert client.get(_feed_url(team)).status_code == 404


def test_unknown_and_revoked_tokens_answer_404(client, world):
    # Given a feed, then its revocation
    feed, secret = calendar_feeds.calendar_feed_create(actor=world.lead)
    assert client.get(_feed_url(secret)).status_code == 200
    calendar_feeds.calendar_feed_revoke(actor=world.lead, feed=feed)

    # When the revoked and an unknown token are fetched
    revoked = client.get(_feed_url(secret))
    unknown = client.get(_feed_url("not-a-token"))

    # Then both answer 404
    assert revoked.status_code == 404
    assert unknown.status_code == 404


def test_feed_of_a_deactivated_user_answers_404(client, world):
    # Given the lead's feed, then the lead's account deactivated
    _, secret = calendar_feeds.calendar_feed_create(actor=world.lead)
    User.objects.filter(pk=world.lead.pk).update(is_active=False)

    # When the feed is fetched, then it is gone
    assert client.get(_feed_url(secret)).status_code == 404


def test_feed_answers_head_requests_that_calendar_clients_send(client, world):
    # Given a feed, when a client checks it with HEAD, then it is there, as text/calendar
    _, secret = calendar_feeds.calendar_feed_create(actor=world.lead)
    response = client.head(_feed_url(secret))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"


def test_only_a_hash_of_the_secret_is_stored(world):
    # Given a new feed
    feed, secret = calendar_feeds.calendar_feed_create(actor=world.lead)

    # When every column of the table is read back as text
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {CalendarFeed._meta.db_table}")  # noqa: S608
        stored = " ".join(str(value) for row in cursor.fetchall() for value in row)

    # Then the secret is nowhere, its SHA-256 is
    assert len(secret) >= 40
    assert secret not in stored
    assert calendar_feeds.calendar_feed_token_hash(secret) in stored
    assert feed.token_hash == calendar_feeds.calendar_feed_token_hash(secret)


def test_opening_a_feed_again_revokes_the_earlier_one_of_the_same_scope(world):
    # Given a personal feed and an engagement feed
    first, _ = calendar_feeds.calendar_feed_create(actor=world.lead)
    team, _ = calendar_feeds.calendar_feed_create(actor=world.lead, engagement=world.mine.engagement)

    # When a second personal feed is opened
    second, _ = calendar_feeds.calendar_feed_create(actor=world.lead)

    # Then the first personal feed is revoked, the engagement feed stays
    first.refresh_from_db()
    team.refresh_from_db()
    assert first.revoked_at is not None
    assert team.revoked_at is None
    assert set(CalendarFeed.objects.active().filter(owner=world.lead)) == {second, team}


def test_database_allows_one_active_feed_per_owner_and_scope(world):
    # Given an active personal feed
    feed, _ = calendar_feeds.calendar_feed_create(actor=world.lead)

    # When a second active personal row is written around the service
    # Then the database refuses it
    with pytest.raises(IntegrityError), transaction.atomic():
        CalendarFeed.objects.create(owner=world.lead, token_hash="0" * 64)
    assert feed.engagement is None


def test_engagement_feed_for_an_engagement_out_of_scope_cannot_be_created(client, world):
    # Given the consultant, who is not on the other client's engagement
    client.force_login(world.consultant)

    # When they ask for that engagement's feed on the page, or through the service
    response = client.post(reverse("calendar_feeds"), {"engagement": world.other.engagement.pk})
    prefilled = client.get(reverse("calendar_feeds"), {"engagement": world.other.engagement.pk})

    # Then the page answers 404 (or a form error, never a feed), and the service refuses
    assert response.status_code in (200, 404)
    assert prefilled.status_code == 404
    assert not CalendarFeed.objects.filter(owner=world.consultant).exists()
    with pytest.raises(NotAllowed):
        calendar_feeds.calendar_feed_create(actor=world.consultant, engagement=world.other.engagement)


def test_revoke_is_idempotent_and_only_for_the_owner_or_an_administrator(world):
    # Given the lead's feed
    feed, _ = calendar_feeds.calendar_feed_create(actor=world.lead)

    # When another consultant tries to revoke it, then the lead twice
    with pytest.raises(NotAllowed):
        calendar_feeds.calendar_feed_revoke(actor=world.consultant, feed=feed)
    calendar_feeds.calendar_feed_revoke(actor=world.lead, feed=feed)
    first_time = feed.revoked_at
    calendar_feeds.calendar_feed_revoke(actor=world.lead, feed=feed)

    # Then it is revoked once, at the first time
    assert first_time is not None
    assert feed.revoked_at == first_time


def test_last_used_is_written_at_most_once_an_hour(world):
    # Given a feed read at 10:00
    feed, _ = calendar_feeds.calendar_feed_create(actor=world.lead)
    ten = dt.datetime(2026, 3, 16, 10, 0, tzinfo=UTC)

    # When it is read again at 10:30 and at 11:01
    first = calendar_feeds.calendar_feed_mark_used(feed=feed, as_of=ten)
    soon = calendar_feeds.calendar_feed_mark_used(feed=feed, as_of=ten + dt.timedelta(minutes=30))
    later = calendar_feeds.calendar_feed_mark_used(feed=feed, as_of=ten + dt.timedelta(minutes=61))

    # Then only the first and the one an hour on write the row
    assert (first, soon, later) == (True, False, True)
    feed.refresh_from_db()
    assert feed.last_used_at == ten + dt.timedelta(minutes=61)


def test_fetching_the_feed_records_its_use(client, world):
    # Given a feed never read
    feed, secret = calendar_feeds.calendar_feed_create(actor=world.lead)

    # When a calendar client reads it
    client.get(_feed_url(secret))

    # Then its last use is recorded
    feed.refresh_from_db()
    assert feed.last_used_at is not None


@pytest.mark.parametrize("count", [5, 50])
@time_machine.travel(BEFORE_DST, tick=False)
def test_feed_query_count_does_not_grow_with_channels(client, world, django_assert_num_queries, count):
    # Given the lead's feed over `count` more channels of theirs
    role = factories.make_role(engagement=world.mine.engagement)
    for n in range(count):
        factories.make_channel(role=role, owner=world.lead, title=f"Channel {n}")
    feed, secret = calendar_feeds.calendar_feed_create(actor=world.lead)
    calendar_feeds.calendar_feed_mark_used(feed=feed, as_of=BEFORE_DST)

    # When the feed is read, then it takes the same fixed number of queries
    # (feed by token, channels in scope, the conditional last-use update)
    with django_assert_num_queries(3):
        response = client.get(_feed_url(secret))
    assert len({str(e["UID"]).split("-")[1] for e in _events(response.content)}) == count + 1


@pytest.mark.parametrize("count", [5, 50])
def test_feeds_page_query_count_does_not_grow_with_feeds(client, world, django_assert_num_queries, count):
    # Given a practice lead (who sees every engagement) with `count` engagement feeds besides a personal one
    user = factories.practice_lead()
    calendar_feeds.calendar_feed_create(actor=user)
    for _ in range(count):
        engagement = factories.make_engagement(client=world.client_b, lead=world.outsider_consultant)
        calendar_feeds.calendar_feed_create(actor=user, engagement=engagement)
    client.force_login(user)

    # When the page is opened, then its queries are fixed (session, user, engagements, feeds, bell count)
    with django_assert_num_queries(5):
        response = client.get(reverse("calendar_feeds"))
    assert len(response.context["feeds"]) == count + 1


def test_page_opens_a_feed_and_shows_its_address_once(client, world):
    # Given the lead on the calendar page
    client.force_login(world.lead)

    # When they open a feed for their engagement
    response = client.post(reverse("calendar_feeds"), {"engagement": world.mine.engagement.pk})

    # Then the page shows its address in a labelled read-only input, and the address works
    assert response.status_code == 200
    url = response.context["created"]["url"]
    assert f'value="{url}"' in response.content.decode()
    assert 'for="calendar-feed-url"' in response.content.decode()
    token = url.rsplit("/", 1)[1].removesuffix(".ics")
    assert client.get(_feed_url(token)).status_code == 200

    # And reloading the page does not show it again
    assert url not in client.get(reverse("calendar_feeds")).content.decode()


def test_page_revokes_a_feed_and_redirects(client, world):
    # Given the lead's feed
    feed, secret = calendar_feeds.calendar_feed_create(actor=world.lead)
    client.force_login(world.lead)

    # When they revoke it on the page
    response = client.post(reverse("calendar_feed_revoke", args=[feed.pk]))

    # Then they are redirected to the page, and the address stops working
    assert response.status_code == 302
    assert response["Location"] == reverse("calendar_feeds")
    assert client.get(_feed_url(secret)).status_code == 404


def test_someone_elses_feed_cannot_be_revoked_through_the_page(client, world):
    # Given the lead's feed and the consultant logged in
    feed, secret = calendar_feeds.calendar_feed_create(actor=world.lead)
    client.force_login(world.consultant)

    # When the consultant posts its revocation
    response = client.post(reverse("calendar_feed_revoke", args=[feed.pk]))

    # Then it is 404 and the feed keeps working
    assert response.status_code == 404
    assert client.get(_feed_url(secret)).status_code == 200


def test_plan_and_settings_pages_link_to_the_calendar_page(client, world):
    # Given the lead logged in
    client.force_login(world.lead)

    # When they open the plan and their settings
    plan = client.get(reverse("engagement_plan", args=[world.mine.engagement.pk])).content.decode()
    settings_page = client.get(reverse("account_settings")).content.decode()

    # Then both link to the calendar feeds, the plan's with the engagement chosen
    assert f"{reverse('calendar_feeds')}?engagement={world.mine.engagement.pk}" in plan
    assert "Subscribe to this plan in your calendar" in plan
    assert reverse("calendar_feeds") in settings_page


def test_feeds_are_visible_to_their_owner_and_administrators_only(world):
    # Given a feed of the lead's and one of the consultant's
    lead_feed, _ = calendar_feeds.calendar_feed_create(actor=world.lead)
    consultant_feed, _ = calendar_feeds.calendar_feed_create(actor=world.consultant)

    # When each kind of user asks which feeds they see
    def seen(user):
        return set(CalendarFeed.objects.visible_to(user))

    # Then owners see their own, administrators all, everyone else (practice lead included) none of these
    assert seen(world.lead) == {lead_feed}
    assert seen(world.consultant) == {consultant_feed}
    assert seen(world.administrator) == {lead_feed, consultant_feed}
    assert seen(world.practice_lead) == set()
    assert seen(world.client_user) == set()
    assert seen(None) == set()


# The feed against the dispatcher, read by two independent parsers: icalendar and the strict `ical`.


def _utc(moment: dt.date) -> dt.datetime:
    assert isinstance(moment, dt.datetime)
    assert moment.tzinfo is not None
    return moment.astimezone(UTC)


def _parsed_by_both(body, channel):
    """Each parser's (start, end, transparency) of the channel's events, in UTC, in order."""
    prefix = f"channel-{channel.pk}-"
    first = [
        (_utc(e.start), _utc(e.end), str(e["TRANSP"]))
        for e in icalendar.Calendar.from_ical(body).events
        if str(e["UID"]).startswith(prefix)
    ]
    second = [
        (_utc(e.start), _utc(e.end), e.transparency)
        for e in IcsCalendarStream.calendar_from_ics(body.decode()).events
        if e.uid.startswith(prefix)
    ]
    return first, second


def _dispatcher_due_times(channel, *, after, until):
    """What the dispatcher writes as the channel's next due time, one after the other."""
    due_times = []
    while (due := scheduling.channel_compute_next_due(channel=channel, after=after)) and due <= until:
        due_times.append(due)
        after = due
    return due_times


def _german_channel(world, *, skip, **kwargs):
    engagement = factories.make_engagement(
        client=world.client_a, lead=world.lead, country="DE", skip_non_working_days=skip
    )
    stakeholder = factories.make_stakeholder(client=world.client_a, time_zone="Europe/Berlin")
    role = factories.make_role(engagement=engagement, stakeholder=stakeholder)
    return factories.make_channel(role=role, owner=world.lead, **kwargs)


@time_machine.travel(BEFORE_DST, tick=False)
def test_feed_passes_over_easter_and_may_day_as_the_dispatcher_does(client, world):
    # Given a German engagement that skips non-working days, with a 09:00 Berlin check-in every weekday,
    # and the lead's feed read on 16 March 2026: its eight weeks cross the clock change of 29 March,
    # Good Friday (3 April), Easter Monday (6 April) and Labour Day (1 May)
    channel = _german_channel(
        world, skip=True, recurrence_rule="FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", starts_on=dt.date(2026, 3, 2)
    )
    _, secret = calendar_feeds.calendar_feed_create(actor=world.lead)

    # When the feed is read by both parsers
    first, second = _parsed_by_both(client.get(_feed_url(secret)).content, channel)

    # Then both read the same events, at exactly the due times the dispatcher plans, none on a holiday
    planned = _dispatcher_due_times(channel, after=BEFORE_DST, until=BEFORE_DST + dt.timedelta(weeks=8))
    assert first == second
    assert [start for start, _, _ in first] == planned
    assert planned[0] == channel.next_due_at
    local_dates = {start.astimezone(BERLIN).date() for start, _, _ in first}
    assert local_dates.isdisjoint({dt.date(2026, 4, 3), dt.date(2026, 4, 6), dt.date(2026, 5, 1)})
    assert {dt.date(2026, 4, 2), dt.date(2026, 4, 7), dt.date(2026, 4, 30)} <= local_dates
    assert {start.astimezone(BERLIN).time() for start, _, _ in first} == {dt.time(9, 0)}
    assert first[0][0] == dt.datetime(2026, 3, 17, 8, 0, tzinfo=UTC)
    assert dt.datetime(2026, 3, 30, 7, 0, tzinfo=UTC) in planned


@time_machine.travel(BEFORE_DST, tick=False)
def test_feed_of_an_engagement_that_skips_nothing_keeps_the_holidays(client, world):
    # Given the same weekday check-in on a German engagement that does not skip non-working days
    channel = _german_channel(
        world, skip=False, recurrence_rule="FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", starts_on=dt.date(2026, 3, 2)
    )
    _, secret = calendar_feeds.calendar_feed_create(actor=world.lead)

    # When the feed is read
    first, second = _parsed_by_both(client.get(_feed_url(secret)).content, channel)

    # Then Good Friday and Easter Monday are there, as the dispatcher plans them
    assert first == second
    assert {dt.date(2026, 4, 3), dt.date(2026, 4, 6)} <= {
        start.astimezone(BERLIN).date() for start, _, _ in first
    }


@time_machine.travel(BEFORE_DST, tick=False)
def test_events_last_the_channels_duration_and_show_as_busy(client, world):
    # Given a 45-minute weekly check-in and one left at the default length
    long_one = _berlin_channel(
        world, recurrence_rule="FREQ=WEEKLY;BYDAY=TU", duration=dt.timedelta(minutes=45)
    )
    default = _berlin_channel(world, recurrence_rule="FREQ=WEEKLY;BYDAY=WE")
    _, secret = calendar_feeds.calendar_feed_create(actor=world.lead)

    # When the feed is read by both parsers
    body = client.get(_feed_url(secret)).content

    # Then every event ends its channel's duration after it starts, across the clock change too, and is busy
    for channel, length in ((long_one, dt.timedelta(minutes=45)), (default, dt.timedelta(minutes=30))):
        first, second = _parsed_by_both(body, channel)
        assert first == second
        assert len(first) == 8
        assert {end - start for start, end, _ in first} == {length}
        assert {transparency for _, _, transparency in first} == {"OPAQUE"}
    assert b"TRANSPARENT" not in body


@time_machine.travel(dt.datetime(2026, 3, 26, 12, 0, tzinfo=UTC), tick=False)
def test_a_meeting_in_the_spring_forward_gap_shows_when_the_dispatcher_holds_it(client, world):
    # Given a daily 02:30 Berlin check-in: on 29 March 2026 the clocks jump from 02:00 to 03:00
    channel = _german_channel(world, skip=False, recurrence_rule="FREQ=DAILY", local_time=dt.time(2, 30))
    _, secret = calendar_feeds.calendar_feed_create(actor=world.lead)

    # When the feed is read by both parsers
    first, second = _parsed_by_both(client.get(_feed_url(secret)).content, channel)

    # Then both place that day's meeting where the dispatcher does: moved on by the gap, 03:30 CEST
    assert first == second
    starts = [start for start, _, _ in first]
    assert starts == _dispatcher_due_times(
        channel, after=dt.datetime(2026, 3, 26, 12, 0, tzinfo=UTC), until=starts[-1]
    )
    assert dt.datetime(2026, 3, 28, 1, 30, tzinfo=UTC) in starts
    assert dt.datetime(2026, 3, 29, 1, 30, tzinfo=UTC) in starts
    assert dt.datetime(2026, 3, 30, 0, 30, tzinfo=UTC) in starts
    assert {end - start for start, end, _ in first} == {dt.timedelta(minutes=30)}


@time_machine.travel(dt.datetime(2026, 10, 22, 12, 0, tzinfo=UTC), tick=False)
def test_a_meeting_in_the_repeated_autumn_hour_takes_its_first_instance_and_ends_after_it_starts(
    client, world
):
    # Given a daily 02:30 Berlin check-in: on 25 October 2026 the clocks go back from 03:00 to 02:00,
    # so 02:30 comes twice and the half hour after the first 02:30 ends at the second 02:00
    channel = _german_channel(world, skip=False, recurrence_rule="FREQ=DAILY", local_time=dt.time(2, 30))
    _, secret = calendar_feeds.calendar_feed_create(actor=world.lead)

    # When the feed is read by both parsers
    first, second = _parsed_by_both(client.get(_feed_url(secret)).content, channel)

    # Then both read the first 02:30 (00:30 UTC), as the dispatcher plans it, lasting its half hour
    assert first == second
    starts = [start for start, _, _ in first]
    assert starts == _dispatcher_due_times(
        channel, after=dt.datetime(2026, 10, 22, 12, 0, tzinfo=UTC), until=starts[-1]
    )
    assert (
        dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        dt.datetime(2026, 10, 25, 1, 0, tzinfo=UTC),
        "OPAQUE",
    ) in first
    assert dt.datetime(2026, 10, 26, 1, 30, tzinfo=UTC) in starts
    assert all(end - start == dt.timedelta(minutes=30) for start, end, _ in first)


@time_machine.travel(dt.datetime(2026, 12, 14, 12, 0, tzinfo=UTC), tick=False)
def test_vtimezone_covers_every_year_the_events_span(client, world):
    # Given a weekly Berlin check-in, and a feed read in mid-December whose eight weeks run into 2027
    channel = _berlin_channel(world, recurrence_rule="FREQ=WEEKLY;BYDAY=TU")
    _, secret = calendar_feeds.calendar_feed_create(actor=world.lead)

    # When the feed's own VTIMEZONE is turned into a zone by each parser, without looking the name up
    body = client.get(_feed_url(secret)).content
    by_icalendar = next(
        tz for tz in icalendar.Calendar.from_ical(body).timezones if tz.tz_name == "Europe/Berlin"
    ).to_tz(lookup_tzid=False)
    by_ical = IcsTimezoneInfo.from_timezone(
        next(
            tz
            for tz in IcsCalendarStream.calendar_from_ics(body.decode()).timezones
            if tz.tz_id == "Europe/Berlin"
        )
    )

    # Then both give Berlin's real offset at noon on every day of 2026 and 2027, both clock changes of
    # each year included, and place every event where the dispatcher has it
    day = dt.date(2026, 1, 1)
    while day.year < 2028:
        noon = dt.datetime.combine(day, dt.time(12, 0))
        expected = noon.replace(tzinfo=BERLIN).utcoffset()
        assert noon.replace(tzinfo=by_icalendar).utcoffset() == expected, day
        assert noon.replace(tzinfo=by_ical).utcoffset() == expected, day
        day += dt.timedelta(days=1)
    first, _ = _parsed_by_both(body, channel)
    assert [start.year for start, _, _ in first] == [2026, 2026, 2026] + [2027] * 5
    for start, _, _ in first:
        wall = start.astimezone(BERLIN).replace(tzinfo=None)
        assert wall.replace(tzinfo=by_icalendar).astimezone(UTC) == start
        assert wall.replace(tzinfo=by_ical).astimezone(UTC) == start
    assert [
        e.dtstart.value.astimezone(UTC)
        for e in vobject.readOne(body.decode()).vevent_list
        if e.uid.value.startswith(f"channel-{channel.pk}-")
    ] == [start for start, _, _ in first]

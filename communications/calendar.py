"""iCalendar (RFC 5545) feeds of upcoming due check-ins.

Each occurrence in the window is its own VEVENT rather than one VEVENT with
an RRULE per channel: the feed then shows exactly the due times the
dispatcher computes (communications.recurrence, including how a local time
skipped or repeated by a clock change resolves), instead of leaving each
calendar client to expand the rule its own way. DTSTART carries the
stakeholder's TZID and the calendar a VTIMEZONE for it, so a weekly 09:00
Europe/Berlin check-in shows at 09:00 local on both sides of a DST change.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import QuerySet
from django.urls import reverse
from icalendar import Calendar, Event

from accounts.models import CalendarFeed
from communications.models import Channel
from communications.recurrence import next_occurrence
from engagements.models import Engagement
from pmaas.errors import NotFound

WINDOW = timedelta(weeks=8)
PRODID = "-//PMaaS Engagement Tracker//Due check-ins//EN"
UID_DOMAIN = "pmaas-tracker"


def feed_channels(*, feed: CalendarFeed) -> QuerySet[Channel]:
    """The active channels a feed shows, scoped through its OWNER's visibility as of now.

    A personal feed shows the channels the owner owns on engagements they may
    still see; an engagement feed the engagement's active channels, or 404 once
    the owner may no longer see the engagement. Scoping by the owner (not by
    whoever fetches the URL) is what makes a removal from a team empty the feed.
    """
    channels = Channel.objects.visible_to(feed.owner).active()
    if feed.engagement_id is None:
        channels = channels.filter(owner=feed.owner)
    else:
        if not Engagement.objects.visible_to(feed.owner).filter(pk=feed.engagement_id).exists():
            raise NotFound("No such calendar feed.")
        channels = channels.filter(engagement_id=feed.engagement_id)
    return channels.select_related("stakeholder", "engagement").order_by("pk")


def occurrences(*, channel: Channel, start: datetime, end: datetime) -> Iterator[datetime]:
    """The channel's due times after ``start`` up to ``end``, in UTC; none for an unusable rule."""
    cursor = start
    while True:
        due = next_occurrence(
            rule=channel.recurrence,
            starts_on=channel.starts_on,
            local_time=channel.local_time,
            time_zone=channel.stakeholder.time_zone,
            after=cursor,
        )
        if due is None or due > end:
            return
        yield due
        cursor = due


def _check_in_url(channel: Channel) -> str:
    return f"{settings.SITE_URL}{reverse('check_in_create')}?{urlencode({'channel': channel.pk})}"


def _event(channel: Channel, due: datetime, stamp: datetime) -> Event:
    event = Event()
    event.add("uid", f"channel-{channel.pk}-{due:%Y%m%dT%H%M%SZ}@{UID_DOMAIN}")
    event.add("dtstamp", stamp)
    event.add("dtstart", due.astimezone(ZoneInfo(channel.stakeholder.time_zone)))
    event.add(
        "summary",
        f"{channel.get_kind_display()}: {channel.title} — {channel.stakeholder} ({channel.engagement.code})",
    )
    link = _check_in_url(channel)
    event.add("description", f"Log the check-in: {link}")
    event.add("url", link)
    event.add("transp", "TRANSPARENT")
    return event


def calendar_name(feed: CalendarFeed) -> str:
    if feed.engagement_id is None:
        return f"Due check-ins of {feed.owner}"
    return f"Due check-ins · {feed.engagement.code if feed.engagement else ''}"


def build_calendar(*, feed: CalendarFeed, channels: Iterable[Channel], as_of: datetime) -> bytes:
    """The feed's VCALENDAR: one VEVENT per due check-in from ``as_of`` to eight weeks on."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", calendar_name(feed))
    stamp = as_of.astimezone(UTC)
    end = as_of + WINDOW
    for channel in channels:
        for due in occurrences(channel=channel, start=as_of, end=end):
            calendar.add_component(_event(channel, due, stamp))
    # A VTIMEZONE spanning only the window: the default (1970-2038) lists every
    # transition as RDATEs, which some parsers (vobject) misread, placing
    # summer-time events an hour off; a few dated transitions are read right.
    calendar.add_missing_timezones(
        first_date=(as_of - timedelta(days=2)).date(), last_date=(end + timedelta(days=2)).date()
    )
    return calendar.to_ical()

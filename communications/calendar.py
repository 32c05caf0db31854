"""iCalendar (RFC 5545) feeds of upcoming due check-ins.

Each occurrence in the window is its own VEVENT rather than one VEVENT with
an RRULE per channel: the feed then shows exactly the due times the
dispatcher computes (``scheduling.channel_due_times``: the engagement's
skipped non-working days, and how a local time skipped or repeated by a
clock change resolves), instead of leaving each calendar client to expand
the rule its own way, which knows nothing of public holidays. DTSTART and
DTEND carry the stakeholder's TZID and the calendar a VTIMEZONE for it, so a
weekly 09:00 Europe/Berlin check-in shows at 09:00 local on both sides of a
DST change. Events last the channel's duration and are busy (OPAQUE): the
time is taken.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import QuerySet
from django.urls import reverse
from icalendar import Calendar, Event

from accounts.models import CalendarFeed
from communications.models import Channel
from communications.scheduling import channel_due_times
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
    return channels.select_related("stakeholder", "engagement__client").order_by("pk")


def occurrences(*, channel: Channel, start: datetime, end: datetime) -> Iterator[datetime]:
    """The channel's due times after ``start`` up to ``end``, in UTC, as the dispatcher plans them."""
    return channel_due_times(channel=channel, after=start, until=end)


def _check_in_url(channel: Channel) -> str:
    return f"{settings.SITE_URL}{reverse('check_in_create')}?{urlencode({'channel': channel.pk})}"


def _event(channel: Channel, due: datetime, stamp: datetime) -> Event:
    event = Event()
    event.add("uid", f"channel-{channel.pk}-{due:%Y%m%dT%H%M%SZ}@{UID_DOMAIN}")
    event.add("dtstamp", stamp)
    zone = ZoneInfo(channel.stakeholder.time_zone)
    # The dispatcher places a repeated local time at its first instance, which
    # is how RFC 5545 reads a TZID time too, so the start is written as is.
    event.add("dtstart", due.astimezone(zone))
    # Computed in UTC, then placed: an event across a clock change still lasts its duration.
    end = (due + channel.duration).astimezone(zone)
    if end.replace(fold=0).astimezone(UTC) == end.astimezone(UTC):
        event.add("dtend", end)
    else:
        # The end falls in the second run of an hour the clocks repeat, which a
        # TZID time cannot name (it reads as the first, before the start). A
        # DURATION would be exact by RFC 5545, but parsers add it to the wall
        # clock and end an hour late; UTC names the instant for everyone.
        event.add("dtend", end.astimezone(UTC))
    named = channel.title if channel.title_names_kind else f"{channel.get_kind_display()}: {channel.title}"
    event.add("summary", f"{named} — {channel.stakeholder} ({channel.engagement.code})")
    link = _check_in_url(channel)
    event.add("description", f"Log the check-in: {link}")
    event.add("url", link)
    event.add("transp", "OPAQUE")
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
    years: set[int] = set()
    for channel in channels:
        for due in occurrences(channel=channel, start=as_of, end=end):
            event = _event(channel, due, stamp)
            calendar.add_component(event)
            years.update(moment.year for moment in (event.start, event.end))
    if years:
        # A VTIMEZONE of every transition in each whole year the events touch:
        # a client that reads the zone from the feed alone places every event
        # right, and a feed fetched in December covers January's events and the
        # next year's clock changes. Not the default span (1970-2038): that
        # lists every transition as an RDATE, which some parsers (vobject)
        # misread, placing summer-time events an hour off.
        calendar.add_missing_timezones(
            first_date=date(min(years), 1, 1), last_date=date(max(years) + 1, 1, 1)
        )
        _list_every_onset(calendar)
    return calendar.to_ical()


def _list_every_onset(calendar: Calendar) -> None:
    """Name each observance's DTSTART among its RDATEs too, as RFC 5545's own RDATE example does.

    The standard counts DTSTART as the first onset, but a strict reader (the
    ``ical`` package) takes the onsets from RDATE and RRULE alone, and would
    miss each observance's first clock change, leaving the zone at UTC until
    the second.
    """
    for observance in [*calendar.walk("STANDARD"), *calendar.walk("DAYLIGHT")]:
        onsets = [observance.decoded("DTSTART")]
        listed = observance.pop("RDATE", [])
        for rdate in listed if isinstance(listed, list) else [listed]:
            onsets.extend(period.dt for period in rdate.dts)
        observance.add("RDATE", onsets)

"""When a subscription's updates go out, and which days each one covers, in the recipient's own zone.

A cadence is a recurrence rule expanded in local wall-clock time by
``communications.recurrence`` (so Monday 08:00 stays 08:00 across a
daylight-saving change); a monthly update goes on the first chosen weekday
of the month.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

from communications import recurrence
from communications.models import SponsorSubscription

Cadence = SponsorSubscription.Cadence

_RULES = {
    Cadence.WEEKLY: "FREQ=WEEKLY;BYDAY={day}",
    Cadence.FORTNIGHTLY: "FREQ=WEEKLY;INTERVAL=2;BYDAY={day}",
    Cadence.MONTHLY: "FREQ=MONTHLY;BYDAY=1{day}",
}
_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
# Far enough back that the previous send of any cadence lies inside the search, and a whole
# number of fortnights, so an every-other-week rule keeps its phase.
_LOOK_BACK = timedelta(days=70)


@dataclass(frozen=True)
class Period:
    """The local days one update covers: from ``start`` up to the day before ``end``, its due date."""

    start: date
    end: date


def subscription_rule(subscription: SponsorSubscription) -> str:
    return _RULES[Cadence(subscription.cadence)].format(day=_DAYS[subscription.weekday])


def local_date(moment: datetime, time_zone: str) -> date:
    return moment.astimezone(ZoneInfo(time_zone)).date()


def next_send_at(
    subscription: SponsorSubscription, *, after: datetime, anchor: datetime | None = None
) -> datetime | None:
    """The first local send time strictly after ``after``, in UTC.

    ``anchor`` is the send the cadence counts from (the one just made), so an
    every-other-week update keeps its weeks; without it the cadence starts
    afresh from ``after`` (a new subscription or a changed schedule).
    """
    start = anchor or after
    return recurrence.next_occurrence(
        rule=subscription_rule(subscription),
        starts_on=local_date(start, subscription.time_zone),
        local_time=subscription.local_time,
        time_zone=subscription.time_zone,
        after=after,
    )


def after_last_send(subscription: SponsorSubscription, *, last: datetime, as_of: datetime) -> datetime:
    """The moment a changed schedule may send from: not in the week (month, for a monthly one) of ``last``.

    The update of that week was sent; a new day in the same week would send
    it again a day or two later.
    """
    day = local_date(last, subscription.time_zone)
    if subscription.cadence == SponsorSubscription.Cadence.MONTHLY:
        boundary = (day.replace(day=1) + timedelta(days=32)).replace(day=1)
    else:
        boundary = day + timedelta(days=7 - day.weekday())
    start = datetime.combine(boundary, time.min, tzinfo=ZoneInfo(subscription.time_zone))
    return max(as_of, start)


def period_for(subscription: SponsorSubscription, *, send_at: datetime, since: date | None = None) -> Period:
    """The days the update due at ``send_at`` covers: since the cadence's previous send.

    ``since`` is where the last update sent on schedule stopped (its
    ``period_end``). When the schedule changed in between, the update starts
    there instead, so no day falls between two updates and none is told
    twice; after a gap of more than two cadences (a long pause) it covers
    only its own cadence.
    """
    end = local_date(send_at, subscription.time_zone)
    previous = recurrence.previous_occurrence(
        rule=subscription_rule(subscription),
        starts_on=end - _LOOK_BACK,
        local_time=subscription.local_time,
        time_zone=subscription.time_zone,
        before=send_at,
    )
    start = local_date(previous, subscription.time_zone) if previous is not None else end - timedelta(days=7)
    if since is not None and since < end and (since > start or end - since <= 2 * (end - start)):
        start = since
    return Period(start=start, end=end)


def period_up_to(subscription: SponsorSubscription, *, as_of: datetime) -> Period:
    """The days an update sent at ``as_of`` outside the schedule covers: one cadence up to today.

    Today included, in the recipient's zone: a week, a fortnight or a month.
    "Send now" sends this, and the team's preview shows it, so the preview is
    what the mail holds. (A scheduled update covers the cadence before its due
    day: ``period_for``.)
    """
    today = local_date(as_of, subscription.time_zone)
    end = today + timedelta(days=1)
    cadence = Cadence(subscription.cadence)
    if cadence == Cadence.MONTHLY:
        start = end - relativedelta(months=1)
    else:
        start = end - timedelta(days=14 if cadence == Cadence.FORTNIGHTLY else 7)
    return Period(start=start, end=end)


def is_paused(subscription: SponsorSubscription, *, send_at: datetime) -> bool:
    paused_until = subscription.paused_until
    return paused_until is not None and local_date(send_at, subscription.time_zone) <= paused_until


def pause_in_force(subscription: SponsorSubscription, *, as_of: datetime) -> date | None:
    """The day the subscription's pause ends, or None when it has none or it ended before today.

    Today is the recipient's, in their zone; a pause is inclusive of its last day.
    """
    paused_until = subscription.paused_until
    if paused_until is None or paused_until < local_date(as_of, subscription.time_zone):
        return None
    return paused_until

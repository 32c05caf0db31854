"""Weekly roll-ups: keep one summed row per engagement and week, so trends never group raw rows.

A week runs from Monday 00:00 to the next Monday 00:00 in the engagement's
client's time zone, so a week that holds a daylight-saving change is 167 or
169 hours long and a Monday-morning meeting always lands in its own week.

Beside each engagement's row, one row per person of the firm with a part in
that week (``ConsultantWeeklyRollup``): the check-ins they took part in (a
team attendee, or the one who logged it, once each) and their sentiment,
the occurrences of the channels they own, the follow-ups they owe overdue.
The same refresh computes both, from the same grouped reads, and replaces
the person rows of the weeks it computes, so a person's trend reads rows
too, never the check-ins.

``weekly_rollups_refresh`` recomputes whole rows from their inputs: check-ins
(meetings, sentiment), occurrences (planned, due, held, held on time,
missed) and follow-ups (overdue when the week ended). The aggregation is
done by the database, a fixed number of grouped queries per batch, and each
batch is written with one INSERT … ON CONFLICT DO UPDATE. It is called by
the services that change an input (logging a check-in, the missed sweep,
completing or re-dating follow-ups) and by the periodic sweep
(``weekly_rollups_sweep``), which catches what time alone changes. Both are
idempotent: a rerun rewrites the same figures.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Case, Count, DateTimeField, Exists, OuterRef, Q, QuerySet, Sum, Value, When
from django.db.models.functions import TruncWeek

from communications.models import CheckIn, ConsultantWeeklyRollup, FollowUp, Occurrence, WeeklyRollup
from engagements.models import Engagement

# Each batch is six statements whatever its size; 500 engagements keep the
# upsert under a few thousand rows for the sweep's two weeks.
SWEEP_BATCH_SIZE = 500
FIGURES = (
    "meetings",
    "occurrences_planned",
    "occurrences_due",
    "occurrences_held",
    "occurrences_held_on_time",
    "occurrences_missed",
    "overdue_follow_ups",
    "sentiment_sum",
    "sentiment_count",
)
# No zone is further than this from UTC.
ZONE_REACH = timedelta(hours=14)
_COUNTED = (Occurrence.Status.DUE, Occurrence.Status.HELD, Occurrence.Status.MISSED)


def week_start_of(moment: datetime, zone: tzinfo) -> date:
    """The Monday of the week ``moment`` falls in, in ``zone``."""
    local = moment.astimezone(zone).date()
    return local - timedelta(days=local.weekday())


def week_bounds(week: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of the week starting on Monday ``week``, in ``zone``: 7 local days, DST included."""
    return (
        datetime.combine(week, time(0), tzinfo=zone),
        datetime.combine(week + timedelta(days=7), time(0), tzinfo=zone),
    )


def weeks_ending(last: date, count: int) -> list[date]:
    """``count`` Mondays, oldest first, the last of them ``last``."""
    return [last - timedelta(weeks=back) for back in range(count - 1, -1, -1)]


def weekly_moments(*, since: datetime, until: datetime) -> list[datetime]:
    """A moment in every week from ``since`` to ``until``: what a follow-up already past due touches.

    Such an item counts as overdue at the end of each of those weeks, so each
    is refreshed; the moments run a week past ``until``, whose weeks the
    refresh leaves alone as they have not begun.
    """
    if since >= until:
        return []
    return [since + timedelta(weeks=step) for step in range((until - since).days // 7 + 2)]


def week_value_date(value: Any) -> date:
    # The truncated week comes back as a local midnight; what kind of value
    # depends on the database (aware, naive or text): its date is the Monday.
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _local_week(field: str, path: str, zones: dict[str, list[int]]) -> Case:
    """The Monday ``field`` falls in, in the zone of the engagement at ``path``; one CASE, no join."""
    return Case(
        *(
            When(**{f"{path}__in": ids}, then=TruncWeek(field, tzinfo=ZoneInfo(zone)))
            for zone, ids in zones.items()
        ),
        output_field=DateTimeField(),
    )


def _zones_of(engagement_ids: Sequence[int]) -> dict[int, ZoneInfo]:
    rows = Engagement.objects.filter(pk__in=engagement_ids).values_list("pk", "client__time_zone")
    return {pk: ZoneInfo(zone) for pk, zone in rows}


class _Deferred(threading.local):
    active = False


_deferred = _Deferred()


@contextmanager
def weekly_rollups_deferred() -> Iterator[None]:
    """Within this block, refreshes asked for by services are skipped; the caller refreshes after it.

    For a bulk replay (the demo's history), where refreshing the same weeks
    after every check-in would be wasted: one refresh of every week at the end
    writes the same rows.
    """
    previous, _deferred.active = _deferred.active, True
    try:
        yield
    finally:
        _deferred.active = previous


def weekly_rollups_refresh(
    *,
    engagement_ids: Iterable[int],
    weeks: Iterable[date] = (),
    moments: Iterable[datetime] = (),
    as_of: datetime,
) -> int:
    """Recompute the roll-up rows of these engagements for these weeks, and write them.

    ``weeks`` are Mondays, each read in every engagement's own zone;
    ``moments`` name the weeks they fall in, per engagement (a check-in's
    time, an occurrence's due time). A week that has not begun at ``as_of``
    is left alone; the current one counts follow-ups overdue at ``as_of``.
    Rows are written whole (zeros included), so a figure that fell back is
    written back too, and the person rows of those weeks replaced. Eight
    queries however many engagements, plus one per distinct week for the
    overdue follow-ups. Idempotent; skipped inside
    ``weekly_rollups_deferred``. Returns the rows written.
    """
    if _deferred.active:
        return 0
    ids = sorted(set(engagement_ids))
    mondays = set(weeks)
    instants = list(moments)
    if not ids or not (mondays or instants):
        return 0
    zones = _zones_of(ids)
    wanted: dict[int, set[date]] = {}
    for pk, zone in zones.items():
        own = set(mondays) | {week_start_of(moment, zone) for moment in instants}
        # A week that has not begun has nothing to sum yet.
        wanted[pk] = {week for week in own if week_bounds(week, zone)[0] <= as_of}
    wanted = {pk: own for pk, own in wanted.items() if own}
    if not wanted:
        return 0
    rows, people = _compute(wanted, zones, as_of=as_of)
    return _write(rows, people, as_of=as_of)


Rows = dict[tuple[int, date], dict[str, int]]
PersonRows = dict[tuple[int, int, date], dict[str, int]]


def _compute(
    wanted: dict[int, set[date]], zones: dict[int, ZoneInfo], *, as_of: datetime
) -> tuple[Rows, PersonRows]:
    by_zone: dict[str, list[int]] = defaultdict(list)
    for pk in wanted:
        by_zone[zones[pk].key].append(pk)
    starts, ends = [], []
    for pk, own in wanted.items():
        for week in own:
            start, end = week_bounds(week, zones[pk])
            starts.append(start)
            ends.append(end)
    first, last = min(starts), max(ends)
    ids = list(wanted)
    rows: dict[tuple[int, date], dict[str, int]] = {
        (pk, week): dict.fromkeys(FIGURES, 0) for pk, own in wanted.items() for week in own
    }

    people: PersonRows = {}

    def add(pk: int, week_value: Any, person: int | None = None, **figures: int | None) -> None:
        week = week_value_date(week_value)
        row = rows.get((pk, week))
        if row is None:
            return
        targets = (
            [row] if person is None else [people.setdefault((person, pk, week), dict.fromkeys(FIGURES, 0))]
        )
        for target in targets:
            for name, value in figures.items():
                target[name] += value or 0

    in_weeks = CheckIn.objects.filter(engagement_id__in=ids, occurred_at__gte=first, occurred_at__lt=last)
    check_ins = (
        in_weeks.annotate(week=_local_week("occurred_at", "engagement_id", by_zone))
        .order_by()
        .values("engagement_id", "week")
        .annotate(meetings=Count("pk"), sentiment_sum=Sum("sentiment"))
    )
    for row in check_ins:
        add(
            row["engagement_id"],
            row["week"],
            meetings=row["meetings"],
            sentiment_sum=row["sentiment_sum"],
            sentiment_count=row["meetings"],
        )
    # Who took part: each team attendee, and whoever logged it when not among them (once each).
    # The auto-created through model is untyped for the checker.
    team: Any = CheckIn.team_attendees.through
    attended = (
        team.objects.filter(checkin__in=in_weeks.values("pk"))
        .annotate(week=_local_week("checkin__occurred_at", "checkin__engagement_id", by_zone))
        .order_by()
        .values("user_id", "checkin__engagement_id", "week")
        .annotate(meetings=Count("pk"), sentiment_sum=Sum("checkin__sentiment"))
        .values_list("user_id", "checkin__engagement_id", "week", "meetings", "sentiment_sum")
    )
    attendee = team.objects.filter(checkin_id=OuterRef("pk"), user_id=OuterRef("logged_by_id"))
    logged = (
        in_weeks.filter(~Exists(attendee))
        .annotate(week=_local_week("occurred_at", "engagement_id", by_zone))
        .order_by()
        .values("logged_by_id", "engagement_id", "week")
        .annotate(meetings=Count("pk"), sentiment_sum=Sum("sentiment"))
        .values_list("logged_by_id", "engagement_id", "week", "meetings", "sentiment_sum")
    )
    for source in (attended, logged):
        for person, pk, week, meetings, sentiment_sum in source:
            add(pk, week, person, meetings=meetings, sentiment_sum=sentiment_sum, sentiment_count=meetings)

    # Grouped by owner as well: the engagement's row sums its owners' rows. Through the channel, not
    # the occurrence's own engagement column: migration 0024 runs this refresh before 0028 adds it.
    occurrences = (
        Occurrence.objects.filter(channel__engagement_id__in=ids, due_at__gte=first, due_at__lt=last)
        .exclude(status=Occurrence.Status.CANCELLED)
        .annotate(week=_local_week("due_at", "channel__engagement_id", by_zone))
        .order_by()
        .values("channel__engagement_id", "channel__owner_id", "week")
        .annotate(
            planned=Count("pk"),
            due=Count("pk", filter=Q(status__in=_COUNTED)),
            held=Count("pk", filter=Q(status=Occurrence.Status.HELD)),
            held_on_time=Count("pk", filter=Q(status=Occurrence.Status.HELD, held_on_time=True)),
            missed=Count("pk", filter=Q(status=Occurrence.Status.MISSED)),
        )
    )
    for row in occurrences:
        figures = {
            "occurrences_planned": row["planned"],
            "occurrences_due": row["due"],
            "occurrences_held": row["held"],
            "occurrences_held_on_time": row["held_on_time"],
            "occurrences_missed": row["missed"],
        }
        add(row["channel__engagement_id"], row["week"], **figures)
        add(row["channel__engagement_id"], row["week"], row["channel__owner_id"], **figures)

    for week in sorted({week for own in wanted.values() for week in own}):
        for (pk, owner), count in _overdue_at_week_end(week, wanted, zones, as_of=as_of).items():
            rows[(pk, week)]["overdue_follow_ups"] += count
            if owner is not None:
                add(pk, week, owner, overdue_follow_ups=count)
    return rows, people


def _overdue_at_week_end(
    week: date, wanted: dict[int, set[date]], zones: dict[int, ZoneInfo], *, as_of: datetime
) -> dict[tuple[int, int | None], int]:
    """Per engagement and team owner (None: a stakeholder owes it), follow-ups overdue when ``week``
    ended in its zone (at ``as_of`` for this week).

    Overdue then: past due and not yet done at that moment (completed later, or
    still open). A cancelled item never counts: when it was dropped is not
    recorded, and a dropped item owes nothing. One grouped query.
    """
    cutoffs: dict[int, datetime] = {
        pk: min(week_bounds(week, zones[pk])[1], as_of) for pk, own in wanted.items() if week in own
    }
    if not cutoffs:
        return {}
    cutoff = Case(
        *(When(engagement_id=pk, then=Value(moment)) for pk, moment in cutoffs.items()),
        output_field=DateTimeField(),
    )
    rows = (
        FollowUp.objects.filter(engagement_id__in=list(cutoffs))
        .exclude(status=FollowUp.Status.CANCELLED)
        .alias(cutoff=cutoff)
        .filter(Q(due_at__lt=cutoff.copy()))
        .filter(Q(completed_at__isnull=True) | Q(completed_at__gte=cutoff.copy()))
        .order_by()
        .values("engagement_id", "owner_user_id")
        .annotate(count=Count("pk"))
    )
    return {(row["engagement_id"], row["owner_user_id"]): row["count"] for row in rows}


def _write(rows: Rows, people: PersonRows, *, as_of: datetime) -> int:
    """Upsert the engagements' rows; replace the person rows of the same engagement weeks."""
    weeks_of: dict[int, set[date]] = defaultdict(set)
    for pk, week in rows:
        weeks_of[pk].add(week)
    # Engagements refreshed for the same weeks (the usual case) share one condition.
    by_weeks: dict[frozenset[date], list[int]] = defaultdict(list)
    for pk, weeks in weeks_of.items():
        by_weeks[frozenset(weeks)].append(pk)
    replaced = Q(pk__in=[])
    for same_weeks, pks in by_weeks.items():
        replaced |= Q(engagement_id__in=sorted(pks), week_start__in=sorted(same_weeks))
    ConsultantWeeklyRollup.objects.filter(replaced).delete()
    # Two refreshes of the same weeks at once may both insert: the second one's rows win.
    ConsultantWeeklyRollup.objects.bulk_create(
        [
            ConsultantWeeklyRollup(
                user_id=person, engagement_id=pk, week_start=week, computed_at=as_of, **figures
            )
            for (person, pk, week), figures in sorted(people.items())
        ],
        update_conflicts=True,
        unique_fields=["user", "engagement", "week_start"],
        update_fields=[*FIGURES, "computed_at"],
        batch_size=SWEEP_BATCH_SIZE * 2,
    )
    WeeklyRollup.objects.bulk_create(
        [
            WeeklyRollup(engagement_id=pk, week_start=week, computed_at=as_of, **figures)
            for (pk, week), figures in sorted(rows.items())
        ],
        update_conflicts=True,
        unique_fields=["engagement", "week_start"],
        update_fields=[*FIGURES, "computed_at"],
        batch_size=SWEEP_BATCH_SIZE * 2,
    )
    return len(rows)


def weekly_rollups_sweep(*, as_of: datetime, batch_size: int = SWEEP_BATCH_SIZE) -> int:
    """Periodic: recompute this week and last week of every engagement, ``batch_size`` at a time.

    Catches what time alone changes (a follow-up falling overdue, a missed
    occurrence stamped late) and anything a service did not refresh. Each
    engagement's weeks are read in its own zone. Eleven queries per batch,
    whatever the portfolio holds; idempotent. Returns the rows written.
    """
    moments = (as_of, as_of - timedelta(weeks=1))
    written, last = 0, 0
    while True:
        batch = list(
            Engagement.objects.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:batch_size]
        )
        if not batch:
            return written
        written += weekly_rollups_refresh(engagement_ids=batch, moments=moments, as_of=as_of)
        if len(batch) < batch_size:
            return written
        last = batch[-1]


def rollups_for(engagements: QuerySet[Engagement], *, first: date, last: date) -> QuerySet[WeeklyRollup]:
    """Roll-up rows of ``engagements`` (already scoped) for the Mondays ``first`` to ``last``."""
    return WeeklyRollup.objects.filter(
        engagement__in=engagements.order_by().values("pk"), week_start__gte=first, week_start__lte=last
    )


def consultant_rollups_for(
    engagements: QuerySet[Engagement], *, user_id: int, first: date, last: date
) -> QuerySet[ConsultantWeeklyRollup]:
    """One person's own rows on ``engagements`` (already scoped) for the Mondays ``first`` to ``last``."""
    return ConsultantWeeklyRollup.objects.filter(
        user_id=user_id,
        engagement__in=engagements.order_by().values("pk"),
        week_start__gte=first,
        week_start__lte=last,
    )

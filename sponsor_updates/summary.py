"""The summary at the top of a sponsor update, drafted from the period's client-shared content.

The engagement lead may write it instead; when they have not, the update
carries this draft. It is built from ``UpdateContent`` only, which holds
nothing the client-visibility policy keeps internal, so the draft cannot say
what the client may not see: it names the meetings held and with whom, the
decisions recorded, the milestones completed and the scope changes of the
period, in a few plain sentences, and what comes next.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from zoneinfo import ZoneInfo

from sponsor_updates.schedule import Period
from sponsor_updates.selectors import ChangeLine, MeetingLine, UpdateContent

# A summary names a few of each; the sections below it list them all.
NAMED_AT_MOST = 3

_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def _number(count: int) -> str:
    return _WORDS[count] if count < len(_WORDS) else str(count)


def _day(value: date) -> str:
    return f"{value:%-d %b}"


def _span(period: Period) -> str:
    """How a person names the update's period: "this week", "these two weeks", "this month"."""
    days = (period.end - period.start).days
    if days <= 7:
        return "this week"
    if days <= 14:
        return "these two weeks"
    return "this month"


def _and(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def _listed(items: Sequence[str], *, others: str = "others") -> str:
    """ "a", "a and b", "a, b and c", "a, b, c and two others"."""
    shown = list(items[:NAMED_AT_MOST])
    rest = len(items) - len(shown)
    if rest:
        shown.append(f"{_number(rest)} {others if rest > 1 else others.rstrip('s')}")
    return _and(shown)


def _days(days: Sequence[date]) -> str:
    """ "4 Mar", "2, 3 and 5 Mar", "27 Feb and 2 Mar": each day once, the month said once per run."""
    unique = sorted(set(days))
    parts: list[str] = []
    for position, day in enumerate(unique):
        last_of_month = position == len(unique) - 1 or unique[position + 1].month != day.month
        parts.append(_day(day) if last_of_month else str(day.day))
    return _and(parts)


def _sentence(text: str) -> str:
    text = " ".join(text.split()).rstrip(" .;")
    return f"{text}." if text else ""


def _meetings(meetings: list[MeetingLine], time_zone: str, span: str, recipient: str) -> str:
    if not meetings:
        return ""
    people: list[str] = []
    for meeting in meetings:
        people.extend(name for name in meeting.attendees if name not in people)
    # The update is written to its recipient: when they were there, they read "you", first.
    if recipient in people:
        people = ["you", *(name for name in people if name != recipient)]
    count = len(meetings)
    held = "once" if count == 1 else "twice" if count == 2 else f"{_number(count)} times"
    zone = ZoneInfo(time_zone)
    text = f"We met {held} {span}, on {_days([m.occurred_at.astimezone(zone).date() for m in meetings])}"
    if people:
        text += f", with {_listed(people)}"
    return _sentence(text)


def _decisions(meetings: list[MeetingLine], changes: list[ChangeLine]) -> str:
    # Each line of a check-in's decisions is one decision, so it is counted and named on its own.
    lines = (" ".join(line.split()).rstrip(" .;") for m in meetings for line in m.decisions)
    decided = [line for line in lines if line]
    decided += [f"{c.title}: {' '.join(c.decision.split()).rstrip(' .;')}" for c in changes if c.decision]
    if not decided:
        return ""
    if len(decided) == 1:
        return _sentence(f"Decided: {decided[0]}")
    if len(decided) <= NAMED_AT_MOST:
        return _sentence(f"We decided {_number(len(decided))} things: {'; '.join(decided)}")
    named = "; ".join(decided[:NAMED_AT_MOST])
    return _sentence(f"We decided {_number(len(decided))} things, among them: {named}") + (
        " All are listed below."
    )


def summary_draft(content: UpdateContent) -> str:
    """A few plain sentences on the update's period, from its client-shared content only.

    Pure: reads nothing but ``content``; the same content gives the same text.
    """
    span = _span(content.period)
    sentences = [_meetings(content.meetings, content.time_zone, span, content.recipient_name)]
    if content.milestones_done:
        done = _listed([f"{m.name} ({_day(m.completed_on or m.due_on)})" for m in content.milestones_done])
        sentences.append(_sentence(f"We completed {done}"))
    if content.scope_changes:
        changes = _listed([f"{c.title} ({c.status.lower()})" for c in content.scope_changes])
        noun = "change" if len(content.scope_changes) == 1 else "changes"
        sentences.append(_sentence(f"Scope {noun}: {changes}"))
    sentences.append(_decisions(content.meetings, content.scope_changes))
    if not any(sentences):
        sentences.append(f"We recorded no meeting, decision, milestone or scope change {span}.")
    if content.decisions_needed:
        count = len(content.decisions_needed)
        waiting = "One decision waits" if count == 1 else f"{_number(count).capitalize()} decisions wait"
        titles = _listed([c.title for c in content.decisions_needed], others="more")
        sentences.append(f"{waiting} for you: {titles}.")
    if content.milestones_coming:
        upcoming = content.milestones_coming[0]
        when = "late since" if upcoming.late else "due"
        sentences.append(f"Next milestone: {upcoming.name}, {when} {_day(upcoming.due_on)}.")
    return " ".join(sentence for sentence in sentences if sentence)

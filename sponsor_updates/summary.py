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
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sponsor_updates.selectors import ChangeLine, MeetingLine, UpdateContent

# A summary names a few of each; the sections below it list them all.
NAMED_AT_MOST = 3


def _day(value: date) -> str:
    return f"{value:%-d %b}"


def _local_day(moment: datetime, time_zone: str) -> str:
    return _day(moment.astimezone(ZoneInfo(time_zone)).date())


def _listed(items: Sequence[str]) -> str:
    """ "a", "a and b", "a, b and c", "a, b, c and 2 more"."""
    shown = list(items[:NAMED_AT_MOST])
    rest = len(items) - len(shown)
    if rest:
        shown.append(f"{rest} more")
    if len(shown) == 1:
        return shown[0]
    return f"{', '.join(shown[:-1])} and {shown[-1]}"


def _sentence(text: str) -> str:
    text = " ".join(text.split()).rstrip(" .;")
    return f"{text}." if text else ""


def _meetings(meetings: list[MeetingLine], time_zone: str) -> str:
    if not meetings:
        return ""
    people: list[str] = []
    for meeting in meetings:
        people.extend(name for name in meeting.attendees if name not in people)
    count = len(meetings)
    held = "one meeting" if count == 1 else f"{count} meetings"
    days = _listed([_local_day(m.occurred_at, time_zone) for m in meetings])
    text = f"We held {held} in this period ({days})"
    if people:
        text += f", with {_listed(people)}"
    return _sentence(text)


def _decisions(meetings: list[MeetingLine], changes: list[ChangeLine]) -> str:
    decided = [" ".join(m.decisions.split()).rstrip(" .;") for m in meetings if m.decisions.strip()]
    decided += [f"{c.title}: {' '.join(c.decision.split()).rstrip(' .;')}" for c in changes if c.decision]
    if not decided:
        return ""
    if len(decided) == 1:
        return _sentence(f"Decided: {decided[0]}")
    return _sentence(f"{len(decided)} decisions were recorded: {'; '.join(decided[:NAMED_AT_MOST])}") + (
        f" ({len(decided) - NAMED_AT_MOST} more below.)" if len(decided) > NAMED_AT_MOST else ""
    )


def summary_draft(content: UpdateContent) -> str:
    """A few plain sentences on the update's period, from its client-shared content only.

    Pure: reads nothing but ``content``; the same content gives the same text.
    """
    sentences = [_meetings(content.meetings, content.time_zone)]
    if content.milestones_done:
        done = _listed([f"{m.name} ({_day(m.completed_on or m.due_on)})" for m in content.milestones_done])
        sentences.append(_sentence(f"Completed: {done}"))
    if content.scope_changes:
        changes = _listed([f"{c.title} ({c.status.lower()})" for c in content.scope_changes])
        noun = "change" if len(content.scope_changes) == 1 else "changes"
        sentences.append(_sentence(f"Scope {noun}: {changes}"))
    sentences.append(_decisions(content.meetings, content.scope_changes))
    if not any(sentences):
        sentences.append("No meeting, decision, milestone or scope change was recorded in this period.")
    if content.decisions_needed:
        count = len(content.decisions_needed)
        waiting = "One decision waits" if count == 1 else f"{count} decisions wait"
        sentences.append(f"{waiting} for you: {_listed([c.title for c in content.decisions_needed])}.")
    if content.milestones_coming:
        upcoming = content.milestones_coming[0]
        sentences.append(f"Next milestone: {upcoming.name}, due {_day(upcoming.due_on)}.")
    return " ".join(sentence for sentence in sentences if sentence)

"""The summary drafted for an update: a few readable sentences, from client-shared content only."""

from __future__ import annotations

import dataclasses
import datetime as dt

from communications.models import CheckIn
from engagements.models import Milestone
from sponsor_updates.links import LinkTarget
from sponsor_updates.rendering import update_render
from sponsor_updates.schedule import Period
from sponsor_updates.selectors import (
    ChangeLine,
    MeetingLine,
    MilestoneLine,
    NextMeetingLine,
    UpdateContent,
    update_contents,
)
from sponsor_updates.summary import summary_draft
from tests.sponsor_updates.conftest import AS_OF, INTERNAL, UTC

# The week before Monday 9 March: the shared meeting of the 4th and the internal one of the 5th.
WEEK = Period(start=dt.date(2026, 3, 2), end=dt.date(2026, 3, 9))


def _content(**lines: object) -> UpdateContent:
    return UpdateContent(
        engagement_name="ERP upgrade",
        engagement_code="ERP-26",
        client_name="Client",
        recipient_name="Ana Ruiz",
        time_zone="Europe/Berlin",
        period=WEEK,
        **lines,  # type: ignore[arg-type]
    )


def test_the_draft_names_the_periods_meetings_decisions_milestones_and_scope_changes(sponsored):
    # Given a milestone completed in the week, beside the fixture's shared meeting and change request
    Milestone.objects.filter(engagement=sponsored.engagement).update(completed_on=dt.date(2026, 3, 6))
    subscription = sponsored.subscription

    # When the summary of that week is drafted
    content = update_contents(subscriptions=[subscription], periods={subscription.pk: WEEK}, as_of=AS_OF)
    text = summary_draft(content[subscription.pk])

    # Then it says, in sentences, who met when, what was decided, done and changed
    assert "We met once this week, on 4 Mar, with you." in text
    assert "Decided: Cut over on 14 March." in text
    assert "We completed Go-live (6 Mar)." in text
    assert "Scope change: Add the pharmacy module (proposed)." in text


def test_each_line_of_a_check_ins_decisions_is_counted_and_named_as_its_own_decision(sponsored):
    # Given the week's shared check-in recorded three decisions, one per line
    CheckIn.objects.filter(decisions="Cut over on 14 March.").update(
        decisions="Cut over on 14 March.\n- Night-shift and weekend training set\n\nLoan printers ordered"
    )
    subscription = sponsored.subscription

    # When the summary of that week is drafted
    content = update_contents(subscriptions=[subscription], periods={subscription.pk: WEEK}, as_of=AS_OF)
    text = summary_draft(content[subscription.pk])

    # Then the three lines are three decisions, each named apart
    assert (
        "We decided three things: Cut over on 14 March; Night-shift and weekend training set; "
        "Loan printers ordered." in text
    )


def test_the_draft_never_carries_an_internal_check_in_or_follow_up(sponsored):
    # Given the week holds an internal check-in and an internal follow-up beside the shared ones
    subscription = sponsored.subscription
    content = update_contents(subscriptions=[subscription], periods={subscription.pk: WEEK}, as_of=AS_OF)

    # When the summary is drafted
    text = summary_draft(content[subscription.pk])

    # Then only the shared meeting is counted, and nothing internal is named
    assert "We met once this week" in text
    assert INTERNAL not in text


def test_a_quiet_period_says_so_in_one_sentence():
    assert (
        summary_draft(_content()) == "We recorded no meeting, decision, milestone or scope change this week."
    )


def test_many_items_are_named_a_few_at_a_time_and_counted():
    # Given five meetings with the same two people, decisions at four of them, and a decided change
    meetings = [
        MeetingLine(
            occurred_at=dt.datetime(2026, 3, day, 9, tzinfo=UTC),
            kind="Meeting",
            attendees=["Ana Ruiz", "Lena Lead"],
            summary="",
            decisions=[f"Decision {day}."] if day != 4 else [],
        )
        for day in (2, 3, 4, 5, 6)
    ]
    change = ChangeLine(
        title="Pharmacy module",
        kind="Scope",
        status="Approved",
        raised_on=dt.date(2026, 3, 3),
        budget_impact=None,
        schedule_impact_days=None,
        decision="Approved with a second phase",
        awaiting_client=False,
    )
    coming = MilestoneLine(name="Go-live", due_on=dt.date(2026, 4, 1), completed_on=None)

    # When the summary is drafted
    text = summary_draft(_content(meetings=meetings, scope_changes=[change], milestones_coming=[coming]))

    # Then each person and day is named once, the month once, and every decision is counted
    assert "We met five times this week, on 2, 3, 4, 5 and 6 Mar, with you and Lena Lead." in text
    assert (
        "We decided five things, among them: Decision 2; Decision 3; Decision 5. All are listed below."
        in text
    )
    assert text.endswith("Next milestone: Go-live, due 1 Apr.")


def test_a_fortnight_and_a_month_are_named_as_people_name_them():
    meeting = MeetingLine(
        occurred_at=dt.datetime(2026, 2, 27, 9, tzinfo=UTC),
        kind="Meeting",
        attendees=[],
        summary="",
        decisions=[],
    )
    later = dataclasses.replace(meeting, occurred_at=dt.datetime(2026, 3, 3, 9, tzinfo=UTC))
    fortnight = Period(start=dt.date(2026, 2, 23), end=dt.date(2026, 3, 9))
    month = Period(start=dt.date(2026, 2, 2), end=dt.date(2026, 3, 2))

    assert summary_draft(dataclasses.replace(_content(meetings=[meeting, later]), period=fortnight)) == (
        "We met twice these two weeks, on 27 Feb and 3 Mar."
    )
    assert summary_draft(dataclasses.replace(_content(), period=month)) == (
        "We recorded no meeting, decision, milestone or scope change this month."
    )


def test_the_recipient_reads_you_where_they_took_part_and_others_by_name():
    # Given one meeting with Lena Lead and the recipient, and one with Lena Lead alone
    meetings = [
        MeetingLine(
            occurred_at=dt.datetime(2026, 3, day, 9, tzinfo=UTC),
            kind="Meeting",
            attendees=people,
            summary="",
            decisions=[],
        )
        for day, people in ((3, ["Lena Lead", "Ana Ruiz"]), (5, ["Lena Lead"]))
    ]

    # When the update to Ana Ruiz is drafted, and one to someone who took part in neither
    to_ana = summary_draft(_content(meetings=meetings))
    to_someone_else = summary_draft(
        dataclasses.replace(_content(meetings=meetings), recipient_name="Max Mustermann")
    )

    # Then Ana reads "you", first; the other reader reads every name
    assert "We met twice this week, on 3 and 5 Mar, with you and Lena Lead." in to_ana
    assert "We met twice this week, on 3 and 5 Mar, with Lena Lead and Ana Ruiz." in to_someone_else


def test_a_coming_meeting_says_in_whose_time_its_hour_is():
    # Given an update to a sponsor in Berlin with a meeting with them coming on 24 December at 15:00 UTC
    coming = NextMeetingLine(due_at=dt.datetime(2026, 12, 24, 15, tzinfo=UTC), kind="Meeting")
    content = _content(next_meetings=[coming])

    # When it is rendered for mail
    rendered = update_render(content=content, target=LinkTarget(subscription_id=1))

    # Then the meeting's hour is given in Berlin time, in the text and the HTML alike
    assert "- Meeting with you on Thu 24 Dec 2026 16:00, Berlin time" in rendered.text
    assert "Meeting with you on Thu 24 Dec 2026 16:00, Berlin time" in rendered.html

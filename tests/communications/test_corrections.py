"""Correcting a check-in: editing keeps the previous version, and what it counted for follows it.

A weekly Tuesday 09:00 Berlin meeting (07:00 UTC in April) with two days'
grace: a check-in within two days of it holds it; one moved out of that
window releases it, and compliance follows.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from accounts.models import User
from communications import scheduling, services
from communications.models import (
    Channel,
    CheckIn,
    CheckInDeletion,
    CheckInRevision,
    CommunicationObligation,
    FollowUpRedate,
    Occurrence,
    RaidItem,
    Sentiment,
    SilenceFlag,
    WeeklyRollup,
)
from communications.obligations import obligation_add
from communications.selectors import check_in_list, raid_item_list
from engagements.models import ChangeRequest, Engagement
from pmaas.errors import NotAllowed
from search.selectors import search_document_list
from tests import factories

pytestmark = pytest.mark.django_db

UTC = dt.UTC
DUE = dt.datetime(2026, 4, 7, 7, tzinfo=UTC)
AFTER = dt.datetime(2026, 4, 20, tzinfo=UTC)


def _setup() -> tuple[Engagement, User, User, Channel]:
    lead = factories.consultant(time_zone="Europe/Berlin")
    member = factories.consultant()
    client = factories.make_client(time_zone="Europe/Berlin", country="DE")
    engagement = factories.make_engagement(client=client, lead=lead, members=(member,))
    stakeholder = factories.make_stakeholder(client=client, time_zone="Europe/Berlin")
    role = factories.make_role(engagement=engagement, stakeholder=stakeholder)
    channel = factories.make_channel(
        role=role,
        owner=lead,
        recurrence_rule="FREQ=WEEKLY;BYDAY=TU",
        starts_on=dt.date(2026, 4, 7),
        local_time=dt.time(9),
        as_of=dt.datetime(2026, 4, 1, tzinfo=UTC),
    )
    assert channel.next_due_at == DUE
    return engagement, lead, member, channel


def _log(engagement: Engagement, actor: User, channel: Channel, at: dt.datetime, **kwargs: Any) -> CheckIn:
    return factories.make_check_in(
        engagement=engagement,
        attendees=[channel.stakeholder],
        actor=actor,
        occurred_at=at,
        as_of=at,
        **kwargs,
    )


def _edit(check_in: CheckIn, actor: User, **changes: Any) -> CheckIn:
    values: dict[str, Any] = {
        "occurred_at": check_in.occurred_at,
        "summary": check_in.summary,
        "decisions": check_in.decisions,
        "attendees": list(check_in.attendees.all()),
        "as_of": check_in.occurred_at + dt.timedelta(hours=2),
    }
    values.update(changes)
    return services.check_in_edit(actor=actor, check_in=check_in, **values)


def _compliance(channel: Channel) -> tuple[int, int]:
    result = scheduling.cadence_compliance(
        occurrences_queryset=Occurrence.objects.filter(channel=channel),
        window_start=DUE - dt.timedelta(days=1),
        window_end=DUE + dt.timedelta(days=1),
    )
    return result.due, result.held_on_time


def test_an_edit_keeps_the_previous_version_and_marks_the_check_in_edited():
    # Given a check-in with a summary and a decision
    engagement, lead, _, channel = _setup()
    check_in = _log(engagement, lead, channel, DUE, summary="Agreed the go-live.", decisions="Go-live 1 June")

    # When its author corrects the summary
    edited = _edit(check_in, lead, summary="Agreed the go-live date with the sponsor.")

    # Then the check-in says the new text, is marked edited, and the old text is kept as a revision
    assert edited.summary == "Agreed the go-live date with the sponsor."
    assert edited.edited_at is not None
    revision = CheckInRevision.objects.get(check_in=check_in)
    assert (revision.summary, revision.decisions) == ("Agreed the go-live.", "Go-live 1 June")
    assert revision.attendee_names == channel.stakeholder.name
    assert revision.edited_by == lead


def test_compliance_drops_when_an_edit_moves_the_check_in_out_of_the_meetings_window():
    # Given the 7 April meeting held on time by a check-in at its due time
    engagement, lead, _, channel = _setup()
    check_in = _log(engagement, lead, channel, DUE)
    assert _compliance(channel) == (1, 1)

    # When the check-in is corrected to four days earlier (it was another conversation), on 8 April
    _edit(check_in, lead, occurred_at=DUE - dt.timedelta(days=4), as_of=DUE + dt.timedelta(hours=20))

    # Then the meeting is owed again: due, the channel pointing at it, and compliance counts it not held
    occurrence = Occurrence.objects.get(channel=channel, due_at=DUE)
    assert occurrence.status == Occurrence.Status.DUE
    assert occurrence.check_in is None
    channel.refresh_from_db()
    assert channel.next_due_at == DUE
    assert _compliance(channel) == (1, 0)
    # And once its grace runs out without a check-in, the sweep marks it missed
    scheduling.occurrences_sweep(as_of=AFTER)
    assert Occurrence.objects.get(channel=channel, due_at=DUE).status == Occurrence.Status.MISSED


def test_compliance_rises_when_an_edit_moves_a_check_in_into_the_meetings_window():
    # Given a check-in logged with the wrong date, a week before the meeting, covering nothing
    engagement, lead, _, channel = _setup()
    check_in = _log(engagement, lead, channel, DUE - dt.timedelta(days=7))
    assert check_in.channel is None

    # When its date is corrected to the meeting's day
    edited = _edit(
        check_in, lead, occurred_at=DUE + dt.timedelta(minutes=15), as_of=DUE + dt.timedelta(hours=3)
    )

    # Then it holds the meeting, on time, and the channel moves to the next week
    occurrence = Occurrence.objects.get(channel=channel, due_at=DUE)
    assert (occurrence.status, occurrence.held_on_time, occurrence.check_in) == ("held", True, edited)
    assert edited.channel == channel
    channel.refresh_from_db()
    assert channel.next_due_at == DUE + dt.timedelta(days=7)
    assert _compliance(channel) == (1, 1)


def test_an_edit_that_stays_in_the_window_keeps_the_meeting_held_whenever_it_is_made():
    # Given the meeting held by a check-in at its due time
    engagement, lead, _, channel = _setup()
    check_in = _log(engagement, lead, channel, DUE)

    # When, weeks later, its time is corrected by twenty minutes
    _edit(check_in, lead, occurred_at=DUE + dt.timedelta(minutes=20), as_of=AFTER)

    # Then the meeting is still held on time, at the corrected time
    occurrence = Occurrence.objects.get(channel=channel, due_at=DUE)
    assert (occurrence.status, occurrence.held_at) == ("held", DUE + dt.timedelta(minutes=20))
    assert _compliance(channel) == (1, 1)


def test_only_the_author_and_the_engagements_owners_may_edit():
    # Given a check-in logged by the lead, and a consultant on the team
    engagement, lead, member, channel = _setup()
    check_in = _log(engagement, lead, channel, DUE)

    # When the consultant, who did not log it, tries to edit it
    with pytest.raises(NotAllowed):
        _edit(check_in, member, summary="Rewritten")

    # Then nothing changed; but the consultant may edit the check-in they logged themselves
    assert not CheckInRevision.objects.exists()
    own = _log(engagement, member, channel, DUE + dt.timedelta(days=7))
    assert _edit(own, member, summary="Mine to correct").summary == "Mine to correct"


def test_an_edit_keeps_what_was_typed_out_when_it_is_refused():
    # Given a check-in
    engagement, lead, _, channel = _setup()
    check_in = _log(engagement, lead, channel, DUE)

    # When it is edited to an empty summary and no attendees
    with pytest.raises(ValidationError) as refused:
        _edit(check_in, lead, summary="  ", attendees=[])

    # Then both fields are named and nothing was written
    assert set(refused.value.message_dict) == {"summary", "attendees"}
    assert not CheckInRevision.objects.exists()


def test_deleting_needs_a_reason_and_the_lead():
    # Given a check-in logged by a consultant on the team
    engagement, lead, member, channel = _setup()
    check_in = _log(engagement, member, channel, DUE)

    # When its author, a consultant, deletes it; or the lead without a reason
    with pytest.raises(NotAllowed):
        services.check_in_delete(actor=member, check_in=check_in, reason="Logged twice")
    with pytest.raises(ValidationError) as refused:
        services.check_in_delete(actor=lead, check_in=check_in, reason=" ")

    # Then both are refused and the check-in stays
    assert "reason" in refused.value.message_dict
    assert CheckIn.objects.filter(pk=check_in.pk).exists()


def test_a_deleted_check_in_leaves_the_timeline_and_its_meeting_is_owed_or_missed():
    # Given the meeting held by a check-in, which also met an obligation to tell the sponsor of a change
    engagement, lead, _, channel = _setup()
    change = ChangeRequest.objects.create(
        engagement=engagement, title="Add a ward", raised_on=dt.date(2026, 4, 1), budget_impact=10
    )
    obligation = obligation_add(actor=lead, change_request=change, stakeholder=channel.stakeholder)
    CommunicationObligation.objects.filter(pk=obligation.pk).update(opened_at=DUE - dt.timedelta(days=3))
    check_in = _log(engagement, lead, channel, DUE)
    obligation.refresh_from_db()
    assert obligation.status == CommunicationObligation.Status.MET

    # When the lead deletes it, with a reason, after the meeting's grace ran out
    deletion = services.check_in_delete(
        actor=lead, check_in=check_in, reason="Logged on the wrong engagement", as_of=AFTER
    )

    # Then it is gone, its record says why, the meeting counts as missed and the obligation is open again
    assert not CheckIn.objects.filter(pk=check_in.pk).exists()
    assert CheckInDeletion.objects.get() == deletion
    assert (deletion.reason, deletion.deleted_by, deletion.check_in_number) == (
        "Logged on the wrong engagement",
        lead,
        check_in.pk,
    )
    assert Occurrence.objects.get(channel=channel, due_at=DUE).status == Occurrence.Status.MISSED
    assert _compliance(channel) == (1, 0)
    obligation.refresh_from_db()
    assert (obligation.status, obligation.met_by_check_in) == (CommunicationObligation.Status.OPEN, None)


def test_a_deleted_check_ins_obligation_is_met_by_another_check_in_with_the_person():
    # Given an obligation met by the first of two check-ins with the sponsor
    engagement, lead, _, channel = _setup()
    change = ChangeRequest.objects.create(
        engagement=engagement, title="Add a ward", raised_on=dt.date(2026, 4, 1), budget_impact=10
    )
    obligation = obligation_add(actor=lead, change_request=change, stakeholder=channel.stakeholder)
    CommunicationObligation.objects.filter(pk=obligation.pk).update(opened_at=DUE - dt.timedelta(days=3))
    first = _log(engagement, lead, channel, DUE)
    second = _log(engagement, lead, channel, DUE + dt.timedelta(days=7))

    # When the first is deleted
    services.check_in_delete(actor=lead, check_in=first, reason="Duplicate", as_of=AFTER)

    # Then the second one meets it
    obligation.refresh_from_db()
    assert (obligation.status, obligation.met_by_check_in) == (CommunicationObligation.Status.MET, second)


def test_re_dating_a_follow_up_records_its_history():
    # Given a follow-up due on 10 April
    engagement, lead, _, _ = _setup()
    follow_up = factories.make_follow_up(
        engagement=engagement, owner_user=lead, due_at=dt.datetime(2026, 4, 10, 21, tzinfo=UTC)
    )

    # When it is re-dated twice, the second time to the same day
    new_due = dt.datetime(2026, 4, 17, 21, tzinfo=UTC)
    as_of = dt.datetime(2026, 4, 8, tzinfo=UTC)
    services.follow_up_redate(actor=lead, follow_up=follow_up, due_at=new_due, as_of=as_of)
    services.follow_up_redate(actor=lead, follow_up=follow_up, due_at=new_due, as_of=as_of)

    # Then one move is recorded, from and to, by whom
    move = FollowUpRedate.objects.get(follow_up=follow_up)
    assert (move.previous_due_at, move.due_at, move.redated_by) == (
        dt.datetime(2026, 4, 10, 21, tzinfo=UTC),
        new_due,
        lead,
    )


def _silent_sponsor(engagement: Engagement, channel: Channel) -> SilenceFlag:
    return SilenceFlag.objects.create(
        engagement=engagement,
        stakeholder=channel.stakeholder,
        raised_at=DUE - dt.timedelta(days=1),
        last_contact_at=DUE - dt.timedelta(days=30),
        allowed_silence=dt.timedelta(days=21),
    )


def test_a_silence_a_deleted_check_in_ended_is_open_again():
    # Given a sponsor flagged silent, whose flag the check-in at the meeting cleared
    engagement, lead, _, channel = _setup()
    flag = _silent_sponsor(engagement, channel)
    check_in = _log(engagement, lead, channel, DUE)
    flag.refresh_from_db()
    assert flag.cleared_by_check_in == check_in

    # When the check-in is deleted the next day
    services.check_in_delete(
        actor=lead, check_in=check_in, reason="Never happened", as_of=DUE + dt.timedelta(days=1)
    )

    # Then the sponsor is flagged silent again
    flag.refresh_from_db()
    assert (flag.cleared_at, flag.cleared_by_check_in) == (None, None)


def test_an_edit_that_drops_the_sponsor_reopens_their_silence_and_one_that_keeps_them_does_not():
    # Given a sponsor flagged silent and a check-in with them and a colleague that cleared it
    engagement, lead, _, channel = _setup()
    colleague = factories.make_role(engagement=engagement).stakeholder
    flag = _silent_sponsor(engagement, channel)
    check_in = factories.make_check_in(
        engagement=engagement,
        attendees=[channel.stakeholder, colleague],
        actor=lead,
        occurred_at=DUE,
        as_of=DUE,
    )

    # When the time is corrected by an hour, the sponsor still there
    check_in = _edit(check_in, lead, occurred_at=DUE + dt.timedelta(hours=1))

    # Then the flag stays cleared, at the corrected time
    flag.refresh_from_db()
    assert (flag.cleared_at, flag.cleared_by_check_in) == (DUE + dt.timedelta(hours=1), check_in)

    # When the sponsor is taken off the attendees (only the colleague was there)
    _edit(check_in, lead, attendees=[colleague])

    # Then the sponsor is silent again, and the meeting with them is owed again
    flag.refresh_from_db()
    assert flag.cleared_at is None
    assert Occurrence.objects.get(channel=channel, due_at=DUE).status == Occurrence.Status.DUE


def _filed(check_in: CheckIn) -> dict[int, str]:
    return dict(RaidItem.objects.filter(check_in=check_in).order_by("pk").values_list("pk", "title"))


def test_a_reworded_decision_is_reworded_in_the_raid_log_and_not_filed_again():
    # Given a check-in whose two decisions were filed in the RAID log
    engagement, lead, _, channel = _setup()
    check_in = _log(
        engagement, lead, channel, DUE, decisions="Go-live 1 June\nPharmacy joins wave 2", file_decisions=True
    )
    (go_live, pharmacy) = _filed(check_in)

    # When its author corrects the first line, asking again to file the decisions
    _edit(check_in, lead, decisions="Go-live 8 June\nPharmacy joins wave 2", file_decisions=True)

    # Then the log holds the same two decisions, the first in its new words, and the old text is history
    assert _filed(check_in) == {go_live: "Go-live 8 June", pharmacy: "Pharmacy joins wave 2"}
    assert CheckInRevision.objects.get(check_in=check_in).decisions == "Go-live 1 June\nPharmacy joins wave 2"


def test_a_removed_line_leaves_its_decision_and_a_new_line_is_filed_only_when_asked():
    # Given a check-in whose two decisions were filed
    engagement, lead, _, channel = _setup()
    check_in = _log(
        engagement, lead, channel, DUE, decisions="Go-live 1 June\nPharmacy joins wave 2", file_decisions=True
    )
    before = _filed(check_in)

    # When the second line is removed and another added before the first, without asking to file
    edited = _edit(check_in, lead, decisions="- Freeze scope until go-live\n\nGo-live 1 June")

    # Then both decisions stay as they were and the new line is not filed
    assert _filed(check_in) == before

    # When it is corrected again (nothing changed) asking to file, twice
    _edit(edited, lead, decisions=edited.decisions, file_decisions=True)
    _edit(edited, lead, decisions=edited.decisions, file_decisions=True)

    # Then the new line is filed once, beside the two kept
    assert sorted(_filed(check_in).values()) == [
        "Freeze scope until go-live",
        "Go-live 1 June",
        "Pharmacy joins wave 2",
    ]


def test_filed_decisions_follow_a_corrected_day_and_attendees_but_keep_what_was_changed_on_the_log():
    # Given a check-in on 7 April (Berlin) with the sponsor, whose two decisions were filed, one of
    # them since re-dated on the log by hand
    engagement, lead, _, channel = _setup()
    colleague = factories.make_role(engagement=engagement).stakeholder
    check_in = _log(
        engagement, lead, channel, DUE, decisions="Go-live 1 June\nScope frozen", file_decisions=True
    )
    RaidItem.objects.filter(check_in=check_in, title="Scope frozen").update(decided_on=dt.date(2026, 3, 31))

    # When it is corrected to the day before, with a colleague there too
    _edit(check_in, lead, occurred_at=DUE - dt.timedelta(days=1), attendees=[channel.stakeholder, colleague])

    # Then the first decision moves to 6 April, decided by both, about both; the re-dated one keeps its day
    go_live = RaidItem.objects.get(check_in=check_in, title="Go-live 1 June")
    assert go_live.decided_on == dt.date(2026, 4, 6)
    assert go_live.decided_by == f"{channel.stakeholder.name}, {colleague.name}"
    assert set(go_live.stakeholders.all()) == {channel.stakeholder, colleague}
    assert RaidItem.objects.get(check_in=check_in, title="Scope frozen").decided_on == dt.date(2026, 3, 31)


def test_a_decision_retitled_on_the_log_is_not_reworded_by_a_correction():
    # Given a filed decision whose title was since edited on the log
    engagement, lead, _, channel = _setup()
    check_in = _log(engagement, lead, channel, DUE, decisions="Go-live 1 June", file_decisions=True)
    RaidItem.objects.filter(check_in=check_in).update(title="Go-live 1 June (board to confirm)")

    # When the check-in's line is reworded
    _edit(check_in, lead, decisions="Go-live 2 June")

    # Then the log keeps the title given there
    assert list(_filed(check_in).values()) == ["Go-live 1 June (board to confirm)"]


def test_filing_decisions_on_an_edit_without_any_written_is_refused_and_writes_nothing():
    engagement, lead, _, channel = _setup()
    check_in = _log(engagement, lead, channel, DUE, summary="Agreed the go-live.")

    with pytest.raises(ValidationError) as refused:
        _edit(check_in, lead, summary="Agreed the go-live date.", file_decisions=True)

    assert "decisions" in refused.value.message_dict
    assert not CheckInRevision.objects.filter(check_in=check_in).exists()


def test_a_corrected_sentiment_is_kept_as_the_version_it_replaces_and_moves_the_weeks_figures():
    # Given a check-in logged as negative
    engagement, lead, _, channel = _setup()
    check_in = _log(engagement, lead, channel, DUE, sentiment=Sentiment.NEGATIVE)
    week = WeeklyRollup.objects.get(engagement=engagement, meetings=1)
    assert (week.sentiment_sum, week.sentiment_count) == (-1, 1)

    # When its author corrects it to positive
    edited = _edit(check_in, lead, sentiment=Sentiment.POSITIVE)

    # Then the check-in is positive, the version it replaces says negative, and its week sums +1
    assert edited.sentiment == Sentiment.POSITIVE
    assert CheckInRevision.objects.get(check_in=check_in).sentiment == Sentiment.NEGATIVE
    week.refresh_from_db()
    assert (week.sentiment_sum, week.sentiment_count) == (1, 1)


def test_an_edit_that_leaves_out_kind_sentiment_and_sharing_keeps_them():
    engagement, lead, _, channel = _setup()
    check_in = _log(
        engagement,
        lead,
        channel,
        DUE,
        kind="workshop",
        sentiment=Sentiment.VERY_POSITIVE,
        shared_with_client=True,
    )

    edited = _edit(check_in, lead, summary="Agreed the go-live date with the sponsor.")

    assert (edited.kind, edited.sentiment, edited.shared_with_client) == (
        "workshop",
        Sentiment.VERY_POSITIVE,
        True,
    )
    revision = CheckInRevision.objects.get(check_in=check_in)
    assert (revision.kind, revision.sentiment, revision.shared_with_client) == (
        "workshop",
        Sentiment.VERY_POSITIVE,
        True,
    )


def test_a_corrected_kind_is_kept_as_the_version_it_replaces_and_one_off_the_list_is_refused():
    engagement, lead, _, channel = _setup()
    check_in = _log(engagement, lead, channel, DUE, kind="meeting")

    with pytest.raises(ValidationError) as refused:
        _edit(check_in, lead, kind="carrier pigeon")
    edited = _edit(check_in, lead, kind="call")

    assert "kind" in refused.value.message_dict
    assert edited.kind == "call"
    assert list(CheckInRevision.objects.filter(check_in=check_in).values_list("kind", flat=True)) == [
        "meeting"
    ]


def test_a_sentiment_outside_the_scale_is_refused_and_writes_nothing():
    engagement, lead, _, channel = _setup()
    check_in = _log(engagement, lead, channel, DUE, sentiment=Sentiment.NEUTRAL)

    with pytest.raises(ValidationError) as refused:
        _edit(check_in, lead, sentiment=3, summary="Changed words")

    assert "sentiment" in refused.value.message_dict
    check_in.refresh_from_db()
    assert (check_in.sentiment, check_in.summary, check_in.edited_at) == (
        Sentiment.NEUTRAL,
        "Walked through the plan.",
        None,
    )
    assert not CheckInRevision.objects.filter(check_in=check_in).exists()


def test_a_check_in_taken_back_from_the_client_leaves_their_pages_and_search_with_its_decisions():
    # Given a check-in shared with the client, its decision filed (shared with it), and the client's user
    engagement, lead, _, channel = _setup()
    reader = factories.client_user(engagement.client)
    check_in = _log(
        engagement,
        lead,
        channel,
        DUE,
        summary="Walked the sponsor through the pharmacy cutover.",
        decisions="Pharmacy joins wave 2",
        shared_with_client=True,
        file_decisions=True,
    )
    decision = RaidItem.objects.get(check_in=check_in)
    assert decision.shared_with_client
    assert check_in_list(user=reader).filter(pk=check_in.pk).exists()
    found = search_document_list(user=reader, query="pharmacy cutover")
    assert found is not None
    assert [hit.object_id for hit in found.hits] == [check_in.pk]

    # When its author takes it back
    edited = _edit(check_in, lead, shared_with_client=False)

    # Then the client's user no longer reads it, its decision or either of them in search
    assert not edited.shared_with_client
    assert not check_in_list(user=reader).filter(pk=check_in.pk).exists()
    assert not raid_item_list(user=reader).filter(pk=decision.pk).exists()
    assert search_document_list(user=reader, query="pharmacy").is_empty  # type: ignore[union-attr]
    # And the version it replaces says it was shared
    assert CheckInRevision.objects.get(check_in=check_in).shared_with_client

    # When it is shared again
    _edit(edited, lead, shared_with_client=True)

    # Then the check-in is the client's to read again, and its decision stays internal until shared on the log
    assert check_in_list(user=reader).filter(pk=check_in.pk).exists()
    assert not raid_item_list(user=reader).filter(pk=decision.pk).exists()

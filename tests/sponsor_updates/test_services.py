"""The sponsor-update sweep: once per period, at the recipient's local time, only client-shared content."""

from __future__ import annotations

import datetime as dt
from email import message_from_bytes, policy
from email.utils import getaddresses
from zoneinfo import ZoneInfo

from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from communications.models import CheckIn, Delivery, SponsorSubscription
from engagements.services import milestone_create
from notifications.models import OutboxMessage
from sponsor_updates import schedule, services
from sponsor_updates.rendering import update_preview
from tests.sponsor_updates.conftest import AS_OF, INTERNAL, UTC

StoppedBy = SponsorSubscription.StoppedBy


def test_a_sponsor_is_subscribed_by_default_for_monday_0800_in_their_zone(sponsored):
    subscription = sponsored.subscription
    assert (subscription.cadence, subscription.weekday, subscription.local_time) == ("weekly", 0, dt.time(8))
    assert subscription.time_zone == "Europe/Berlin"
    assert subscription.next_send_at == dt.datetime(2026, 3, 2, 7, 0, tzinfo=UTC)


def test_a_subscription_the_team_turned_off_is_not_written_again(sponsored):
    # Given the team turns the sponsor's subscription off
    spec = services.SubscriptionSchedule("weekly", 0, dt.time(8), "Europe/Berlin")
    services.subscription_update(
        actor=sponsored.lead, subscription=sponsored.subscription, spec=spec, is_active=False, as_of=AS_OF
    )
    # When the sweep makes sure every sponsor is subscribed
    written = services.subscriptions_ensure_for_sponsors(as_of=AS_OF)

    # Then nothing is written and the subscription stays off, recording who stopped it
    assert written == 0
    subscription = SponsorSubscription.objects.get()
    assert (subscription.is_active, subscription.stopped_by, subscription.next_send_at) == (
        False,
        StoppedBy.TEAM,
        None,
    )


def test_two_sweeps_on_the_same_moment_write_one_delivery_and_one_message(sponsored):
    # When the sweep runs twice at the same moment
    first = services.updates_sweep(as_of=AS_OF)
    second = services.updates_sweep(as_of=AS_OF)

    # Then one update was written, for the period due on Monday 2 March (08:00 Berlin), once
    assert (first, second) == (1, 0)
    delivery = Delivery.objects.get(subscription=sponsored.subscription)
    assert delivery.period_end == dt.date(2026, 3, 2)
    assert delivery.period_start == dt.date(2026, 2, 23)
    assert OutboxMessage.objects.filter(kind=OutboxMessage.Kind.SPONSOR_UPDATE).count() == 1
    assert delivery.outbox_message is not None
    assert (
        delivery.outbox_message.idempotency_key
        == f"sponsor_update:subscription:{delivery.subscription_id}:period:2026-03-02"
    )
    # And the subscription moved to its next local send time, after the sweep's moment
    sponsored.subscription.refresh_from_db()
    assert sponsored.subscription.next_send_at == dt.datetime(2026, 3, 16, 7, 0, tzinfo=UTC)


def test_a_late_sweep_sends_one_update_and_passes_over_the_missed_periods(sponsored):
    # Given the sweep did not run for three weeks
    services.updates_sweep(as_of=dt.datetime(2026, 3, 23, 7, 30, tzinfo=UTC))
    # Then one update went, and the next is the first send after the sweep
    assert Delivery.objects.count() == 1
    sponsored.subscription.refresh_from_db()
    assert sponsored.subscription.next_send_at == dt.datetime(2026, 3, 30, 6, 0, tzinfo=UTC)  # summer time


def test_a_paused_period_is_passed_over_not_sent_late(sponsored):
    SponsorSubscription.objects.update(paused_until=dt.date(2026, 3, 2))
    assert services.updates_sweep(as_of=dt.datetime(2026, 3, 2, 7, 30, tzinfo=UTC)) == 0
    assert services.updates_sweep(as_of=dt.datetime(2026, 3, 9, 7, 30, tzinfo=UTC)) == 1
    assert list(Delivery.objects.values_list("period_end", flat=True)) == [dt.date(2026, 3, 9)]


def _sends(subscription: SponsorSubscription, *, start: dt.datetime, count: int) -> list[dt.datetime]:
    """The local send times the sweep moves a subscription through, one sweep per send."""
    SponsorSubscription.objects.filter(pk=subscription.pk).update(
        next_send_at=schedule.next_send_at(subscription, after=start)
    )
    local = []
    for _ in range(count):
        subscription.refresh_from_db()
        send_at = subscription.next_send_at
        assert send_at is not None
        local.append(send_at.astimezone(ZoneInfo(subscription.time_zone)))
        services.updates_sweep(as_of=send_at)
    return local


def test_monday_0800_in_tokyo_and_los_angeles_goes_at_local_time_across_a_daylight_saving_change(sponsored):
    # Given the same sponsor subscribed in two zones (Los Angeles moves its clocks on 8 March 2026)
    subscription = sponsored.subscription
    for zone, utc_hours in (("Asia/Tokyo", [23, 23, 23]), ("America/Los_Angeles", [16, 15, 15])):
        SponsorSubscription.objects.filter(pk=subscription.pk).update(time_zone=zone)
        subscription.refresh_from_db()
        # When the sweep runs at each send time from late February
        sends = _sends(subscription, start=dt.datetime(2026, 2, 25, tzinfo=UTC), count=3)

        # Then each goes on a Monday at 08:00 local time, whatever the offset to UTC
        assert [(s.weekday(), s.time()) for s in sends] == [(0, dt.time(8))] * 3, zone
        assert [s.astimezone(UTC).hour for s in sends] == utc_hours, zone
        Delivery.objects.all().delete()
        OutboxMessage.objects.all().delete()


def test_monthly_goes_on_the_first_monday_of_each_month_across_a_year(sponsored):
    SponsorSubscription.objects.update(cadence="monthly", time_zone="America/Los_Angeles")
    sponsored.subscription.refresh_from_db()
    sends = _sends(sponsored.subscription, start=dt.datetime(2027, 1, 1, tzinfo=UTC), count=12)
    assert [(s.month, s.weekday(), s.day <= 7, s.time()) for s in sends] == [
        (month, 0, True, dt.time(8)) for month in range(1, 13)
    ]
    # Each update covers the month since the one before
    periods = list(Delivery.objects.order_by("period_end").values_list("period_start", "period_end"))
    assert all(end is not None and (end - start).days in (28, 35) for start, end in periods)


def test_fortnightly_keeps_its_weeks(sponsored):
    SponsorSubscription.objects.update(cadence="fortnightly")
    sponsored.subscription.refresh_from_db()
    sends = _sends(sponsored.subscription, start=dt.datetime(2026, 3, 1, tzinfo=UTC), count=3)
    # Every other Monday from the first the rule names, through the change to summer time
    assert [s.date() for s in sends] == [dt.date(2026, 3, 9), dt.date(2026, 3, 23), dt.date(2026, 4, 6)]
    assert {s.time() for s in sends} == {dt.time(8)}


def test_the_update_shows_only_what_is_shared_with_the_client(sponsored):
    # When the team previews the update on Monday 9 March (what "send now" would mail: 3–9 March)
    rendered = update_preview(subscription=sponsored.subscription, as_of=AS_OF).rendered

    # Then the shared meeting, its decision, the client's follow-up, the change and the shared health show
    for part in (rendered.text, rendered.html):
        assert "Agreed the cut-over weekend." in part
        assert "Cut over on 14 March." in part
        assert "Sign the data migration plan" in part
        assert "Add the pharmacy module" in part
        assert "Go-live" in part
        # with their dates in words, the meeting and the follow-up at the sponsor's local time (Berlin)
        assert "on Wed 4 Mar 2026 11:00" in part
        assert "due Fri 6 Mar 2026, 11:00" in part
        assert "due Wed 1 Apr 2026" in part
        assert "raised 3 Mar 2026" in part
        # and the change's cost in the engagement's currency, as the pages say it
        assert f"budget impact 40,000 {sponsored.engagement.currency}" in part
        # And nothing internal: the internal check-in, the team's follow-up, the override's reason, sentiment
        assert INTERNAL not in part
        assert "entiment" not in part
    assert rendered.subject == "EHR <&> rollout — status update 3–9 Mar 2026 — health red"
    assert "EHR &lt;&amp;&gt; rollout" in rendered.html
    assert "EHR <&> rollout" in rendered.text


def test_a_milestone_past_its_day_and_not_done_is_said_to_be_late_in_both_parts(sponsored):
    # Given, beside Go-live (1 April), a milestone due on Friday 6 March and one due on the update's day
    for name, day in (("Data migration", dt.date(2026, 3, 6)), ("Training", dt.date(2026, 3, 9))):
        milestone_create(actor=sponsored.lead, engagement=sponsored.engagement, name=name, due_on=day)

    # When the update of Monday 9 March (Berlin) is previewed
    preview = update_preview(subscription=sponsored.subscription, as_of=AS_OF)
    html, text = preview.rendered.html, preview.rendered.text

    # Then the first is late, in words (and colour in HTML), as the next milestone too; the others are due
    late = '<strong class="update-overdue" style="color: #b42318;">late since Fri 6 Mar 2026</strong>'
    assert f"<li>Data migration {late}</li>" in html
    assert f"Next milestone: Data migration, {late}</li>" in html
    assert "- Data migration (late since Fri 6 Mar 2026)" in text
    assert "- Next milestone: Data migration, late since Fri 6 Mar 2026" in text
    assert "- Training (due Mon 9 Mar 2026)" in text and "- Go-live (due Wed 1 Apr 2026)" in text
    assert "late since Mon 9 Mar" not in text
    # And the drafted summary says it too
    assert "Next milestone: Data migration, late since 6 Mar." in preview.summary


def test_each_decision_of_a_meeting_is_its_own_item_in_both_parts(sponsored):
    # Given the week's shared check-in recorded two decisions, one per line
    CheckIn.objects.filter(decisions="Cut over on 14 March.").update(
        decisions="Cut over on 14 March.\nTrain the night shift first"
    )

    # When the update of Monday 9 March is previewed
    rendered = update_preview(subscription=sponsored.subscription, as_of=AS_OF).rendered

    # Then the text lists each decision on its own line, all at the same indent under the meeting
    assert (
        "  Agreed the cut-over weekend.\n"
        "  Decisions:\n"
        "    - Cut over on 14 March.\n"
        "    - Train the night shift first\n"
    ) in rendered.text
    # And the HTML gives each its own list item
    assert ">Cut over on 14 March.</li>" in rendered.html
    assert ">Train the night shift first</li>" in rendered.html


def test_health_is_left_out_where_the_firm_does_not_share_it(sponsored):
    sponsored.engagement.__class__.objects.update(health_shared_with_client=False)
    sponsored.subscription.refresh_from_db()
    rendered = update_preview(subscription=sponsored.subscription, as_of=AS_OF).rendered
    assert "health" not in rendered.subject
    assert "Red" not in rendered.text and "Amber" not in rendered.text


def test_a_name_with_a_line_break_cannot_add_a_header(
    sponsored, eager_tasks, django_capture_on_commit_callbacks
):
    # Given a recipient whose name carries CR/LF and a header of its own
    sponsored.sponsor.__class__.objects.update(name="Ana\r\nBcc: thief@example.com")
    # When the update is written and sent
    with django_capture_on_commit_callbacks(execute=True):
        services.updates_sweep(as_of=AS_OF)
    # Then one mail went, to the sponsor only, with no header the name tried to add
    [sent] = mail.outbox
    message = message_from_bytes(sent.message().as_bytes(), policy=policy.default)
    assert [address for _, address in getaddresses(sent.recipients())] == ["ana@client.test"]
    assert message["Bcc"] is None
    assert "\n" not in str(message["To"]) and "\r" not in str(message["To"])
    assert (
        str(message["Subject"]).strip() == "EHR <&> rollout — status update 23 Feb – 1 Mar 2026 — health red"
    )


def test_send_now_writes_one_update_however_often_it_is_submitted(sponsored):
    for _ in range(2):
        services.update_send_now(
            actor=sponsored.lead, subscription=sponsored.subscription, request_key="abc123", as_of=AS_OF
        )
    delivery = Delivery.objects.get()
    assert delivery.ad_hoc_key == "abc123"
    assert OutboxMessage.objects.count() == 1
    # And the schedule is left alone
    sponsored.subscription.refresh_from_db()
    assert sponsored.subscription.next_send_at == dt.datetime(2026, 3, 2, 7, 0, tzinfo=UTC)


def test_the_sweep_reads_a_fixed_number_of_queries_per_batch(sponsored, django_assert_max_num_queries):
    from tests import factories

    for _ in range(4):
        role = factories.make_role(engagement=sponsored.engagement, kind="sponsor")
        assert role.stakeholder.email
    services.subscriptions_ensure_for_sponsors(as_of=dt.datetime(2026, 3, 1, tzinfo=UTC))
    SponsorSubscription.objects.update(next_send_at=dt.datetime(2026, 3, 9, 7, tzinfo=UTC))
    with django_assert_max_num_queries(30):
        assert services.updates_sweep(as_of=AS_OF) == 5


def _without_links(text: str) -> str:
    """The text without its signed links (the mail's name its delivery, the preview's cannot)."""
    return "\n".join(line for line in text.splitlines() if line.strip() and "http" not in line)


def test_send_now_mails_exactly_what_the_preview_shows_a_cadence_up_to_today(sponsored):
    # Given a recipient subscribed this Monday morning, whose first update is next Monday
    subscription = sponsored.subscription
    SponsorSubscription.objects.filter(pk=subscription.pk).update(
        next_send_at=dt.datetime(2026, 3, 16, 7, tzinfo=UTC)
    )
    subscription.refresh_from_db()

    # When the team previews and then sends now
    preview = update_preview(subscription=subscription, as_of=AS_OF)
    delivery = services.update_send_now(
        actor=sponsored.lead, subscription=subscription, request_key="k", as_of=AS_OF
    )

    # Then both cover the week up to and including today in Berlin, 3–9 March
    assert preview.content.period == schedule.Period(start=dt.date(2026, 3, 3), end=dt.date(2026, 3, 10))
    assert (delivery.period_start, delivery.period_end) == (dt.date(2026, 3, 3), dt.date(2026, 3, 10))
    # And the mail holds the preview's subject and content, the last week's meeting included
    message = OutboxMessage.objects.get()
    assert message.subject == preview.rendered.subject
    assert _without_links(message.body_text) == _without_links(preview.rendered.text)
    assert "Agreed the cut-over weekend." in message.body_text


def test_failed_updates_are_reported_to_each_lead_once_in_a_fixed_number_of_queries(sponsored):
    from engagements.models import Membership
    from notifications.models import Notification
    from tests import factories

    # Given a consultant beside the lead, and updates the outbox gave up on: one, then three more
    member = factories.consultant(username="member")
    Membership.objects.create(engagement=sponsored.engagement, user=member, role=Membership.Role.CONSULTANT)
    budgets = []
    for size in (1, 3):
        for n in range(size):
            delivery = services.update_send_now(
                actor=sponsored.lead,
                subscription=sponsored.subscription,
                request_key=f"{size}-{n}",
                as_of=AS_OF + dt.timedelta(days=7 * n),
            )
            OutboxMessage.objects.filter(delivery=delivery).update(
                status="failed", last_error="The recipient has no email address."
            )
        # When the report runs
        with CaptureQueriesContext(connection) as queries:
            reported = services.delivery_failures_report(as_of=AS_OF + dt.timedelta(days=30))
        budgets.append(len(queries))
        # Then each failure is reported once, to the lead only
        assert reported == size
    assert budgets[0] == budgets[1]
    notices = Notification.objects.filter(event="update_failed")
    assert [n.recipient_id for n in notices] == [sponsored.lead.pk] * 4
    assert all("could not be delivered: The recipient has no email address." in n.message for n in notices)

    # And a second run tells nobody again
    assert services.delivery_failures_report(as_of=AS_OF + dt.timedelta(days=31)) == 0
    assert Notification.objects.filter(event="update_failed").count() == 4
    assert not Delivery.objects.filter(outbox_message__status="failed", failure_reported_at__isnull=True)


def test_a_pending_or_sent_update_is_not_reported_as_failed(sponsored):
    from notifications.models import Notification

    sent = services.update_send_now(
        actor=sponsored.lead, subscription=sponsored.subscription, request_key="sent", as_of=AS_OF
    )
    OutboxMessage.objects.filter(delivery=sent).update(status="sent", sent_at=AS_OF)
    services.update_send_now(
        actor=sponsored.lead, subscription=sponsored.subscription, request_key="pending", as_of=AS_OF
    )
    OutboxMessage.objects.filter(delivery__ad_hoc_key="pending").update(attempts=4, last_error="timed out")
    assert services.delivery_failures_report(as_of=AS_OF) == 0
    assert not Notification.objects.filter(event="update_failed").exists()


def test_changing_only_the_approval_or_pause_keeps_a_fortnightly_updates_next_day(sponsored):
    # Given a fortnightly subscription and its next send day
    fortnightly = services.SubscriptionSchedule("fortnightly", 0, dt.time(8), "Europe/Berlin")
    subscription = services.subscription_update(
        actor=sponsored.lead,
        subscription=sponsored.subscription,
        spec=fortnightly,
        is_active=True,
        as_of=AS_OF,
    )
    next_day = subscription.next_send_at
    assert next_day is not None

    # When, a week later and before that day, the team asks for approval and sets a pause
    a_week_on = next_day - dt.timedelta(days=6)
    for spec in (
        services.SubscriptionSchedule("fortnightly", 0, dt.time(8), "Europe/Berlin", needs_approval=True),
        services.SubscriptionSchedule(
            "fortnightly", 0, dt.time(8), "Europe/Berlin", paused_until=a_week_on.date(), needs_approval=True
        ),
    ):
        subscription = services.subscription_update(
            actor=sponsored.lead, subscription=subscription, spec=spec, is_active=True, as_of=a_week_on
        )

        # Then the next update stays on its day: no week is skipped
        assert subscription.next_send_at == next_day


def test_a_new_day_for_a_fortnightly_update_keeps_its_weeks_and_leaves_no_day_uncovered(sponsored):
    # Given fortnightly Monday updates, the last one sent on Monday 9 March (covering 23 Feb – 8 Mar)
    subscription = sponsored.subscription
    SponsorSubscription.objects.filter(pk=subscription.pk).update(
        cadence="fortnightly", next_send_at=dt.datetime(2026, 3, 9, 7, tzinfo=UTC)
    )
    subscription.refresh_from_db()
    assert services.updates_sweep(as_of=AS_OF) == 1
    subscription.refresh_from_db()

    # When the team moves them to Tuesday on Thursday 12 March
    spec = services.SubscriptionSchedule("fortnightly", 1, dt.time(8), "Europe/Berlin")
    services.subscription_update(
        actor=sponsored.lead,
        subscription=subscription,
        spec=spec,
        is_active=True,
        as_of=AS_OF + dt.timedelta(days=3),
    )
    subscription.refresh_from_db()

    # Then the next goes on Tuesday 24 March, two weeks on, not the week after or three weeks on
    assert subscription.next_send_at == dt.datetime(2026, 3, 24, 7, tzinfo=UTC)
    # And it covers every day since the last one: 9 to 23 March
    assert services.updates_sweep(as_of=dt.datetime(2026, 3, 24, 8, tzinfo=UTC)) == 1
    latest = Delivery.objects.order_by("-scheduled_for").first()
    assert latest is not None
    assert (latest.period_start, latest.period_end) == (dt.date(2026, 3, 9), dt.date(2026, 3, 24))

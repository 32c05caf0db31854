"""The RAID log's model and services: scores, transitions, reviews, filed decisions, issues to changes."""

from __future__ import annotations

import datetime as dt
from datetime import UTC

import pytest
from django.core.exceptions import ValidationError

from communications import raid, selectors
from communications.models import RaidItem
from engagements.models import ChangeRequest
from pmaas.errors import NotAllowed, RuleViolation, TransitionRefused
from tests import factories

pytestmark = pytest.mark.django_db

AS_OF = dt.datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


def test_a_risk_scores_likelihood_times_impact_and_keeps_no_columns_of_other_kinds(world):
    # Given a risk typed with a validation date and a severity, which risks do not have
    risk = factories.make_raid_item(
        engagement=world.mine.engagement,
        likelihood=4,
        impact=5,
        validate_by=dt.date(2026, 5, 1),
        severity="high",
        actor=world.lead,
    )

    # Then its score is the product, read back from the database, and the other kinds' columns are empty
    risk.refresh_from_db()
    assert risk.score == 20
    assert risk.validate_by is None and risk.severity == ""
    assert risk.status_words == "Open"


def test_a_risk_without_a_rating_is_refused_beside_each_missing_field(world):
    with pytest.raises(ValidationError) as refused:
        raid.raid_item_create(
            actor=world.lead,
            engagement=world.mine.engagement,
            kind="risk",
            values=raid.RaidFields(title="Vendor slips"),
        )
    assert set(refused.value.message_dict) >= {"likelihood", "impact"}
    assert not RaidItem.objects.filter(title="Vendor slips").exists()


def test_owner_and_people_must_belong_to_the_engagement(world):
    # Given an owner from another team and a stakeholder of another engagement
    with pytest.raises(ValidationError) as refused:
        factories.make_raid_item(
            engagement=world.mine.engagement,
            owner=world.outsider_consultant,
            stakeholders=[world.other.stakeholder],
            raised_by=world.other.stakeholder,
        )

    # Then each is a field error, and nothing is written
    assert set(refused.value.message_dict) >= {"owner", "stakeholders", "raised_by"}


def test_a_client_user_may_not_add_to_the_log(world):
    with pytest.raises(NotAllowed):
        factories.make_raid_item(engagement=world.mine.engagement, actor=world.client_user)


def test_closing_and_reopening_follow_the_declared_moves(world):
    item = world.mine.raid_item
    raid.raid_item_transition(actor=world.lead, item=item, to_status="closed", as_of=AS_OF)
    item.refresh_from_db()
    assert (item.status, item.closed_at) == ("closed", AS_OF)

    with pytest.raises(TransitionRefused):
        raid.raid_item_transition(actor=world.lead, item=item, to_status="closed", as_of=AS_OF)

    raid.raid_item_transition(actor=world.lead, item=item, to_status="open")
    item.refresh_from_db()
    assert (item.status, item.closed_at) == ("open", None)


def test_reviewing_a_risk_rerates_it_and_moves_its_next_review(world):
    risk = world.mine.raid_item
    raid.raid_risk_review(
        actor=world.consultant,
        item=risk,
        likelihood=2,
        impact=4,
        trend="falling",
        next_review_on=dt.date(2026, 3, 24),
        mitigation="Backfill agreed with the ward managers.",
        as_of=AS_OF,
    )
    risk.refresh_from_db()
    assert (risk.score, risk.trend, risk.review_on) == (8, "falling", dt.date(2026, 3, 24))
    assert risk.last_reviewed_at == AS_OF
    assert risk.mitigation == "Backfill agreed with the ward managers."


def test_each_review_is_kept_with_the_rating_it_replaced_and_only_the_team_reads_them(world):
    # Given the world's risk, rated 3 x 4, reviewed twice
    risk = world.mine.raid_item
    before = (risk.likelihood, risk.impact)
    for likelihood, days in ((2, 1), (1, 2)):
        raid.raid_risk_review(
            actor=world.consultant,
            item=risk,
            likelihood=likelihood,
            impact=4,
            trend="falling",
            next_review_on=dt.date(2026, 3, 24),
            as_of=AS_OF + dt.timedelta(days=days),
        )

    # When the team and the client read its reviews
    team = selectors.raid_risk_review_list(user=world.lead, item=risk)
    client = selectors.raid_risk_review_list(user=world.client_user, item=risk)

    # Then the newest comes first, each beside the rating before it; the client reads none
    assert [(r.previous_likelihood, r.likelihood, r.score, r.reviewed_by) for r in team] == [
        (2, 1, 4, world.consultant),
        (before[0], 2, 8, world.consultant),
    ]
    assert team[1].previous_impact == before[1]
    assert client == []


def test_a_review_may_not_set_the_next_one_in_the_past(world):
    with pytest.raises(ValidationError) as refused:
        raid.raid_risk_review(
            actor=world.lead,
            item=world.mine.raid_item,
            likelihood=3,
            impact=3,
            trend="steady",
            next_review_on=dt.date(2026, 3, 9),
            as_of=AS_OF,
        )
    assert "next_review_on" in refused.value.message_dict


def test_only_an_open_risk_is_reviewed(world):
    assumption = factories.make_raid_item(engagement=world.mine.engagement, kind="assumption")
    with pytest.raises(RuleViolation):
        raid.raid_risk_review(
            actor=world.lead,
            item=assumption,
            likelihood=1,
            impact=1,
            trend="steady",
            next_review_on=dt.date(2026, 4, 1),
            as_of=AS_OF,
        )


def test_validating_an_assumption_closes_it_with_its_outcome(world):
    assumption = factories.make_raid_item(engagement=world.mine.engagement, kind="assumption")
    raid.raid_assumption_validate(actor=world.lead, item=assumption, holds=False, as_of=AS_OF)
    assumption.refresh_from_db()
    assert (assumption.status, assumption.validation, assumption.validated_at) == ("closed", "failed", AS_OF)
    assert assumption.status_words == "Proved wrong"


def test_decision_lines_drop_bullets_and_blank_lines():
    text = "- Go-live moves to 4 May\n\n* Pharmacy joins wave 2\n3. Training in April\n   \n"
    assert raid.decision_lines(text) == [
        "Go-live moves to 4 May",
        "Pharmacy joins wave 2",
        "Training in April",
    ]


def test_filing_a_check_ins_decisions_adds_one_decision_per_line_once(world):
    # Given a shared check-in whose decisions hold two lines
    check_in = factories.make_check_in(
        engagement=world.mine.engagement,
        attendees=[world.mine.stakeholder],
        actor=world.lead,
        occurred_at=AS_OF,
        decisions="Go-live moves to 4 May\nPharmacy joins wave 2",
        shared_with_client=True,
        as_of=AS_OF,
    )

    # When its decisions are filed, twice
    first = raid.raid_decisions_file_from_check_in(actor=world.lead, check_in=check_in, as_of=AS_OF)
    second = raid.raid_decisions_file_from_check_in(actor=world.lead, check_in=check_in, as_of=AS_OF)

    # Then each line is one decision from that check-in, dated its day, by its attendees, shared as it is
    assert [d.title for d in first] == ["Go-live moves to 4 May", "Pharmacy joins wave 2"]
    assert second == []
    decision = RaidItem.objects.get(title="Go-live moves to 4 May")
    assert (decision.kind, decision.check_in_id, decision.decided_on) == (
        "decision",
        check_in.pk,
        AS_OF.date(),
    )
    assert decision.decided_by == world.mine.stakeholder.name
    assert decision.shared_with_client is True
    assert list(decision.stakeholders.all()) == [world.mine.stakeholder]


def test_logging_a_check_in_can_file_its_decisions_in_the_same_step(world):
    check_in = factories.make_check_in(
        engagement=world.mine.engagement,
        attendees=[world.mine.stakeholder],
        actor=world.lead,
        occurred_at=AS_OF,
        decisions="Freeze scope until go-live",
        file_decisions=True,
        as_of=AS_OF,
    )
    assert list(check_in.raid_decisions.values_list("title", flat=True)) == ["Freeze scope until go-live"]


def test_filing_decisions_without_any_written_is_refused_on_the_decisions_field(world):
    with pytest.raises(ValidationError) as refused:
        factories.make_check_in(
            engagement=world.mine.engagement,
            attendees=[world.mine.stakeholder],
            actor=world.lead,
            occurred_at=AS_OF,
            file_decisions=True,
            as_of=AS_OF,
        )
    assert "decisions" in refused.value.message_dict


def test_an_issue_becomes_a_proposed_change_request_once(world):
    # Given an open issue
    issue = factories.make_raid_item(
        engagement=world.mine.engagement,
        kind="issue",
        title="Interface engine cannot take the lab feed",
        description="Vendor needs a new adapter.",
        severity="high",
        shared_with_client=True,
    )

    # When it is turned into a change request
    change = raid.raid_issue_to_change_request(
        actor=world.lead, item=issue, kind="scope", budget_impact=12_000, as_of=AS_OF
    )

    # Then a proposed change request carries its words, linked from the issue, which stays open
    issue.refresh_from_db()
    assert issue.became_change_request == change
    assert (change.title, change.status, change.budget_impact) == (issue.title, "proposed", 12_000)
    assert "new adapter" in change.description
    assert issue.status == "open"

    # And a second time is refused, writing nothing
    with pytest.raises(RuleViolation):
        raid.raid_issue_to_change_request(actor=world.lead, item=issue, kind="scope", as_of=AS_OF)
    assert ChangeRequest.objects.filter(title=issue.title).count() == 1


def test_only_an_issue_becomes_a_change_request(world):
    with pytest.raises(RuleViolation):
        raid.raid_issue_to_change_request(actor=world.lead, item=world.mine.raid_item, kind="scope")

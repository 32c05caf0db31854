"""Reads of plans, check-ins, follow-ups and sponsor updates: status rights, owners, query budgets.

Which roles see which rows is the matrix in tests/test_scoping.py; here are the selectors' own promises.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, time, timedelta
from typing import Any

import pytest
from django.utils import timezone
from pytest_django import DjangoAssertNumQueries

from communications import raid, selectors
from communications.models import Delivery, SponsorSubscription
from communications.selectors import (
    channel_list,
    check_in_list,
    delivery_list,
    follow_up_can_update_status,
    follow_up_comment_list,
    follow_up_list,
    follow_up_list_for_owner,
    sponsor_subscription_list,
)
from communications.services import FollowUpSpec, follow_up_comment_add
from tests import factories
from tests.factories import World


@pytest.mark.parametrize(
    ("kind", "whose", "allowed"),
    [
        ("consultant", "stakeholder_on_mine", True),
        ("engagement_lead", "teammate_on_mine", True),
        ("practice_lead", "stakeholder_on_other", True),
        ("client_pmo_lead", "stakeholder_on_mine", True),
        ("client_pmo_lead", "teammate_on_mine", False),
        ("client_pmo_lead", "stakeholder_on_sibling", False),
        ("client_pmo_lead", "stakeholder_on_other", False),
        ("consultant", "stakeholder_on_sibling", False),
    ],
)
def test_who_may_change_a_follow_ups_status(world: World, kind: str, whose: str, allowed: bool) -> None:
    # Given a follow-up owed by a stakeholder or a teammate on one of the world's engagements
    item = {
        "stakeholder_on_mine": world.mine.follow_up,
        "stakeholder_on_sibling": world.sibling.follow_up,
        "stakeholder_on_other": world.other.follow_up,
        "teammate_on_mine": factories.make_follow_up(engagement=world.mine.engagement, owner_user=world.lead),
    }[whose]

    # When a user's right to change its status is checked
    # Then the team of its engagement may, and a client user only when they own it
    assert follow_up_can_update_status(user=world.users()[kind], follow_up=item) is allowed


def test_follow_ups_for_owner_are_those_a_person_owes(world: World) -> None:
    # Given a follow-up owed by the lead and the world's items owed by stakeholders
    owed_by_lead = factories.make_follow_up(engagement=world.mine.engagement, owner_user=world.lead)

    # When the lead and the client's PMO lead list what they owe
    lead_owes = set(follow_up_list_for_owner(user=world.lead))
    client_owes = set(follow_up_list_for_owner(user=world.client_user))

    # Then the lead owes their item, and the PMO lead the item of their stakeholder record only
    assert lead_owes == {owed_by_lead}
    assert client_owes == {world.mine.follow_up}
    assert set(follow_up_list_for_owner(user=world.consultant)) == set()


def grow(world: World, extra: int) -> None:
    """Add people to the consultant's engagement, each with a check-in, follow-up, comment,
    channel and sponsor update."""
    for _ in range(extra):
        person = factories.make_role(engagement=world.mine.engagement).stakeholder
        check_in = factories.make_check_in(
            engagement=world.mine.engagement,
            attendees=[person, world.mine.stakeholder],
            actor=world.lead,
            team_attendees=[world.lead, world.consultant],
            follow_ups=[
                FollowUpSpec(
                    title="Next step", due_at=timezone.now() + timedelta(days=1), owner_stakeholder=person
                )
            ],
        )
        follow_up_comment_add(actor=world.lead, follow_up=check_in.follow_ups.get(), body="Noted.")
        factories.make_channel(role=world.mine.role, owner=world.consultant)
        subscription = SponsorSubscription.objects.create(
            engagement=world.mine.engagement,
            stakeholder=person,
            local_time=time(8),
            time_zone="Europe/Berlin",
        )
        Delivery.objects.create(
            subscription=subscription, period_start=date(2026, 3, 2), scheduled_for=timezone.now()
        )


ListCase = tuple[str, Callable[..., Any], Callable[[Any], object], int]

LISTS: list[ListCase] = [
    (
        "channel_list",
        channel_list,
        lambda c: (c.engagement.code, c.stakeholder.name, c.owner.username),
        1,
    ),
    (
        # One query for the check-ins, one per prefetched many-to-many.
        "check_in_list",
        check_in_list,
        lambda c: (
            c.engagement.code,
            c.channel,
            c.logged_by.username,
            [s.name for s in c.attendees.all()],
            [u.username for u in c.team_attendees.all()],
        ),
        3,
    ),
    (
        "follow_up_list",
        follow_up_list,
        lambda f: (f.engagement.code, f.owner_user, f.owner_stakeholder, f.check_in),
        1,
    ),
    ("follow_up_comment_list", follow_up_comment_list, lambda c: (c.follow_up.title, c.author.username), 1),
    (
        "sponsor_subscription_list",
        sponsor_subscription_list,
        lambda s: (s.engagement.code, s.stakeholder.name),
        1,
    ),
    (
        "delivery_list",
        delivery_list,
        lambda d: (d.subscription.engagement.code, d.subscription.stakeholder.name),
        1,
    ),
]


@pytest.mark.parametrize(("name", "select", "touch", "queries"), LISTS, ids=[case[0] for case in LISTS])
def test_lists_hold_their_query_budget_whatever_their_length(
    world: World,
    django_assert_num_queries: DjangoAssertNumQueries,
    name: str,
    select: Callable[..., Any],
    touch: Callable[[Any], object],
    queries: int,
) -> None:
    # Given the consultant's lists at two sizes
    sizes = []
    for extra in (0, 3):
        grow(world, extra)

        # When each is read along with the related rows a page shows
        with django_assert_num_queries(queries):
            rows = list(select(user=world.consultant))
            for row in rows:
                touch(row)
        sizes.append(len(rows))

    # Then the same number of queries serves both sizes
    assert sizes[1] > sizes[0] > 0


def test_a_quiet_relationship_without_a_plan_says_how_long_the_rule_allows(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a rule of 45 days without contact for relationships without a planned channel
    monkeypatch.setattr(selectors, "QUIET_WITHOUT_CHANNEL", timedelta(days=45))
    role = factories.make_role(engagement=world.mine.engagement, relationship_owner=world.consultant)

    # When the relationships gone quiet are read
    quiet = selectors.week_quiet_stakeholders(user=world.consultant, as_of=timezone.now())

    # Then the unplanned one says the rule's own number of days, which My week shows
    (item,) = [q for q in quiet if q.role.pk == role.pk]
    assert item.channel is None
    assert item.quiet_after_days == 45
    assert item.quiet_after_in_words == "over 6 weeks"


def test_pages_of_the_raid_log_follow_its_order_across_open_and_closed_items_and_scores(world: World) -> None:
    # Given open risks of tied and different scores, open issues and closed items of each kind
    engagement = world.mine.engagement
    for n, (likelihood, impact) in enumerate([(5, 5), (3, 4), (4, 3), (1, 2), (5, 5)]):
        factories.make_raid_item(
            engagement=engagement, title=f"Risk {n}", likelihood=likelihood, impact=impact
        )
    for n in range(3):
        factories.make_raid_item(engagement=engagement, kind="issue", title=f"Issue {n}")
    for kind in ("risk", "issue", "assumption"):
        item = factories.make_raid_item(engagement=engagement, kind=kind, title=f"Closed {kind}")
        raid.raid_item_transition(actor=world.lead, item=item, to_status="closed")
    whole = list(selectors.raid_log(user=world.lead, engagement=engagement, filters=selectors.RaidFilter()))

    # When it is read in pages of three, each starting where the last ended, through its written cursor
    seen: list[int] = []
    after = None
    while True:
        page = selectors.raid_log_page(
            user=world.lead, engagement=engagement, filters=selectors.RaidFilter(), after=after, size=3
        )
        seen += [item.pk for item in page.items]
        if page.next_after is None:
            break
        after = selectors.RaidCursor.parse(str(page.next_after))

    # Then the pages hold the whole log once, in its order
    assert seen == [item.pk for item in whole] and len(seen) == 12


@pytest.mark.parametrize("text", [None, "", "345", "2.1.5", "1.123.5", "1.2.0", "1.2.-5", "1.2.5x", "١.٢.٣"])
def test_a_raid_cursor_that_is_not_one_reads_as_the_first_page(text: Any) -> None:
    assert selectors.RaidCursor.parse(text) is None
    assert selectors.RaidCursor.parse("1.20.345") == selectors.RaidCursor(open=1, score=20, id=345)

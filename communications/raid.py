"""The RAID log's writes: items recorded and edited, risks reviewed, assumptions validated,
decisions filed from a check-in, issues turned into change requests, and the review sweep.

Every write checks that the actor may edit the engagement's records
(``engagement_check_editable``); items of another engagement, a team member
who is not on the team or a stakeholder without a role there are field
errors, so forms and the API show them beside what was typed.
"""

from __future__ import annotations

import difflib
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from communications.models import CheckIn, RaidItem, RaidKind, RaidRiskReview, RaidValidation
from communications.obligations import change_request_record
from engagements.models import ChangeRequest, Engagement, Membership
from engagements.selectors import engagement_check_editable
from notifications.models import NotificationEvent
from notifications.services import NotificationDraft, notifications_record
from pmaas.concurrency import check_unchanged
from pmaas.durations import count_in_words
from pmaas.errors import RuleViolation
from pmaas.validation import clean_instance
from search.services import search_documents_refresh
from stakeholders.models import Stakeholder, StakeholderRole

# The columns each kind uses; the service empties the others, so an item never
# carries a stale rating or date from a kind it is not.
KIND_FIELDS: dict[str, frozenset[str]] = {
    RaidKind.RISK: frozenset({"likelihood", "impact", "trend", "mitigation", "review_on"}),
    RaidKind.ASSUMPTION: frozenset({"validate_by"}),
    RaidKind.ISSUE: frozenset({"severity", "due_on", "mitigation"}),
    RaidKind.DECISION: frozenset({"decided_by", "decided_on", "change_request"}),
}
_KIND_SPECIFIC = frozenset().union(*KIND_FIELDS.values())
_EMPTY: dict[str, Any] = {
    "likelihood": None,
    "impact": None,
    "trend": "",
    "mitigation": "",
    "review_on": None,
    "validate_by": None,
    "severity": "",
    "due_on": None,
    "decided_by": "",
    "decided_on": None,
    "change_request": None,
}


@dataclass(frozen=True)
class RaidFields:
    """What a person writes about an item, for every kind; the columns of other kinds are ignored."""

    title: str
    description: str = ""
    owner: User | None = None
    stakeholders: Sequence[Stakeholder] = ()
    raised_by: Stakeholder | None = None
    likelihood: int | None = None
    impact: int | None = None
    trend: str = ""
    mitigation: str = ""
    review_on: date | None = None
    validate_by: date | None = None
    severity: str = ""
    due_on: date | None = None
    decided_by: str = ""
    decided_on: date | None = None
    change_request: ChangeRequest | None = None
    shared_with_client: bool = False


def _apply(item: RaidItem, values: RaidFields, errors: dict[str, list[str]]) -> list[Stakeholder]:
    """Write the values the item's kind uses onto it; collect what does not fit the engagement."""
    engagement = item.engagement
    used = KIND_FIELDS.get(item.kind, frozenset())
    for spec in fields(values):
        name = spec.name
        if name == "stakeholders":
            continue
        value = getattr(values, name)
        if name in _KIND_SPECIFIC and name not in used:
            value = _EMPTY[name]
        if isinstance(value, str):
            value = value.strip()
        setattr(item, name, value)

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    if item.kind == RaidKind.RISK:
        if values.likelihood is None:
            add("likelihood", "Rate how likely it is, 1 to 5.")
        if values.impact is None:
            add("impact", "Rate its impact, 1 to 5.")
    if item.kind == RaidKind.DECISION and values.decided_on is None:
        add("decided_on", "Say when the decision was taken.")
    if item.kind == RaidKind.ASSUMPTION and values.validate_by is None:
        add("validate_by", "Say by when the assumption must be checked.")
    if (
        values.owner is not None
        and not Membership.objects.filter(engagement=engagement, user=values.owner).exists()
    ):
        add("owner", f"{values.owner} is not on this engagement's team.")
    with_role = set(
        StakeholderRole.objects.filter(engagement=engagement).values_list("stakeholder_id", flat=True)
    )
    outsiders = [str(s) for s in values.stakeholders if s.pk not in with_role]
    if outsiders:
        add("stakeholders", f"Not stakeholders of this engagement: {', '.join(outsiders)}.")
    if values.raised_by is not None and values.raised_by.pk not in with_role:
        add("raised_by", f"{values.raised_by} is not a stakeholder of this engagement.")
    if item.change_request is not None and item.change_request.engagement_id != engagement.pk:
        add("change_request", "This change request belongs to another engagement.")
    return list(values.stakeholders)


def _raise(errors: dict[str, list[str]]) -> None:
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def raid_item_create(
    *,
    actor: Any,
    engagement: Engagement,
    kind: str,
    values: RaidFields,
    check_in: CheckIn | None = None,
    as_of: datetime | None = None,
) -> RaidItem:
    """Record a risk, assumption, issue or decision on the engagement's log, open.

    Kind-specific columns of other kinds are left empty. Refused (nothing
    written) with field errors for a missing rating or date, an owner not on
    the team, or people without a role on the engagement. Not idempotent:
    each call adds an item.
    """
    engagement_check_editable(user=actor, engagement=engagement)
    errors: dict[str, list[str]] = {}
    if kind not in RaidKind.values:
        errors["kind"] = ["Choose risk, assumption, issue or decision."]
    item = RaidItem(engagement=engagement, kind=kind, check_in=check_in, created_by=actor)
    stakeholders = _apply(item, values, errors)
    if check_in is not None and check_in.engagement_id != engagement.pk:
        errors.setdefault("check_in", []).append("This check-in belongs to another engagement.")
    clean_instance(item, errors)
    item.save()
    item.stakeholders.set(stakeholders)
    search_documents_refresh(kind="raid_item", ids=[item.pk])
    return item


@transaction.atomic
def raid_item_update(
    *, actor: Any, item: RaidItem, values: RaidFields, seen_updated_at: datetime | None
) -> RaidItem:
    """Change what an item says (its kind stays). Refused when it changed since ``seen_updated_at``.

    Idempotent: saving the same values again changes nothing but its edit time.
    """
    engagement_check_editable(user=actor, engagement=item.engagement)
    RaidItem.objects.select_for_update().filter(pk=item.pk).first()
    check_unchanged(item, seen_updated_at=seen_updated_at)
    errors: dict[str, list[str]] = {}
    stakeholders = _apply(item, values, errors)
    clean_instance(item, errors)
    item.save()
    item.stakeholders.set(stakeholders)
    search_documents_refresh(kind="raid_item", ids=[item.pk])
    return item


@transaction.atomic
def raid_item_transition(
    *, actor: Any, item: RaidItem, to_status: str, as_of: datetime | None = None
) -> RaidItem:
    """Close or reopen an item, as ``RaidItem.TRANSITIONS`` allows (TransitionRefused otherwise).

    Closing stamps ``closed_at``; reopening clears it (and an assumption's
    validation, which no longer stands). Not repeatable: closing a closed
    item is refused.
    """
    engagement_check_editable(user=actor, engagement=item.engagement)
    locked = RaidItem.objects.select_for_update().get(pk=item.pk)
    RaidItem.TRANSITIONS.check(locked.status, to_status)
    item.status = to_status
    item.closed_at = (as_of or timezone.now()) if to_status == RaidItem.Status.CLOSED else None
    changed = ["status", "closed_at", "updated_at"]
    if to_status == RaidItem.Status.OPEN:
        item.validation, item.validated_at = "", None
        changed += ["validation", "validated_at"]
    item.save(update_fields=changed)
    return item


def _require(item: RaidItem, kind: str, verb: str, *, open_only: bool = True) -> None:
    if item.kind != kind:
        noun = RaidKind(kind).label.lower()
        raise RuleViolation(f"Only {'an' if noun[0] in 'aeiou' else 'a'} {noun} can be {verb}.")
    if open_only and item.status != RaidItem.Status.OPEN:
        raise RuleViolation(f"This {item.get_kind_display().lower()} is closed: reopen it first.")


@transaction.atomic
def raid_risk_review(
    *,
    actor: Any,
    item: RaidItem,
    likelihood: int,
    impact: int,
    trend: str,
    next_review_on: date,
    mitigation: str | None = None,
    as_of: datetime | None = None,
) -> RaidItem:
    """Record a review of an open risk: its rating and trend now, and when to look again.

    The next review may not lie before today (in UTC), or the sweep would
    flag it at once. Each call records a review (``last_reviewed_at``) and
    keeps it, with the rating it replaced, in the risk's history
    (RaidRiskReview). Not idempotent: each call is a review.
    """
    engagement_check_editable(user=actor, engagement=item.engagement)
    as_of = as_of or timezone.now()
    RaidItem.objects.select_for_update().filter(pk=item.pk).first()
    _require(item, RaidKind.RISK, "reviewed")
    errors: dict[str, list[str]] = {}
    if next_review_on is None or next_review_on < as_of.date():
        errors["next_review_on"] = ["The next review cannot lie in the past."]
    # A risk is always rated (the raid_item_risk_rated constraint), so neither is None here.
    previous = (cast(int, item.likelihood), cast(int, item.impact))
    item.likelihood, item.impact, item.trend = likelihood, impact, trend
    if mitigation is not None:
        item.mitigation = mitigation.strip()
    item.review_on = next_review_on
    item.last_reviewed_at = as_of
    clean_instance(item, errors)
    item.save()
    RaidRiskReview.objects.create(
        item=item,
        previous_likelihood=previous[0],
        previous_impact=previous[1],
        likelihood=likelihood,
        impact=impact,
        trend=trend,
        next_review_on=next_review_on,
        reviewed_by=actor,
        reviewed_at=as_of,
    )
    search_documents_refresh(kind="raid_item", ids=[item.pk])
    return item


@transaction.atomic
def raid_assumption_validate(
    *, actor: Any, item: RaidItem, holds: bool, as_of: datetime | None = None
) -> RaidItem:
    """Record that an open assumption was checked, and whether it held; this closes it.

    An assumption that proved wrong is closed too: what follows from it is a
    new risk or issue, recorded on its own.
    """
    engagement_check_editable(user=actor, engagement=item.engagement)
    as_of = as_of or timezone.now()
    locked = RaidItem.objects.select_for_update().get(pk=item.pk)
    _require(locked, RaidKind.ASSUMPTION, "validated", open_only=False)
    # Validating closes it: a closed assumption is refused as any other undeclared move.
    RaidItem.TRANSITIONS.check(locked.status, RaidItem.Status.CLOSED)
    item.validation = RaidValidation.HELD if holds else RaidValidation.FAILED
    item.validated_at = as_of
    item.status = RaidItem.Status.CLOSED
    item.closed_at = as_of
    item.save(update_fields=["validation", "validated_at", "status", "closed_at", "updated_at"])
    return item


_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")
_TITLE_MAX = 300
_DECIDED_BY_MAX = 200


def decision_lines(text: str) -> list[str]:
    """The decisions typed in a check-in, one per line, without list bullets or numbers."""
    lines = (_BULLET.sub("", line).strip() for line in (text or "").splitlines())
    return [line for line in lines if line]


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def decision_title(line: str) -> str:
    """The title a decision filed from this line of a check-in carries: the line, cut to fit."""
    return _cut(line, _TITLE_MAX)


def decision_titles(text: str) -> list[str]:
    """The titles the decisions typed in a check-in are filed under, in order."""
    return [decision_title(line) for line in decision_lines(text)]


def _decided_on(check_in: CheckIn, occurred_at: datetime | None = None) -> date:
    """A check-in's day in its client's time zone: the day its decisions were taken."""
    moment = occurred_at or check_in.occurred_at
    return moment.astimezone(ZoneInfo(check_in.engagement.client.time_zone)).date()


def _decided_by(attendees: Sequence[Stakeholder]) -> str:
    return _cut(", ".join(s.name for s in attendees), _DECIDED_BY_MAX)


@transaction.atomic
def raid_decisions_file_from_check_in(
    *, actor: Any, check_in: CheckIn, as_of: datetime | None = None
) -> list[RaidItem]:
    """File each line of a check-in's decisions as a decision on the log, from that check-in.

    Decided on the check-in's day in the client's time zone, by its attendees,
    concerning them, shared with the client when the check-in is. Idempotent:
    a line already filed from this check-in is not filed again. Returns the
    decisions it added.
    """
    engagement = check_in.engagement
    engagement_check_editable(user=actor, engagement=engagement)
    already = set(RaidItem.objects.filter(check_in=check_in).values_list("title", flat=True))
    attendees = list(check_in.attendees.all())
    day = _decided_on(check_in)
    filed = []
    for line in decision_lines(check_in.decisions):
        title = decision_title(line)
        if title in already:
            continue
        already.add(title)
        values = RaidFields(
            title=title,
            description=line if title != line else "",
            stakeholders=attendees,
            decided_by=_decided_by(attendees),
            decided_on=day,
            shared_with_client=check_in.shared_with_client,
        )
        filed.append(
            raid_item_create(
                actor=actor,
                engagement=engagement,
                kind=RaidKind.DECISION,
                values=values,
                check_in=check_in,
                as_of=as_of,
            )
        )
    return filed


def _reworded_lines(before: list[str], after: list[str]) -> list[tuple[str, str]]:
    """Pairs (old line, new line) of the lines changed in place between two versions of a text.

    Lines are matched in order: within each run of lines replaced by others,
    the first old line pairs with the first new one, and so on; lines beyond
    the shorter side were removed or added, not reworded.
    """
    pairs: list[tuple[str, str]] = []
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "replace":
            pairs.extend(zip(before[i1:i2], after[j1:j2], strict=False))
    return pairs


@transaction.atomic
def raid_decisions_follow_check_in(
    *,
    actor: Any,
    check_in: CheckIn,
    decisions_before: str,
    occurred_at_before: datetime,
    attendees_before: Sequence[Stakeholder],
    shared_before: bool | None = None,
) -> list[RaidItem]:
    """Bring the decisions filed from a corrected check-in in line with what it now says.

    A line changed in place (``_reworded_lines``) rewords the decision filed
    from it, unless the new wording is filed already, so nothing is filed
    twice. A line removed leaves its decision on the log as it was: it may
    still be in force, and only a person can say (the page tells them). A
    corrected day or attendee list moves the decisions whose day, deciders or
    stakeholders are still those filed from the check-in; what was changed on
    the log since is kept. A check-in taken back from the client
    (``shared_before`` true, now internal) takes back every decision filed
    from it; one shared later shares none of them, as a decision kept
    internal on the log may be so on purpose. New lines are not filed here
    (``raid_decisions_file_from_check_in`` does that when asked). Call it
    with the check-in already saved. Returns the decisions it changed.
    Idempotent.
    """
    engagement = check_in.engagement
    engagement_check_editable(user=actor, engagement=engagement)
    filed = {
        item.title: item
        for item in RaidItem.objects.select_for_update()
        .filter(check_in=check_in, kind=RaidKind.DECISION)
        .prefetch_related("stakeholders")
        .order_by("pk")
    }
    if not filed:
        return []
    now_lines = decision_lines(check_in.decisions)
    now_titles = {decision_title(line) for line in now_lines}
    rewording: dict[int, tuple[str, str]] = {}
    for old_line, new_line in _reworded_lines(decision_lines(decisions_before), now_lines):
        old_title, new_title = decision_title(old_line), decision_title(new_line)
        item = filed.get(old_title)
        if item is None or old_title in now_titles or new_title in filed:
            continue
        rewording[item.pk] = (old_line, new_line)
        filed[new_title] = item
    attendees = list(check_in.attendees.all())
    day_before, day_now = _decided_on(check_in, occurred_at_before), _decided_on(check_in)
    by_before, by_now = _decided_by(attendees_before), _decided_by(attendees)
    people_before = {s.pk for s in attendees_before}
    changed: dict[int, RaidItem] = {}
    for item in {item.pk: item for item in filed.values()}.values():
        if item.pk in rewording:
            old_line, line = rewording[item.pk]
            item.title = decision_title(line)
            # A description that only held the whole of a cut line follows the line; one written since stays.
            if item.description in ("", old_line):
                item.description = line if item.title != line else ""
            changed[item.pk] = item
        if item.decided_on == day_before and day_before != day_now:
            item.decided_on = day_now
            changed[item.pk] = item
        if item.decided_by == by_before and by_before != by_now:
            item.decided_by = by_now
            changed[item.pk] = item
        if {s.pk for s in item.stakeholders.all()} == people_before != {s.pk for s in attendees}:
            item.stakeholders.set(attendees)
            changed[item.pk] = item
        if shared_before and not check_in.shared_with_client and item.shared_with_client:
            item.shared_with_client = False
            changed[item.pk] = item
    for item in changed.values():
        clean_instance(item)
        followed = ["title", "description", "decided_on", "decided_by", "shared_with_client", "updated_at"]
        item.save(update_fields=followed)
    search_documents_refresh(kind="raid_item", ids=list(changed))
    return list(changed.values())


@transaction.atomic
def raid_issue_to_change_request(
    *,
    actor: Any,
    item: RaidItem,
    kind: str,
    budget_impact: Any = 0,
    schedule_impact_days: int = 0,
    title: str = "",
    description: str | None = None,
    notify_stakeholder_ids: Iterable[int] | None = None,
    as_of: datetime | None = None,
) -> ChangeRequest:
    """Turn an open issue into a proposed change request, linked both ways, with its obligations.

    A change request is the client's to decide, so the client's users and the
    sponsors' updates read it (pmaas/sharing.py). Its ``title`` and
    ``description`` default to the issue's (its description and action plan)
    only when the issue is shared with the client too; an internal issue's
    words are never copied out: its change request needs a title written for
    the client, and its description is what the caller gives. It is recorded
    through ``obligations.change_request_record``, so the people who must be
    told (``notify_stakeholder_ids``, else its default for the kind) are on
    the list at once. The issue stays open until it is resolved.
    Refused for anything but an open issue, and for an issue already turned
    into one (not repeatable).
    """
    engagement_check_editable(user=actor, engagement=item.engagement)
    as_of = as_of or timezone.now()
    locked = RaidItem.objects.select_for_update().get(pk=item.pk)
    _require(locked, RaidKind.ISSUE, "turned into a change request")
    if locked.became_change_request_id is not None:
        raise RuleViolation("This issue was already turned into a change request.")
    title = title.strip()
    if not title and not locked.shared_with_client:
        raise ValidationError(
            {"title": "This issue is internal: write the change request's title as the client may read it."}
        )
    if description is None:
        description = ""
        if locked.shared_with_client:
            description = f"{locked.description}\n\n{locked.mitigation}".strip()
    change_request = change_request_record(
        actor=actor,
        engagement=item.engagement,
        title=(title or locked.title)[:200],
        kind=kind,
        raised_on=as_of.astimezone(ZoneInfo(item.engagement.client.time_zone)).date(),
        description=description,
        budget_impact=budget_impact,
        schedule_impact_days=schedule_impact_days,
        notify_stakeholder_ids=notify_stakeholder_ids,
        as_of=as_of,
    )
    item.became_change_request = change_request
    item.save(update_fields=["became_change_request", "updated_at"])
    return change_request


def _local_date(as_of: datetime, zone: str) -> date:
    try:
        return as_of.astimezone(ZoneInfo(zone)).date()
    except (KeyError, ValueError):
        return as_of.date()


def raid_reviews_late(*, as_of: datetime, recipient_ids: set[int] | None = None) -> dict[int, list[RaidItem]]:
    """The open risks past review and assumptions past validation at ``as_of``, by whom they are told to.

    An item is told to its owner, or without one to the engagement's lead;
    "past" is judged on that person's own calendar day. ``recipient_ids``
    narrows the answer to those people. At most three queries whatever the
    number of items.
    """
    return _late_with_zones(as_of=as_of, recipient_ids=recipient_ids)[0]


def _late_with_zones(
    *, as_of: datetime, recipient_ids: set[int] | None = None
) -> tuple[dict[int, list[RaidItem]], dict[int, str]]:
    # Every late item lies before tomorrow in UTC, whatever the owner's zone.
    horizon = as_of.date().toordinal() + 2
    candidates = list(
        RaidItem.objects.review_due(on=date.fromordinal(horizon))
        .select_related("engagement")
        .only("id", "kind", "owner_id", "review_on", "validate_by", "engagement__id", "engagement__code")
        .order_by("id")
    )
    if not candidates:
        return {}, {}
    unowned = {item.engagement_id for item in candidates if item.owner_id is None}
    leads = dict(
        Membership.objects.leads()
        .filter(engagement_id__in=unowned, user__is_active=True)
        .values_list("engagement_id", "user_id")
    )
    wanted = {item.owner_id or leads.get(item.engagement_id) for item in candidates} - {None}
    if recipient_ids is not None:
        wanted &= recipient_ids
    zones = dict(User.objects.filter(pk__in=wanted).values_list("pk", "time_zone"))
    late: dict[int, list[RaidItem]] = defaultdict(list)
    for item in candidates:
        recipient = item.owner_id or leads.get(item.engagement_id)
        if recipient is None or recipient not in zones:
            continue
        today = _local_date(as_of, zones[recipient])
        if (item.review_on or item.validate_by or today) < today:
            late[recipient].append(item)
    return dict(late), zones


def raid_reviews_flag(*, as_of: datetime) -> int:
    """Tell each owner, once a day, of their risks past review and assumptions past validation.

    One notice per owner per local day, listing counts per engagement (a
    digest, never one per item), keyed ``raid:<local date>`` so a second
    sweep that day tells nobody again and the next day's sweep tells them
    afresh while anything is still late. It is shown in the app and, as the
    owner's preferences say, mailed in their daily digest
    (``escalation.follow_ups_send_overdue_digests``). Who is told and when an
    item is late: ``raid_reviews_late``. A fixed number of queries whatever
    the number of items.
    """
    late, zones = _late_with_zones(as_of=as_of)
    if not late:
        return 0
    drafts = []
    for recipient, items in late.items():
        today = _local_date(as_of, zones[recipient])
        risks = sum(1 for item in items if item.kind == RaidKind.RISK)
        assumptions = len(items) - risks
        parts = []
        if risks:
            parts.append(f"{count_in_words(risks, 'risk')} past review")
        if assumptions:
            parts.append(f"{count_in_words(assumptions, 'assumption')} past validation")
        engagements: dict[int, tuple[str, int]] = {}
        for item in items:
            code, count = engagements.get(item.engagement_id, (item.engagement.code, 0))
            engagements[item.engagement_id] = (code, count + 1)
        where = ", ".join(f"{code} ({count})" for code, count in engagements.values())
        first = next(iter(engagements))
        # Narrowed to the recipient's items only when all of them there are theirs: a lead told
        # of items nobody owns would find them hidden by that filter.
        theirs = all(item.owner_id == recipient for item in items if item.engagement_id == first)
        query = f"owner={recipient}&status=open" if theirs else "status=open"
        url = reverse("engagement_raid", kwargs={"pk": first}) + f"?{query}"
        drafts.append(
            NotificationDraft(
                recipient_id=recipient,
                event=NotificationEvent.RAID_REVIEW_DUE,
                key=f"raid:{today.isoformat()}",
                message=f"RAID log: {' and '.join(parts)} — {where}.",
                url=url,
                engagement_id=first if len(engagements) == 1 else None,
            )
        )
    return notifications_record(drafts=drafts, as_of=as_of)

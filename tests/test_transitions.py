"""Status transitions: declared once per model, and honoured by every service and sweep that moves a status.

The matrix puts a row in each status of its model, asks the service or sweep
that moves rows to each target, and compares what happened with the model's
declaration: a declared move happens; any other is refused by a service with
TransitionRefused and left alone by a sweep; a repeatable declaration's
"move" to the status a row already has changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.apps import apps
from django.db import models
from django.utils import timezone

from communications import obligations, raid, scheduling, services, silence
from communications.models import (
    Channel,
    CommunicationObligation,
    FollowUp,
    Occurrence,
    RaidItem,
    SilenceFlag,
)
from engagements import services as engagement_services
from engagements.models import ChangeRequest
from notifications.models import OutboxMessage
from notifications.outbox import outbox_cancel, outbox_reconcile, outbox_send
from pmaas.errors import TransitionRefused
from pmaas.transitions import Transitions
from tests import factories
from workspace.forms.engagements import ChangeRequestDecisionForm

pytestmark = pytest.mark.django_db

# Models with a status field whose moves are not declared, and why.
UNDECLARED = {
    # Set when the engagement is created; no service moves it afterwards.
    "engagements.Engagement",
}
MOVED = "moved"
REFUSED = "refused"
LEFT = "left alone"


@dataclass(frozen=True)
class Mover:
    """What moves a row to one target: a service (refuses) or a sweep (passes over)."""

    call: Callable[[Any, Any], Any]
    refuses: bool


@dataclass
class Cast:
    """One engagement, with a lead, a sponsor with a weekly channel, and a check-in with the sponsor."""

    engagement: Any
    lead: Any
    role: Any
    channel: Any
    check_in: Any


@pytest.fixture
def cast() -> Cast:
    lead = factories.consultant()
    engagement = factories.make_engagement(lead=lead)
    role = factories.make_role(engagement=engagement)
    channel = factories.make_channel(role=role, owner=lead)
    check_in = factories.make_check_in(engagement=engagement, attendees=[role.stakeholder], actor=lead)
    return Cast(engagement=engagement, lead=lead, role=role, channel=channel, check_in=check_in)


def _status_models() -> list[type[models.Model]]:
    project = {"accounts", "engagements", "stakeholders", "notifications", "communications", "workspace"}
    return [
        model
        for model in apps.get_models()
        if model._meta.app_label in project
        and any(
            f.name == "status" and f.choices for f in model._meta.get_fields() if isinstance(f, models.Field)
        )
    ]


def test_every_model_with_a_status_declares_its_transitions() -> None:
    # Given every model of the project with a status field
    # When each is asked for its declaration
    undeclared = {
        model._meta.label
        for model in _status_models()
        if not isinstance(getattr(model, "TRANSITIONS", None), Transitions)
    }

    # Then only the ones named above, for the reasons given there, have none
    assert undeclared == UNDECLARED


# --- putting a row in a status ----------------------------------------------------------------------


def _put(model: type[models.Model], row: Any, status: str) -> None:
    """Write ``status`` straight to the row, with the columns its constraints tie to that status."""
    now = timezone.now()
    fields: dict[str, Any] = {"status": status}
    if model is Occurrence:
        held = status == Occurrence.Status.HELD
        fields |= {
            "held_at": row.due_at if held else None,
            "held_on_time": True if held else None,
            "check_in": None,
            "missed_at": row.due_at if status == Occurrence.Status.MISSED else None,
        }
    elif model is FollowUp:
        fields |= {"completed_at": now if status == FollowUp.Status.DONE else None, "completed_by": None}
    elif model is ChangeRequest:
        fields |= {"decided_at": now if status in ChangeRequest.DECIDED else None, "decided_by": None}
    elif model is CommunicationObligation:
        fields |= {
            "met_at": now if status == CommunicationObligation.Status.MET else None,
            "met_by_check_in": None,
            "waived_reason": "Told at the steering committee" if status == "waived" else "",
        }
    elif model is OutboxMessage:
        fields |= {"sent_at": now if status == OutboxMessage.Status.SENT else None, "enqueued_at": None}
    elif model is RaidItem:
        fields |= {"closed_at": now if status == RaidItem.Status.CLOSED else None}
    model._default_manager.filter(pk=row.pk).update(**fields)
    row.refresh_from_db()


# --- the rows and their movers ------------------------------------------------------------------------


def _occurrence(cast: Cast) -> Occurrence:
    return Occurrence.objects.create(
        channel=cast.channel, due_at=dt.datetime(2026, 3, 3, 8, 0, tzinfo=dt.UTC), status="upcoming"
    )


def _plan_moves_away(cast: Cast, row: Occurrence) -> None:
    Channel.objects.filter(pk=cast.channel.pk).update(status=Channel.Status.PAUSED)
    scheduling.occurrences_follow_the_plan()


def _plan_comes_back(cast: Cast, row: Occurrence) -> None:
    Channel.objects.filter(pk=cast.channel.pk).update(status=Channel.Status.ACTIVE, next_due_at=row.due_at)
    scheduling.occurrences_follow_the_plan()


def _lapsed_flag_cleared(cast: Cast, row: FollowUp) -> None:
    # A flag about someone with no role any more lapses; the sweep cancels its follow-up.
    gone = factories.make_stakeholder(client=cast.engagement.client)
    SilenceFlag.objects.create(
        engagement=cast.engagement,
        stakeholder=gone,
        raised_at=timezone.now(),
        allowed_silence=dt.timedelta(days=7),
        follow_up=row,
    )
    silence.silences_flag(as_of=timezone.now())


def _obligation(cast: Cast) -> CommunicationObligation:
    change_request = ChangeRequest.objects.create(
        engagement=cast.engagement, title="Add the pharmacy module", raised_on=dt.date(2026, 3, 2)
    )
    return CommunicationObligation.objects.create(
        engagement=cast.engagement,
        change_request=change_request,
        stakeholder=cast.role.stakeholder,
        opened_at=cast.check_in.occurred_at - dt.timedelta(days=1),
        deadline=timezone.now() + dt.timedelta(days=5),
    )


def _change_request(cast: Cast) -> ChangeRequest:
    return ChangeRequest.objects.create(
        engagement=cast.engagement, title="Add the pharmacy module", raised_on=dt.date(2026, 3, 2)
    )


def _to(status: str) -> Mover:
    def call(cast: Cast, row: ChangeRequest) -> None:
        engagement_services.change_request_transition(
            actor=cast.lead, change_request=row, to_status=status, decision="Agreed"
        )

    return Mover(call=call, refuses=True)


def _outbox_message(cast: Cast) -> OutboxMessage:
    return OutboxMessage.objects.create(
        kind=OutboxMessage.Kind.ESCALATION,
        idempotency_key=f"escalation:transitions:{cast.lead.pk}",
        recipient=cast.lead,
        to_address="lead@example.com",
        subject="Escalated",
        body_text="An item is overdue.",
        created_at=timezone.now(),
    )


def _send_without_address(cast: Cast, row: OutboxMessage) -> None:
    OutboxMessage.objects.filter(pk=row.pk).update(to_address="")
    outbox_send(key=row.idempotency_key)
    OutboxMessage.objects.filter(pk=row.pk).update(to_address="lead@example.com")


def _reconcile_after_expiry(cast: Cast, row: OutboxMessage) -> None:
    now = timezone.now()
    OutboxMessage.objects.filter(pk=row.pk).update(expires_at=now - dt.timedelta(minutes=1))
    outbox_reconcile(as_of=now)
    OutboxMessage.objects.filter(pk=row.pk).update(expires_at=None)


ROWS: dict[type[models.Model], Callable[[Cast], Any]] = {
    Occurrence: _occurrence,
    FollowUp: lambda cast: factories.make_follow_up(engagement=cast.engagement, owner_user=cast.lead),
    ChangeRequest: _change_request,
    CommunicationObligation: _obligation,
    Channel: lambda cast: cast.channel,
    OutboxMessage: _outbox_message,
    RaidItem: lambda cast: factories.make_raid_item(engagement=cast.engagement, kind="assumption"),
}
# Every service and sweep that moves a status, by the status it moves rows to.
MOVERS: dict[type[models.Model], dict[str, list[Mover]]] = {
    Occurrence: {
        "due": [
            Mover(
                lambda c, r: scheduling.occurrences_mark_due(as_of=r.due_at + dt.timedelta(minutes=1)), False
            )
        ],
        "missed": [
            Mover(
                lambda c, r: scheduling.occurrences_mark_missed(as_of=r.due_at + dt.timedelta(days=30)), False
            )
        ],
        "held": [
            Mover(
                lambda c, r: scheduling.occurrence_mark_held(
                    channel=c.channel, due_at=r.due_at, check_in=c.check_in
                ),
                False,
            )
        ],
        "cancelled": [Mover(_plan_moves_away, False)],
        "upcoming": [Mover(_plan_comes_back, False)],
    },
    FollowUp: {
        "done": [
            Mover(lambda c, r: services.follow_up_complete(actor=c.lead, follow_up=r), True),
            Mover(
                lambda c, r: services.follow_ups_complete_bulk(
                    actor=c.lead, engagement=c.engagement, follow_up_ids=[r.pk]
                ),
                False,
            ),
        ],
        "open": [Mover(lambda c, r: services.follow_up_reopen(actor=c.lead, follow_up=r), True)],
        "cancelled": [Mover(_lapsed_flag_cleared, False)],
    },
    ChangeRequest: {status: [_to(status)] for status in ChangeRequest.Status.values},
    CommunicationObligation: {
        "met": [Mover(lambda c, r: obligations.obligations_meet_for_check_in(check_in=c.check_in), False)],
        "waived": [
            Mover(lambda c, r: obligations.obligation_waive(actor=c.lead, obligation=r, reason="Told"), True)
        ],
    },
    Channel: {
        "paused": [Mover(lambda c, r: services.channel_pause(actor=c.lead, channel=r), True)],
        "active": [Mover(lambda c, r: services.channel_resume(actor=c.lead, channel=r), True)],
    },
    RaidItem: {
        "closed": [
            Mover(lambda c, r: raid.raid_item_transition(actor=c.lead, item=r, to_status="closed"), True),
            Mover(lambda c, r: raid.raid_assumption_validate(actor=c.lead, item=r, holds=True), True),
        ],
        "open": [Mover(lambda c, r: raid.raid_item_transition(actor=c.lead, item=r, to_status="open"), True)],
    },
    OutboxMessage: {
        "sent": [Mover(lambda c, r: outbox_send(key=r.idempotency_key), False)],
        "failed": [Mover(_send_without_address, False)],
        "cancelled": [Mover(lambda c, r: outbox_cancel(keys=[r.idempotency_key]), False)],
        "expired": [Mover(_reconcile_after_expiry, False)],
    },
}


def test_the_matrix_covers_every_declared_model_and_every_target_a_move_leads_to() -> None:
    # Given the declared models and the movers listed above
    declared = {model for model in _status_models() if model._meta.label not in UNDECLARED}

    # Then every declared model has its movers, and every status some move leads to has at least one
    assert set(MOVERS) == declared
    for model, movers in MOVERS.items():
        transitions: Transitions = model.TRANSITIONS  # type: ignore[attr-defined]
        reachable = {target for target in transitions.states if transitions.sources(target)}
        assert reachable <= set(movers), model.__name__


@pytest.mark.parametrize("model", list(MOVERS), ids=lambda model: model.__name__)
def test_services_and_sweeps_make_exactly_the_declared_moves(cast: Cast, model: type[models.Model]) -> None:
    # Given one row of the model, put in each status in turn
    transitions: Transitions = model.TRANSITIONS  # type: ignore[attr-defined]
    row = ROWS[model](cast)
    outcomes: dict[tuple[str, str, int], str] = {}
    expected: dict[tuple[str, str, int], str] = {}
    for source, target in transitions.pairs():
        for index, mover in enumerate(MOVERS[model].get(target, [])):
            _put(model, row, source)

            # When the service or sweep that moves rows to the target runs
            try:
                mover.call(cast, row)
            except TransitionRefused as refused:
                assert (refused.source, refused.target) == (source, target)
                outcome = REFUSED
            else:
                row.refresh_from_db()
                outcome = MOVED if row.status == target and source != target else LEFT
            row.refresh_from_db()
            assert row.status == (target if outcome == MOVED else source)
            outcomes[(source, target, index)] = outcome

            # Then it moved exactly when the model declares the move, and otherwise refused or passed over it
            if transitions.can_move(source, target):
                expected[(source, target, index)] = MOVED
            elif source == target and transitions.repeatable:
                expected[(source, target, index)] = LEFT
            else:
                expected[(source, target, index)] = REFUSED if mover.refuses else LEFT
    assert outcomes == expected


@pytest.mark.parametrize("status", ChangeRequest.Status.values)
def test_the_decision_form_offers_the_moves_the_model_declares(cast: Cast, status: str) -> None:
    # Given a change request in a status
    change_request = _change_request(cast)
    _put(ChangeRequest, change_request, status)

    # When its decision form is built, then it offers exactly the declared targets, in order
    form = ChangeRequestDecisionForm(change_request=change_request)
    offered = [value for value, _ in form.fields["to_status"].choices]  # type: ignore[attr-defined]
    assert offered == list(ChangeRequest.TRANSITIONS.targets(status))


# --- the declaration itself -----------------------------------------------------------------------------


class Light(models.TextChoices):
    RED = "red", "Red"
    AMBER = "amber", "Amber"
    GREEN = "green", "Green"


def test_a_declaration_answers_moves_targets_and_sources_in_the_choices_order() -> None:
    # Given a declaration where red and green may become amber, amber may become either, green is final
    lights = Transitions(Light, {Light.AMBER: {Light.GREEN, Light.RED}, Light.RED: {Light.AMBER}})

    # Then it reads as a mapping and answers each question in the order the choices declare
    assert dict(lights) == {"red": {"amber"}, "amber": {"red", "green"}, "green": frozenset()}
    assert lights.can_move("red", "amber")
    assert not lights.can_move("green", "amber")
    assert lights.targets("amber") == ("red", "green")
    assert lights.sources("amber") == ("red",)
    assert lights.sources("red") == ("amber",)
    assert len(list(lights.pairs())) == 9


def test_check_allows_a_declared_move_and_refuses_the_rest_with_one_error() -> None:
    # Given a declaration that is not repeatable
    lights = Transitions(Light, {Light.RED: {Light.GREEN}}, noun="traffic light")

    # When moves are checked
    allowed = lights.check("red", "green")
    with pytest.raises(TransitionRefused) as backwards:
        lights.check("green", "red")
    with pytest.raises(TransitionRefused) as standing:
        lights.check("red", "red", field="to_status")

    # Then a declared move passes, an undeclared one and staying put are refused, naming the field
    assert allowed is True
    assert str(backwards.value) == "A green traffic light cannot become red."
    assert backwards.value.message_dict == {"status": ["A green traffic light cannot become red."]}
    assert (standing.value.source, standing.value.target, standing.value.field) == ("red", "red", "to_status")


def test_a_repeatable_declaration_lets_a_row_stay_where_it_is_with_nothing_to_write() -> None:
    lights = Transitions(Light, {Light.RED: {Light.GREEN}}, repeatable=True)
    assert lights.check("green", "green") is False
    assert lights.sources("green") == ("red",)
    with pytest.raises(TransitionRefused):
        lights.check("green", "red")


def test_a_declaration_naming_an_unknown_status_is_refused_at_once() -> None:
    with pytest.raises(ValueError, match="blue"):
        Transitions(Light, {Light.RED: {"blue"}})


def test_a_refusal_on_a_model_is_worded_with_its_name() -> None:
    with pytest.raises(TransitionRefused, match="A held occurrence cannot become due."):
        Occurrence.TRANSITIONS.check("held", "due")
    with pytest.raises(TransitionRefused, match="An approved change request cannot become proposed."):
        ChangeRequest.TRANSITIONS.check("approved", "proposed")

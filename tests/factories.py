"""Factories that build valid objects, through the services where one exists."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import factory
from django.utils import timezone

from accounts.models import User
from communications import services as communication_services
from communications.models import Channel, CheckIn, FollowUp, FollowUpOverdue
from engagements import services as engagement_services
from engagements.models import Client, Engagement, Membership
from stakeholders import services as stakeholder_services
from stakeholders.models import Stakeholder, StakeholderRole

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@firm.test")
    role = User.Role.CONSULTANT
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @classmethod
    def _after_postgeneration(cls, instance: User, create: bool, results: Any = None) -> None:
        if create:
            instance.save()


def administrator(**kwargs: Any) -> User:
    return UserFactory.create(role=User.Role.ADMINISTRATOR, is_staff=True, is_superuser=True, **kwargs)


def practice_lead(**kwargs: Any) -> User:
    return UserFactory.create(role=User.Role.PRACTICE_LEAD, **kwargs)


def consultant(**kwargs: Any) -> User:
    return UserFactory.create(role=User.Role.CONSULTANT, **kwargs)


def client_user(client: Client, **kwargs: Any) -> User:
    return UserFactory.create(role=User.Role.CLIENT, client=client, **kwargs)


_counter = iter(range(1, 10**9))


def make_client(**kwargs: Any) -> Client:
    n = next(_counter)
    values: dict[str, Any] = {"name": f"Client {n}", "time_zone": "Europe/Berlin", "country": "DE"}
    values.update(kwargs)
    return engagement_services.client_create(actor=_system(), **values)


def _system() -> User:
    user, _ = User.objects.get_or_create(
        username="factory-admin",
        defaults={"role": User.Role.ADMINISTRATOR, "is_superuser": True, "is_staff": True},
    )
    return user


def make_engagement(
    *, client: Client | None = None, lead: User | None = None, members: tuple[User, ...] = (), **kwargs: Any
) -> Engagement:
    n = next(_counter)
    values: dict[str, Any] = {
        "name": f"Engagement {n}",
        "code": f"ENG-{n}",
        "start_date": dt.date(2026, 1, 5),
        "end_date": dt.date(2027, 6, 30),
        "budget": 250_000,
        "status": Engagement.Status.ACTIVE,
    }
    values.update(kwargs)
    engagement = engagement_services.engagement_create(
        actor=_system(), client=client or make_client(), lead=lead, **values
    )
    for member in members:
        engagement_services.membership_add(
            actor=_system(), engagement=engagement, user=member, role=Membership.Role.CONSULTANT
        )
    return engagement


def make_stakeholder(*, client: Client, **kwargs: Any) -> Stakeholder:
    n = next(_counter)
    values: dict[str, Any] = {
        "name": f"Stakeholder {n}",
        "email": f"person{n}@client.test",
        "title": "Director",
    }
    values.update(kwargs)
    return stakeholder_services.stakeholder_create(actor=_system(), client=client, **values)


def make_role(
    *, engagement: Engagement, stakeholder: Stakeholder | None = None, **kwargs: Any
) -> StakeholderRole:
    stakeholder = stakeholder or make_stakeholder(client=engagement.client)
    return stakeholder_services.stakeholder_add_to_engagement(
        actor=_system(), engagement=engagement, stakeholder=stakeholder, **kwargs
    )


def make_channel(*, role: StakeholderRole, owner: User, **kwargs: Any) -> Channel:
    values: dict[str, Any] = {
        "title": "Weekly one-to-one",
        "recurrence_rule": "FREQ=WEEKLY;BYDAY=TU",
        "starts_on": dt.date(2026, 1, 6),
        "local_time": dt.time(9, 0),
    }
    values.update(kwargs)
    return communication_services.channel_create(
        actor=_system(), engagement=role.engagement, stakeholder=role.stakeholder, owner=owner, **values
    )


def make_check_in(
    *,
    engagement: Engagement,
    attendees: list[Stakeholder],
    actor: User | None = None,
    follow_ups: list[communication_services.FollowUpSpec] | None = None,
    **kwargs: Any,
) -> CheckIn:
    values: dict[str, Any] = {
        "occurred_at": timezone.now() - dt.timedelta(hours=1),
        "summary": "Walked through the plan.",
    }
    values.update(kwargs)
    return communication_services.check_in_log(
        actor=actor or _system(),
        engagement=engagement,
        attendees=attendees,
        follow_ups=follow_ups or [],
        **values,
    )


def make_raid_item(
    *, engagement: Engagement, kind: str = "risk", actor: User | None = None, **kwargs: Any
) -> Any:
    """A RAID item through the service; a risk rated 3 × 4 unless told otherwise."""
    from communications import raid

    values: dict[str, Any] = {"title": "Nurses not released for training"}
    if kind == "risk":
        values |= {"likelihood": 3, "impact": 4, "review_on": dt.date(2026, 4, 1)}
    elif kind == "assumption":
        values |= {"validate_by": dt.date(2026, 4, 1)}
    elif kind == "decision":
        values |= {"decided_on": dt.date(2026, 3, 2), "decided_by": "Steering committee"}
    values.update(kwargs)
    return raid.raid_item_create(
        actor=actor or _system(), engagement=engagement, kind=kind, values=raid.RaidFields(**values)
    )


def make_follow_up(*, engagement: Engagement, owner_user: User | None = None, **kwargs: Any) -> FollowUp:
    spec_values: dict[str, Any] = {
        "title": "Send the revised cut-over plan",
        "due_at": timezone.now() + dt.timedelta(days=3),
        "owner_user": owner_user,
    }
    spec_values.update(kwargs)
    return communication_services.follow_up_create(
        actor=_system(), engagement=engagement, spec=communication_services.FollowUpSpec(**spec_values)
    )


@dataclasses.dataclass
class Scope:
    """Every kind of object hanging off one engagement, one of each."""

    engagement: Engagement
    membership: Membership
    milestone: Any
    change_request: Any
    stakeholder: Stakeholder
    role: StakeholderRole
    channel: Channel
    check_in: CheckIn
    follow_up: FollowUp
    comment: Any
    subscription: Any
    delivery: Any
    obligation: Any
    occurrence: Any
    silence_flag: Any
    raid_item: Any


@dataclasses.dataclass
class World:
    administrator: User
    practice_lead: User
    lead: User
    consultant: User
    outsider_consultant: User
    client_user: User
    client_a: Client
    client_b: Client
    mine: Scope
    sibling: Scope
    other: Scope

    def users(self) -> dict[str, User]:
        return {
            "administrator": self.administrator,
            "practice_lead": self.practice_lead,
            "engagement_lead": self.lead,
            "consultant": self.consultant,
            "client_pmo_lead": self.client_user,
        }


def make_scope(*, engagement: Engagement, owner: User, stakeholder_user: User | None = None) -> Scope:
    from communications.models import Delivery, SilenceFlag, SponsorSubscription
    from engagements.models import ChangeRequest

    role = make_role(engagement=engagement, kind=StakeholderRole.Kind.SPONSOR, relationship_owner=owner)
    if stakeholder_user is not None:
        Stakeholder.objects.filter(pk=role.stakeholder_id).update(user=stakeholder_user)
        role.stakeholder.refresh_from_db()
    channel = make_channel(role=role, owner=owner)
    check_in = make_check_in(
        engagement=engagement,
        attendees=[role.stakeholder],
        channel=channel,
        follow_ups=[
            communication_services.FollowUpSpec(
                title="Approve the data migration plan",
                due_at=timezone.now() + dt.timedelta(days=2),
                owner_stakeholder=role.stakeholder,
            )
        ],
    )
    follow_up = check_in.follow_ups.get()
    # Shared with the client, so the scoping matrix also proves client users reach shared rows.
    CheckIn.objects.filter(pk=check_in.pk).update(shared_with_client=True)
    check_in.refresh_from_db()
    comment = communication_services.follow_up_comment_add(
        actor=_system(), follow_up=follow_up, body="On it.", shared_with_client=True
    )
    milestone = engagement_services.milestone_create(
        actor=_system(), engagement=engagement, name="Go-live", due_on=dt.date(2026, 9, 1)
    )
    change_request = ChangeRequest.objects.create(
        engagement=engagement,
        title="Add the pharmacy module",
        raised_on=dt.date(2026, 3, 2),
        budget_impact=40_000,
    )
    subscription = SponsorSubscription.objects.create(
        engagement=engagement,
        stakeholder=role.stakeholder,
        local_time=dt.time(8, 0),
        time_zone=role.stakeholder.time_zone,
    )
    delivery = Delivery.objects.create(
        subscription=subscription,
        period_start=dt.date(2026, 2, 23),
        period_end=dt.date(2026, 3, 2),
        scheduled_for=timezone.now(),
    )
    from communications.obligations import obligation_add

    obligation = obligation_add(actor=_system(), change_request=change_request, stakeholder=role.stakeholder)
    return Scope(
        engagement=engagement,
        membership=engagement.memberships.get(user=owner),
        milestone=milestone,
        change_request=change_request,
        stakeholder=role.stakeholder,
        role=role,
        channel=channel,
        check_in=check_in,
        follow_up=follow_up,
        comment=comment,
        subscription=subscription,
        delivery=delivery,
        obligation=obligation,
        # Logged against the channel, the check-in held (and created) its coming occurrence.
        occurrence=channel.occurrences.get(),
        silence_flag=SilenceFlag.objects.create(
            engagement=engagement,
            stakeholder=role.stakeholder,
            raised_at=timezone.now(),
            last_contact_at=check_in.occurred_at - dt.timedelta(days=30),
            allowed_silence=dt.timedelta(days=10, hours=12),
        ),
        # Shared with the client, so the matrices also prove client users reach shared items.
        raid_item=make_raid_item(
            engagement=engagement, stakeholders=[role.stakeholder], owner=owner, shared_with_client=True
        ),
    )


def build_world() -> World:
    lead = consultant(username="lead")
    member = consultant(username="consultant")
    outsider = consultant(username="outsider")
    client_a = make_client(name="Northwind Health")
    client_b = make_client(name="Contoso Manufacturing")
    pmo = client_user(client_a, username="client-pmo")
    mine = make_engagement(client=client_a, lead=lead, members=(member,), code="EHR-A", name="EHR rollout")
    sibling = make_engagement(client=client_a, lead=outsider, code="DATA-A", name="Data warehouse")
    other = make_engagement(client=client_b, lead=outsider, code="ERP-B", name="ERP upgrade")
    return World(
        administrator=administrator(username="admin"),
        practice_lead=practice_lead(username="practice-lead"),
        lead=lead,
        consultant=member,
        outsider_consultant=outsider,
        client_user=pmo,
        client_a=client_a,
        client_b=client_b,
        mine=make_scope(engagement=mine, owner=lead, stakeholder_user=pmo),
        sibling=make_scope(engagement=sibling, owner=outsider),
        other=make_scope(engagement=other, owner=outsider),
    )


def make_occurrence(*, channel: Channel, due_at: dt.datetime, outcome: str = "on_time") -> Any:
    """A past occurrence of ``channel`` and how it ended: "on_time", "late", "missed", "due" or "upcoming".

    Written directly: the sweeps that move occurrences along take the real
    clock's horizon, while compliance tests need a history of any shape.
    """
    from communications.models import Occurrence

    held = outcome in ("on_time", "late")
    status = {
        "on_time": Occurrence.Status.HELD,
        "late": Occurrence.Status.HELD,
        "missed": Occurrence.Status.MISSED,
        "due": Occurrence.Status.DUE,
        "upcoming": Occurrence.Status.UPCOMING,
    }[outcome]
    return Occurrence.objects.create(
        channel=channel,
        due_at=due_at,
        status=status,
        held_at=due_at if held else None,
        held_on_time=(outcome == "on_time") if held else None,
        missed_at=due_at if outcome == "missed" else None,
    )


def make_notification(
    *,
    recipient: User,
    engagement: Engagement | None = None,
    event: str = "follow_up_overdue",
    message: str = "Approve the data migration plan is overdue",
    url: str = "",
    created_at: dt.datetime | None = None,
    read_at: dt.datetime | None = None,
) -> Any:
    """An in-app notification for ``recipient``, recorded through the service with a key of its own."""
    from notifications.models import Notification, NotificationEvent
    from notifications.services import NotificationDraft, notifications_record

    key = f"factory-{next(_counter)}"
    notifications_record(
        drafts=[
            NotificationDraft(
                recipient_id=recipient.pk,
                event=NotificationEvent(event),
                key=key,
                message=message,
                url=url,
                engagement_id=engagement.pk if engagement is not None else None,
            )
        ],
        as_of=created_at or timezone.now(),
    )
    notification = Notification.objects.get(recipient=recipient, event=event, key=key)
    if read_at is not None:
        Notification.objects.filter(pk=notification.pk).update(read_at=read_at)
        notification.refresh_from_db()
    return notification


def overdue_at_of(follow_up: FollowUp) -> dt.datetime | None:
    """When the overdue scan stamped a follow-up, or None."""
    stamps = FollowUpOverdue.objects.filter(follow_up_id=follow_up.pk)
    return stamps.values_list("overdue_at", flat=True).first()

"""Reads of plans, check-ins, follow-ups and sponsor updates, always through visible_to()."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from communications.models import (
    Channel,
    CheckIn,
    Delivery,
    FollowUp,
    FollowUpComment,
    SponsorSubscription,
)
from pmaas.scoping import get_or_404


def channel_list(*, user: Any) -> QuerySet[Channel]:
    return Channel.objects.visible_to(user).select_related("engagement", "stakeholder", "owner")


def channel_get_for_user(*, user: Any, id: int) -> Channel:
    return get_or_404(channel_list(user=user), id=id)


def check_in_list(*, user: Any) -> QuerySet[CheckIn]:
    return (
        CheckIn.objects.visible_to(user)
        .select_related("engagement", "channel", "logged_by")
        .prefetch_related("attendees", "team_attendees")
    )


def check_in_get_for_user(*, user: Any, id: int) -> CheckIn:
    return get_or_404(check_in_list(user=user), id=id)


def follow_up_list(*, user: Any) -> QuerySet[FollowUp]:
    return FollowUp.objects.visible_to(user).select_related(
        "engagement", "owner_user", "owner_stakeholder", "check_in"
    )


def follow_up_get_for_user(*, user: Any, id: int) -> FollowUp:
    return get_or_404(follow_up_list(user=user), id=id)


def follow_up_can_update_status(*, user: Any, follow_up: FollowUp) -> bool:
    """Team members change follow-ups of their engagements; a client user only those they own."""
    if FollowUp.objects.editable_by(user).filter(pk=follow_up.pk).exists():
        return True
    return FollowUp.objects.visible_to(user).filter(pk=follow_up.pk, owner_stakeholder__user=user).exists()


def follow_up_comment_list(*, user: Any) -> QuerySet[FollowUpComment]:
    return FollowUpComment.objects.visible_to(user).select_related("follow_up", "author")


def follow_up_comment_get_for_user(*, user: Any, id: int) -> FollowUpComment:
    return get_or_404(follow_up_comment_list(user=user), id=id)


def sponsor_subscription_list(*, user: Any) -> QuerySet[SponsorSubscription]:
    return SponsorSubscription.objects.visible_to(user).select_related("engagement", "stakeholder")


def sponsor_subscription_get_for_user(*, user: Any, id: int) -> SponsorSubscription:
    return get_or_404(sponsor_subscription_list(user=user), id=id)


def delivery_list(*, user: Any) -> QuerySet[Delivery]:
    return Delivery.objects.visible_to(user).select_related(
        "subscription__engagement", "subscription__stakeholder"
    )


def delivery_get_for_user(*, user: Any, id: int) -> Delivery:
    return get_or_404(delivery_list(user=user), id=id)


def follow_up_list_for_owner(*, user: Any) -> QuerySet[FollowUp]:
    """What a person owes: their own items, or for a client user those of their stakeholder record."""
    return follow_up_list(user=user).filter(Q(owner_user=user) | Q(owner_stakeholder__user=user))

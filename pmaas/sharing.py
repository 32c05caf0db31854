"""What a client user may see: the one policy, as data, per model, for rows and fields.

The firm's view of a client's people (engagement levels, influence, notes,
sentiment, silence, per-consultant figures, override reasons) is internal.
Everything is internal unless this table shares it: a model missing from
CLIENT_POLICY shares no rows, and a field missing from its entry is absent
from every page, API response, export, feed, search result and mail a client
user receives. Names are the ones the interfaces show: a model field, or a
serializer's derived field (``kind_display``) that shows only shared data.

Read by the scoping QuerySets (rows), the API serializers (fields) and the
pages (through the views); tests/test_client_policy.py enumerates every
serializer field and every page a client can reach against it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q


@dataclass(frozen=True)
class ClientShare:
    """The rows of one model a client user sees (within their scope), and their fields.

    ``rows`` narrows the client's scope (their own client's engagements);
    ``Q()`` shares every row of it. ``only_when`` shares a field only on rows
    whose named boolean column is true (health where the firm chose to share it).
    """

    rows: Q
    fields: frozenset[str]
    only_when: Mapping[str, str] = field(default_factory=dict)


NOTHING = ClientShare(rows=Q(pk__in=[]), fields=frozenset())


def _share(rows: Q, *fields: str, only_when: Mapping[str, str] | None = None) -> ClientShare:
    return ClientShare(rows=rows, fields=frozenset(fields), only_when=only_when or {})


EVERY_ROW = Q()


def _shared_follow_ups(prefix: str = "") -> Q:
    """Follow-ups the client's own people owe and team items marked shared, never a silence item."""
    owed_by_client = Q(**{f"{prefix}owner_stakeholder__isnull": False})
    shared = Q(**{f"{prefix}shared_with_client": True})
    return (owed_by_client | shared) & Q(**{f"{prefix}silence_flags__isnull": True})


CLIENT_POLICY: Mapping[str, ClientShare] = {
    # The firm's people as the client meets them: a name on the team or among a meeting's attendees.
    "accounts.User": _share(EVERY_ROW, "id", "name"),
    "engagements.Client": _share(EVERY_ROW, "id", "name", "time_zone", "country"),
    # Budget, the computed health and any override with its reason stay with the firm.
    "engagements.Engagement": _share(
        EVERY_ROW,
        "id",
        "client",
        "client_name",
        "name",
        "code",
        "kind",
        "kind_display",
        "description",
        "currency",
        "start_date",
        "end_date",
        "status",
        "status_display",
        "effective_health",
        "health_shared_with_client",
        only_when={"effective_health": "health_shared_with_client"},
    ),
    "engagements.Membership": _share(
        EVERY_ROW, "id", "engagement", "engagement_code", "user", "user_name", "role", "role_display"
    ),
    "engagements.Milestone": _share(
        EVERY_ROW,
        "id",
        "engagement",
        "engagement_code",
        "name",
        "description",
        "due_on",
        "completed_on",
        "is_complete",
    ),
    # Change requests are decided with the client: the whole record is theirs too.
    "engagements.ChangeRequest": _share(
        EVERY_ROW,
        "id",
        "engagement",
        "engagement_code",
        "title",
        "kind",
        "kind_display",
        "description",
        "budget_impact",
        "schedule_impact_days",
        "status",
        "status_display",
        "requested_by",
        "raised_on",
        "decision",
        "decided_by",
        "decided_at",
    ),
    # Their own colleagues' contact details; the firm's notes about them are internal.
    "stakeholders.Stakeholder": _share(
        EVERY_ROW, "id", "client", "client_name", "name", "email", "title", "department", "phone", "time_zone"
    ),
    # Who is sponsor or PMO lead; never influence, interest, levels, gap, owner or notes.
    "stakeholders.StakeholderRole": _share(
        EVERY_ROW,
        "id",
        "engagement",
        "engagement_code",
        "stakeholder",
        "stakeholder_name",
        "kind",
        "kind_display",
    ),
    # A meeting the team chose to share: never its sentiment, its channel or who logged it.
    "communications.CheckIn": _share(
        Q(shared_with_client=True),
        "id",
        "engagement",
        "engagement_code",
        "kind",
        "kind_display",
        "occurred_at",
        "attendees",
        "team_attendees",
        "summary",
        "decisions",
        "shared_with_client",
    ),
    # What the client's own people owe, and team items the team chose to share;
    # never the silence sweep's "get back in touch" items, whatever their flag says.
    "communications.FollowUp": _share(
        _shared_follow_ups(),
        "id",
        "engagement",
        "engagement_code",
        "title",
        "details",
        "owner_user",
        "owner_stakeholder",
        "owner_name",
        "due_at",
        "due_on",
        "due_zone",
        "status",
        "status_display",
        "completed_at",
        "completed_by",
        "is_overdue",
        "shared_with_client",
    ),
    "communications.FollowUpOverdue": _share(_shared_follow_ups("follow_up__"), "follow_up", "overdue_at"),
    "communications.FollowUpComment": _share(
        Q(shared_with_client=True) & _shared_follow_ups("follow_up__"),
        "id",
        "follow_up",
        "engagement",
        "author",
        "author_name",
        "body",
        "created_at",
        "shared_with_client",
    ),
    # RAID items the team chose to share: never who logged them, the check-in they came from
    # (which may be internal) or the review bookkeeping.
    "communications.RaidItem": _share(
        Q(shared_with_client=True),
        "id",
        "engagement",
        "engagement_code",
        "kind",
        "kind_display",
        "title",
        "description",
        "status",
        "status_display",
        "status_words",
        "owner",
        "owner_name",
        "stakeholders",
        "raised_by",
        "likelihood",
        "impact",
        "score",
        "trend",
        "mitigation",
        "review_on",
        "validate_by",
        "validation",
        "severity",
        "due_on",
        "decided_by",
        "decided_on",
        "change_request",
        "became_change_request",
        "shared_with_client",
    ),
    # A user's own notifications and settings (scoped to the recipient, not the engagement).
    "notifications.Notification": _share(
        EVERY_ROW,
        "id",
        "event",
        "event_display",
        "message",
        "url",
        "engagement",
        "engagement_code",
        "created_at",
        "read_at",
    ),
    # "*": every field of the user's own settings, which hold nothing about anyone else.
    "notifications.NotificationPreference": _share(EVERY_ROW, "*"),
}


def client_share(label: str) -> ClientShare:
    """The policy of one model, by its label (``"communications.CheckIn"``); nothing when absent."""
    return CLIENT_POLICY.get(label, NOTHING)


def is_client_user(user: Any) -> bool:
    return user is not None and getattr(user, "role", None) == "client"


def client_sees_field(label: str, name: str, row: Any = None) -> bool:
    """Whether a client user sees this field of this model (on this row, for conditional fields)."""
    share = client_share(label)
    if "*" not in share.fields and name not in share.fields:
        return False
    flag = share.only_when.get(name)
    return flag is None or row is None or bool(getattr(row, flag))


class _ModelFields:
    """One model's fields as a template asks for them: ``shown.engagement.budget``."""

    def __init__(self, label: str | None) -> None:
        # None: the firm's view, every field.
        self._label = label

    def __getitem__(self, name: str) -> bool:
        if self._label is None:
            return True
        if name == "rows":
            return client_share(self._label) is not NOTHING
        return client_sees_field(self._label, name)

    def __contains__(self, name: str) -> bool:
        return True


class Shown:
    """What the viewer may see, by model name and field, for templates.

    The firm's users see every field; a client user sees what CLIENT_POLICY
    shares (``rows`` says whether any row of the model is shared at all).
    Conditional fields (health) are further decided per row by the template.
    """

    def __init__(self, user: Any) -> None:
        self._client = is_client_user(user)

    def __getitem__(self, model_name: str) -> _ModelFields:
        if not self._client:
            return _ModelFields(None)
        for label in CLIENT_POLICY:
            if label.rsplit(".", 1)[1].lower() == model_name:
                return _ModelFields(label)
        # A model the policy does not name shares nothing.
        return _ModelFields(f"unshared.{model_name}")

    def __contains__(self, model_name: str) -> bool:
        return True

"""API v1 shapes of the communication plan, check-ins, follow-ups and sponsor updates."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, cast
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from communications.compliance import (
    DEFAULT_WINDOW_DAYS,
    GROUPINGS,
    LONGEST_WINDOW_DAYS,
    ComplianceWindow,
    window_date_errors,
)
from communications.models import (
    DEFAULT_DURATION,
    DEFAULT_GRACE_PERIOD,
    LONGEST_DURATION,
    SHORTEST_DURATION,
    Channel,
    ChannelKind,
    CheckIn,
    CheckInRevision,
    Delivery,
    FollowUp,
    FollowUpComment,
    FollowUpOverdue,
    RaidItem,
    RaidKind,
    RaidSeverity,
    RaidTrend,
    RaidValidation,
    Sentiment,
    SilenceFlag,
    SponsorSubscription,
)
from communications.recurrence import describe_rule
from communications.selectors import channel_list, check_in_people_attach
from communications.services import (
    EARLIEST_CADENCE_START,
    LATEST_CADENCE_START,
    LONGEST_GRACE_PERIOD,
    follow_up_due_at,
)
from engagements.models import ChangeRequest
from engagements.selectors import change_request_list, engagement_list, user_list
from engagements.serializers import UserSummarySerializer
from notifications.models import OutboxMessage
from pmaas.api import ChoiceLabelField, ScopedPrimaryKeyRelatedField, SharedModelSerializer
from pmaas.deadlines import deadline_day
from pmaas.sharing import client_sees_field, is_client_user
from pmaas.timezones import available_time_zones
from pmaas.validation import LONG_TEXT_MAX_LENGTH, validate_date_in_range
from stakeholders.selectors import stakeholder_list
from stakeholders.serializers import StakeholderSummarySerializer

MOST_FOLLOW_UPS_PER_CHECK_IN = 50


class ChannelSerializer(SharedModelSerializer[Channel]):
    engagement_code = serializers.CharField(source="engagement.code", read_only=True)
    stakeholder_name = serializers.CharField(source="stakeholder.name", read_only=True)
    owner_name = serializers.CharField(source="owner", read_only=True)
    kind_display = ChoiceLabelField("kind")
    cadence = serializers.SerializerMethodField(help_text="The cadence in words, for display only.")

    class Meta:
        model = Channel
        fields = [
            "id",
            "engagement",
            "engagement_code",
            "stakeholder",
            "stakeholder_name",
            "kind",
            "kind_display",
            "title",
            "details",
            "recurrence",
            "cadence",
            "starts_on",
            "local_time",
            "duration",
            "grace_period",
            "owner",
            "owner_name",
            "status",
            "next_due_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_cadence(self, channel: Channel) -> str:
        try:
            return describe_rule(
                channel.recurrence,
                local_time=channel.local_time,
                time_zone=channel.stakeholder.time_zone,
                starts_on=channel.starts_on,
            )
        except DjangoValidationError:
            return channel.recurrence


class ChannelCreateSerializer(serializers.Serializer[Any]):
    engagement = ScopedPrimaryKeyRelatedField(selector=engagement_list)
    stakeholder = ScopedPrimaryKeyRelatedField(
        selector=stakeholder_list, help_text="A person with a role on the engagement."
    )
    title = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(
        choices=ChannelKind.choices,
        default=ChannelKind.MEETING,
        help_text="How you meet: in person, a call, a workshop, by email.",
    )
    details = serializers.CharField(max_length=LONG_TEXT_MAX_LENGTH, allow_blank=True, default="")
    recurrence = serializers.CharField(
        max_length=500,
        help_text=(
            "RFC 5545 RRULE value in the stakeholder's local time, e.g. FREQ=WEEKLY;INTERVAL=2;BYDAY=TU."
        ),
    )
    starts_on = serializers.DateField(help_text="First day the cadence may fall on.")
    local_time = serializers.TimeField(help_text="Time of day in the stakeholder's time zone.")
    duration = serializers.DurationField(
        required=False,
        min_value=SHORTEST_DURATION,
        max_value=LONGEST_DURATION,
        help_text=(
            "How long each check-in takes, from 5 minutes to 8 hours; calendar feeds show it as busy. "
            f"{DEFAULT_DURATION // timedelta(minutes=1)} minutes when left out."
        ),
    )
    grace_period = serializers.DurationField(
        required=False,
        min_value=timedelta(0),
        max_value=LONGEST_GRACE_PERIOD,
        help_text=(
            "How long after the due time a check-in still counts as on time, shorter than the closest "
            f"two meetings of the cadence; {DEFAULT_GRACE_PERIOD.days} days when left out, or half that "
            "gap for a closer cadence."
        ),
    )
    owner = ScopedPrimaryKeyRelatedField(selector=user_list, help_text="A member of the engagement's team.")

    def validate_starts_on(self, value: date) -> date:
        if not EARLIEST_CADENCE_START <= value <= LATEST_CADENCE_START:
            raise serializers.ValidationError(
                f"Choose a date between {EARLIEST_CADENCE_START:%Y} and {LATEST_CADENCE_START:%Y}."
            )
        return value


class FollowUpSerializer(SharedModelSerializer[FollowUp]):
    engagement_code = serializers.CharField(source="engagement.code", read_only=True)
    owner_name = serializers.CharField(
        read_only=True, help_text="The team member or stakeholder who owes it."
    )
    status_display = ChoiceLabelField("status")
    overdue_at = serializers.SerializerMethodField(help_text="When the overdue scan flagged it; null if not.")
    is_overdue = serializers.SerializerMethodField(
        help_text="Open and past its due time; a done or cancelled item never is."
    )
    due_on = serializers.SerializerMethodField(
        help_text="For an item agreed for a day, that day (due by its end in due_zone); null for a time."
    )

    class Meta:
        model = FollowUp
        fields = [
            "id",
            "engagement",
            "engagement_code",
            "check_in",
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
            "overdue_at",
            "is_overdue",
            "shared_with_client",
            "escalation_level",
            "escalated_at",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_due_on(self, follow_up: FollowUp) -> date | None:
        return deadline_day(follow_up.due_at, follow_up.due_zone)

    def get_overdue_at(self, follow_up: FollowUp) -> datetime | None:
        if hasattr(follow_up, "overdue_at"):
            return cast("datetime | None", follow_up.overdue_at)
        # A follow-up a service just wrote, not read through follow_up_list.
        stamps = FollowUpOverdue.objects.filter(follow_up=follow_up)
        return stamps.values_list("overdue_at", flat=True).first()

    def get_is_overdue(self, follow_up: FollowUp) -> bool:
        # The pages' rule (FollowUp.overdue_condition), not the scan's stamp, which outlives completion.
        return follow_up.is_overdue_at(timezone.now())


class FollowUpDueSerializer(serializers.Serializer[Any]):
    """When an item is due: a moment (due_at), or a day (due_on) that ends in due_zone.

    A day is due by its end where it was agreed, as the pages' date-only
    deadlines are (pmaas/deadlines.py); the zone defaults to the caller's.
    Validated data carries ``due_at`` and ``due_zone`` ("" for a moment).
    """

    due_at = serializers.DateTimeField(
        validators=[validate_date_in_range], required=False, help_text="A moment; or give due_on instead."
    )
    due_on = serializers.DateField(
        validators=[validate_date_in_range],
        required=False,
        write_only=True,
        help_text="A day, due by its end in due_zone; instead of due_at.",
    )
    due_zone = serializers.CharField(
        max_length=64,
        required=False,
        write_only=True,
        help_text="With due_on: the IANA time zone of that day. Defaults to the time zone the caller chose.",
    )

    def validate_due_zone(self, value: str) -> str:
        if value not in available_time_zones():
            raise serializers.ValidationError(f"{value} is not a known time zone; use an IANA name.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        due_on, zone = attrs.pop("due_on", None), attrs.pop("due_zone", None)
        if due_on is not None and "due_at" in attrs:
            raise serializers.ValidationError({"due_on": ["Give due_at or due_on, not both."]})
        if due_on is None:
            if zone is not None:
                raise serializers.ValidationError({"due_zone": ["Give due_zone only with due_on."]})
            if "due_at" not in attrs:
                raise serializers.ValidationError({"due_at": ["Give due_at, or due_on for a day."]})
            return attrs | {"due_zone": ""}
        if zone is None:
            # The API speaks UTC (accounts.middleware), so "the caller's zone" is the one they chose.
            request = self.context.get("request")
            chosen = getattr(getattr(request, "user", None), "time_zone", "")
            zone = chosen if chosen in available_time_zones() else "UTC"
        return attrs | {"due_at": follow_up_due_at(due_on=due_on, time_zone=ZoneInfo(zone)), "due_zone": zone}


class FollowUpSpecSerializer(FollowUpDueSerializer):
    """One action item: give exactly one of owner_user and owner_stakeholder."""

    title = serializers.CharField(max_length=300)
    owner_user = ScopedPrimaryKeyRelatedField(
        selector=user_list, required=False, allow_null=True, default=None, help_text="A team member."
    )
    owner_stakeholder = ScopedPrimaryKeyRelatedField(
        selector=stakeholder_list,
        required=False,
        allow_null=True,
        default=None,
        help_text="A stakeholder with a role on the engagement.",
    )
    details = serializers.CharField(max_length=LONG_TEXT_MAX_LENGTH, allow_blank=True, default="")
    shared_with_client = serializers.BooleanField(
        default=False,
        help_text="Show a team-owned item to the client's users (what they owe is always shown).",
    )


class FollowUpCreateSerializer(FollowUpSpecSerializer):
    engagement = ScopedPrimaryKeyRelatedField(selector=engagement_list)


class FollowUpRedateSerializer(FollowUpDueSerializer):
    seen_updated_at = serializers.DateTimeField(
        required=False,
        help_text="The follow-up's updated_at as last read: a change since then refuses the move.",
    )


class _CheckInPeopleField(serializers.Field):
    """One of the lists ``check_in_people_attach`` gives a check-in, written as read.

    Summaries of people are dicts of the summary serializer's fields, so a
    client user gets only those the client policy shares of ``model_label``.
    A check-in read without them (one just written) has them read first.
    """

    model_label = ""
    attribute = ""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, value: Any) -> Any:
        if not hasattr(value, self.attribute):
            check_in_people_attach([value])
        items = getattr(value, self.attribute)
        request = self.context.get("request")
        if not self.model_label or not is_client_user(getattr(request, "user", None)):
            return items
        return [
            {key: v for key, v in item.items() if client_sees_field(self.model_label, key)} for item in items
        ]


@extend_schema_field(StakeholderSummarySerializer(many=True, read_only=True))
class _AttendeesField(_CheckInPeopleField):
    model_label = "stakeholders.Stakeholder"
    attribute = "attendee_summaries"


@extend_schema_field(UserSummarySerializer(many=True, read_only=True))
class _TeamAttendeesField(_CheckInPeopleField):
    model_label = "accounts.User"
    attribute = "team_attendee_summaries"


@extend_schema_field({"type": "array", "items": {"type": "integer"}, "readOnly": True})
class _FollowUpIdsField(_CheckInPeopleField):
    attribute = "follow_up_ids"


class CheckInSerializer(SharedModelSerializer[CheckIn]):
    engagement_code = serializers.CharField(source="engagement.code", read_only=True)
    kind_display = ChoiceLabelField("kind")
    sentiment_display = ChoiceLabelField("sentiment")
    logged_by_name = serializers.CharField(source="logged_by", read_only=True)
    attendees = _AttendeesField()
    team_attendees = _TeamAttendeesField()
    follow_ups = _FollowUpIdsField()

    class Meta:
        model = CheckIn
        fields = [
            "id",
            "engagement",
            "engagement_code",
            "channel",
            "kind",
            "kind_display",
            "occurred_at",
            "logged_by",
            "logged_by_name",
            "attendees",
            "team_attendees",
            "summary",
            "sentiment",
            "sentiment_display",
            "decisions",
            "shared_with_client",
            "follow_ups",
            "edited_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields
        extra_kwargs = {"edited_at": {"help_text": "When it was last corrected; null if never."}}


class CheckInCreateSerializer(serializers.Serializer[Any]):
    engagement = ScopedPrimaryKeyRelatedField(selector=engagement_list)
    occurred_at = serializers.DateTimeField(validators=[validate_date_in_range])
    summary = serializers.CharField(max_length=LONG_TEXT_MAX_LENGTH)
    attendees = ScopedPrimaryKeyRelatedField(
        selector=stakeholder_list, many=True, help_text="Stakeholders of the engagement who took part."
    )
    team_attendees = ScopedPrimaryKeyRelatedField(
        selector=user_list, many=True, required=False, help_text="Members of the engagement's team."
    )
    kind = serializers.ChoiceField(
        choices=ChannelKind.choices,
        default=ChannelKind.MEETING,
        help_text="How you talked: in person, a call, a workshop, by email.",
    )
    channel = ScopedPrimaryKeyRelatedField(
        selector=channel_list,
        required=False,
        allow_null=True,
        default=None,
        help_text="The planned channel this check-in closes, if any.",
    )
    covers = ScopedPrimaryKeyRelatedField(
        selector=channel_list,
        many=True,
        required=False,
        help_text=(
            "Without a channel, the planned meetings this check-in covers. Left out, the check-in "
            "covers the one planned meeting it matches (an attendee's channel due within its grace "
            "period of the time), and a check-in matching several is refused naming them; an empty "
            "list covers none."
        ),
    )
    sentiment = serializers.ChoiceField(choices=Sentiment.choices, default=Sentiment.NEUTRAL)
    decisions = serializers.CharField(max_length=LONG_TEXT_MAX_LENGTH, allow_blank=True, default="")
    shared_with_client = serializers.BooleanField(
        default=False, help_text="The client's users see its date, kind, attendees, summary and decisions."
    )
    follow_ups = serializers.ListSerializer[Any](
        child=FollowUpSpecSerializer(), required=False, max_length=MOST_FOLLOW_UPS_PER_CHECK_IN
    )
    file_decisions = serializers.BooleanField(
        default=False,
        help_text=(
            "File each line of decisions in the RAID log as a decision of this check-in, decided on "
            "its day by its attendees and shared if it is."
        ),
    )


class CheckInEditSerializer(serializers.Serializer[Any]):
    """A correction of a logged check-in: when, who, what was said and decided.

    PATCH gives only what changes; seen_updated_at is required either way.
    """

    occurred_at = serializers.DateTimeField(validators=[validate_date_in_range])
    summary = serializers.CharField(max_length=LONG_TEXT_MAX_LENGTH)
    decisions = serializers.CharField(max_length=LONG_TEXT_MAX_LENGTH, allow_blank=True, default="")
    attendees = ScopedPrimaryKeyRelatedField(
        selector=stakeholder_list, many=True, help_text="Stakeholders of the engagement who took part."
    )
    team_attendees = ScopedPrimaryKeyRelatedField(
        selector=user_list, many=True, default=list, help_text="Members of the engagement's team."
    )
    kind = serializers.ChoiceField(
        choices=ChannelKind.choices,
        required=False,
        help_text="How you talked. Left out, it stays as it is (PUT included).",
    )
    sentiment = serializers.ChoiceField(
        choices=Sentiment.choices, required=False, help_text="Left out, it stays as it is (PUT included)."
    )
    shared_with_client = serializers.BooleanField(
        required=False,
        help_text=(
            "Share the check-in with the client's users, or take it back. Left out, it stays as it is "
            "(PUT included). Taking it back takes back the decisions filed from it; sharing it shares "
            "none of them."
        ),
    )
    file_decisions = serializers.BooleanField(
        default=False,
        help_text=(
            "File each line of decisions in the RAID log as a decision of this check-in, decided on "
            "its day by its attendees and shared if it is. "
            "Lines filed before follow their correction either way; this files the lines not filed yet."
        ),
    )
    seen_updated_at = serializers.DateTimeField(
        help_text=(
            "The check-in's updated_at as last read: a change since then refuses the correction. "
            "Required, PATCH included."
        ),
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # A partial update leaves every field optional; the version it was based on never is.
        if "seen_updated_at" not in attrs:
            raise serializers.ValidationError({"seen_updated_at": [self.error_messages["required"]]})
        return attrs


class CheckInDeleteSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(
        max_length=LONG_TEXT_MAX_LENGTH,
        error_messages={
            "required": "Say why the check-in is deleted.",
            "blank": "Say why the check-in is deleted.",
        },
        help_text="Why it should never have been logged; kept with the record of its deletion.",
    )


class CheckInRevisionSerializer(SharedModelSerializer[CheckInRevision]):
    """A check-in as it stood before one correction; attendees as the names they had then."""

    edited_by_name = serializers.CharField(source="edited_by", read_only=True)

    class Meta:
        model = CheckInRevision
        fields = [
            "id",
            "check_in",
            "occurred_at",
            "summary",
            "decisions",
            "attendee_names",
            "team_attendee_names",
            "kind",
            "sentiment",
            "shared_with_client",
            "edited_by",
            "edited_by_name",
            "edited_at",
        ]
        read_only_fields = fields


class FollowUpCommentSerializer(SharedModelSerializer[FollowUpComment]):
    author_name = serializers.CharField(source="author", read_only=True)
    engagement = serializers.IntegerField(source="follow_up.engagement_id", read_only=True)

    class Meta:
        model = FollowUpComment
        fields = [
            "id",
            "follow_up",
            "engagement",
            "author",
            "author_name",
            "body",
            "shared_with_client",
            "created_at",
        ]
        read_only_fields = fields


class FollowUpCommentCreateSerializer(serializers.Serializer[Any]):
    body = serializers.CharField(max_length=LONG_TEXT_MAX_LENGTH)
    shared_with_client = serializers.BooleanField(
        default=False, help_text="Show it to the client's users; a client user's own comment always is."
    )


class SponsorSubscriptionSerializer(SharedModelSerializer[SponsorSubscription]):
    engagement_code = serializers.CharField(source="engagement.code", read_only=True)
    stakeholder_name = serializers.CharField(source="stakeholder.name", read_only=True)
    cadence_display = ChoiceLabelField("cadence")
    weekday_display = ChoiceLabelField("weekday")

    class Meta:
        model = SponsorSubscription
        fields = [
            "id",
            "engagement",
            "engagement_code",
            "stakeholder",
            "stakeholder_name",
            "cadence",
            "cadence_display",
            "weekday",
            "weekday_display",
            "local_time",
            "time_zone",
            "is_active",
            "unsubscribed_at",
            "next_send_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class DeliverySerializer(SharedModelSerializer[Delivery]):
    engagement = serializers.IntegerField(source="subscription.engagement_id", read_only=True)
    engagement_code = serializers.CharField(source="subscription.engagement.code", read_only=True)
    stakeholder_name = serializers.CharField(source="subscription.stakeholder.name", read_only=True)
    # The outcome is the outbox's: what happened to the update's message ("pending" before it has one).
    status = serializers.ChoiceField(choices=OutboxMessage.Status.choices, read_only=True)
    state = serializers.ChoiceField(
        choices=Delivery.State.choices,
        read_only=True,
        help_text="A draft written ahead, an update waiting for approval, or its message's status.",
    )
    sent_on_request = serializers.SerializerMethodField(help_text='Sent by "send now", outside the schedule.')
    attempts = serializers.IntegerField(source="outbox_message.attempts", read_only=True, default=0)
    last_attempt_at = serializers.DateTimeField(
        source="outbox_message.last_attempt_at", read_only=True, allow_null=True, default=None
    )
    sent_at = serializers.DateTimeField(
        source="outbox_message.sent_at", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = Delivery
        # last_error is left out: it carries mail-server detail meant for operators.
        fields = [
            "id",
            "subscription",
            "engagement",
            "engagement_code",
            "stakeholder_name",
            "period_start",
            "period_end",
            "scheduled_for",
            "sent_on_request",
            "state",
            "status",
            "summary",
            "held_at",
            "approved_at",
            "attempts",
            "last_attempt_at",
            "sent_at",
            "created_at",
        ]
        read_only_fields = fields

    def get_sent_on_request(self, delivery: Delivery) -> bool:
        return bool(delivery.ad_hoc_key)


class ComplianceQuerySerializer(serializers.Serializer[Any]):
    """The query string of the compliance report: a grouping and a window (days, or from and to)."""

    by = serializers.ChoiceField(choices=list(GROUPINGS), default="engagement")
    days = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=LONGEST_WINDOW_DAYS,
        help_text=f"The last N days up to now; {DEFAULT_WINDOW_DAYS} when neither days nor from/to is given.",
    )
    engagement = ScopedPrimaryKeyRelatedField(
        selector=engagement_list, required=False, help_text="Only this engagement's occurrences."
    )

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        # "from" is a Python keyword, so the two dates are declared here rather than as attributes.
        fields["from"] = serializers.DateField(
            required=False,
            validators=[validate_date_in_range],
            help_text="First day of the window (UTC), included; give to as well.",
        )
        fields["to"] = serializers.DateField(
            required=False,
            validators=[validate_date_in_range],
            help_text="Last day of the window (UTC), included; give from as well.",
        )
        return fields

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        first, last = attrs.get("from"), attrs.get("to")
        errors = {
            ("from" if which == "first" else "to"): [message]
            for which, message in window_date_errors(first, last).items()
        }
        if (first is not None or last is not None) and "days" in attrs:
            errors["days"] = ["Give days, or from and to, not both."]
        if errors:
            raise serializers.ValidationError(errors)
        return attrs

    def window(self, *, as_of: datetime) -> ComplianceWindow:
        data = self.validated_data
        if data.get("from") is not None:
            return ComplianceWindow.between(first=data["from"], last=data["to"], zone=UTC)
        return ComplianceWindow.last_days(days=data.get("days", DEFAULT_WINDOW_DAYS), as_of=as_of)


class ComplianceRowSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField(help_text="Id of the engagement, stakeholder, channel or owner (a user).")
    # Declared fields leave the class body (DRF's metaclass collects them), so Field.label is not shadowed.
    label = serializers.CharField()  # type: ignore[assignment]
    due = serializers.IntegerField(help_text="Occurrences that fell due in the window.")
    held_on_time = serializers.IntegerField()
    ratio = serializers.FloatField(
        allow_null=True, help_text="held_on_time / due, from 0 to 1; null when nothing was due."
    )


class SilenceFlagSerializer(SharedModelSerializer[SilenceFlag]):
    engagement_code = serializers.CharField(source="engagement.code", read_only=True)
    stakeholder = StakeholderSummarySerializer(read_only=True)
    allowed_silence_days = serializers.SerializerMethodField(
        help_text="allowed_silence in days: k times the planned interval of the person's cadence."
    )
    open = serializers.SerializerMethodField(help_text="true until a check-in or the sweep clears the flag.")

    class Meta:
        model = SilenceFlag
        fields = [
            "id",
            "engagement",
            "engagement_code",
            "stakeholder",
            "raised_at",
            "last_contact_at",
            "allowed_silence",
            "allowed_silence_days",
            "follow_up",
            "open",
            "cleared_at",
            "cleared_by_check_in",
        ]
        read_only_fields = fields

    def get_allowed_silence_days(self, flag: SilenceFlag) -> float:
        return round(flag.allowed_silence.total_seconds() / 86400, 2)

    def get_open(self, flag: SilenceFlag) -> bool:
        return flag.cleared_at is None


class MembershipRemoveQuerySerializer(serializers.Serializer[Any]):
    reassign_to = ScopedPrimaryKeyRelatedField(
        selector=user_list,
        required=False,
        allow_null=True,
        default=None,
        help_text=(
            "Id of another member of the team who takes over the leaving member's open follow-ups, "
            "channels and relationships; required when they own any."
        ),
    )


class RaidItemSerializer(SharedModelSerializer[RaidItem]):
    engagement_code = serializers.CharField(source="engagement.code", read_only=True)
    kind_display = ChoiceLabelField("kind")
    status_display = ChoiceLabelField("status")
    status_words = serializers.CharField(
        read_only=True,
        help_text="The status as this kind says it: an assumption to validate, a decision in force.",
    )
    owner_name = serializers.CharField(read_only=True, help_text="Empty: the engagement lead answers for it.")
    score = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="Likelihood × impact, risks only."
    )
    stakeholders = serializers.PrimaryKeyRelatedField[Any](many=True, read_only=True)
    # Declared, not derived from the model: REST framework drops allow_blank from read-only fields,
    # and these are "" on the kinds that do not use them.
    trend = serializers.ChoiceField(
        choices=RaidTrend.choices, allow_blank=True, read_only=True, help_text='Risks only; "" otherwise.'
    )
    severity = serializers.ChoiceField(
        choices=RaidSeverity.choices, allow_blank=True, read_only=True, help_text='Issues only; "" otherwise.'
    )
    validation = serializers.ChoiceField(
        choices=RaidValidation.choices,
        allow_blank=True,
        read_only=True,
        help_text='An assumption\'s outcome once validated; "" before.',
    )

    class Meta:
        model = RaidItem
        fields = [
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
            "last_reviewed_at",
            "validate_by",
            "validated_at",
            "validation",
            "severity",
            "due_on",
            "decided_by",
            "decided_on",
            "change_request",
            "check_in",
            "became_change_request",
            "shared_with_client",
            "closed_at",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


def _optional_date() -> serializers.DateField:
    return serializers.DateField(
        required=False, allow_null=True, default=None, validators=[validate_date_in_range]
    )


class RaidItemWriteSerializer(serializers.Serializer[Any]):
    """What a RAID item says; the columns of other kinds than the item's are ignored."""

    title = serializers.CharField(max_length=300)
    description = serializers.CharField(max_length=LONG_TEXT_MAX_LENGTH, allow_blank=True, default="")
    owner = ScopedPrimaryKeyRelatedField(
        selector=user_list, required=False, allow_null=True, default=None, help_text="A team member."
    )
    stakeholders = ScopedPrimaryKeyRelatedField(
        selector=stakeholder_list, many=True, required=False, default=list
    )
    raised_by = ScopedPrimaryKeyRelatedField(
        selector=stakeholder_list, required=False, allow_null=True, default=None
    )
    likelihood = serializers.IntegerField(
        min_value=1, max_value=5, required=False, allow_null=True, default=None
    )
    impact = serializers.IntegerField(min_value=1, max_value=5, required=False, allow_null=True, default=None)
    trend = serializers.ChoiceField(choices=RaidTrend.choices, allow_blank=True, default="")
    mitigation = serializers.CharField(max_length=LONG_TEXT_MAX_LENGTH, allow_blank=True, default="")
    review_on = _optional_date()
    validate_by = _optional_date()
    severity = serializers.ChoiceField(choices=RaidSeverity.choices, allow_blank=True, default="")
    due_on = _optional_date()
    decided_by = serializers.CharField(max_length=200, allow_blank=True, default="")
    decided_on = _optional_date()
    change_request = ScopedPrimaryKeyRelatedField(
        selector=change_request_list, required=False, allow_null=True, default=None
    )
    shared_with_client = serializers.BooleanField(default=False)


class RaidItemCreateSerializer(RaidItemWriteSerializer):
    engagement = ScopedPrimaryKeyRelatedField(selector=engagement_list)
    kind = serializers.ChoiceField(choices=RaidKind.choices)


class RaidItemTransitionSerializer(serializers.Serializer[Any]):
    to_status = serializers.ChoiceField(choices=RaidItem.Status.choices)


class RaidRiskReviewSerializer(serializers.Serializer[Any]):
    likelihood = serializers.IntegerField(min_value=1, max_value=5, help_text="1 rare … 5 almost certain.")
    impact = serializers.IntegerField(min_value=1, max_value=5, help_text="1 minor … 5 severe.")
    trend = serializers.ChoiceField(choices=RaidTrend.choices)
    next_review_on = serializers.DateField(
        validators=[validate_date_in_range], help_text="When to look again; today or later (UTC)."
    )
    mitigation = serializers.CharField(
        max_length=LONG_TEXT_MAX_LENGTH,
        allow_blank=True,
        required=False,
        help_text="The mitigation as it stands now; left out, it stays as it is.",
    )


class RaidAssumptionValidateSerializer(serializers.Serializer[Any]):
    holds = serializers.BooleanField(help_text="true: it held; false: it proved wrong. Either way it closes.")


class RaidIssueToChangeRequestSerializer(serializers.Serializer[Any]):
    title = serializers.CharField(
        max_length=200,
        required=False,
        help_text=(
            "As the client's users will read it. Defaults to the issue's title for an issue shared with "
            "the client; required for an internal one."
        ),
    )
    description = serializers.CharField(
        max_length=LONG_TEXT_MAX_LENGTH,
        required=False,
        allow_blank=True,
        help_text=(
            "Defaults to the issue's description and action plan for an issue shared with the client; "
            "empty for an internal one."
        ),
    )
    kind = serializers.ChoiceField(choices=ChangeRequest.Kind.choices)
    budget_impact = serializers.DecimalField(
        max_digits=14, decimal_places=2, default=Decimal(0), help_text="Positive adds cost."
    )
    schedule_impact_days = serializers.IntegerField(
        min_value=-3650, max_value=3650, default=0, help_text="Positive delays."
    )
    notify_stakeholders = ScopedPrimaryKeyRelatedField(
        selector=stakeholder_list,
        many=True,
        required=False,
        help_text=(
            "Who must be told, each with a role on the engagement. Left out: for a scope, resource or "
            "regulatory change its sponsors, PMO lead and everyone of high influence; nobody for the others."
        ),
    )

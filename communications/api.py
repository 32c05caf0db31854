"""API v1 for the communication plan, check-ins, follow-ups and sponsor updates.

Reads go through the selectors, so every list and lookup is scoped to the
caller (outside it: 404); writes go through the services, which check the
rules and answer 400 with field errors or 403.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import django_filters.rest_framework as filters
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q, QuerySet
from django.utils import timezone
from django_filters.fields import IsoDateTimeField, RangeField
from django_filters.widgets import DateRangeWidget
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from communications import compliance, raid, selectors, services, silence
from communications.models import (
    Channel,
    CheckIn,
    CheckInRevision,
    Delivery,
    FollowUp,
    FollowUpComment,
    RaidItem,
    RaidKind,
    SilenceFlag,
    SponsorSubscription,
)
from communications.scheduling import Compliance
from communications.serializers import (
    ChannelCreateSerializer,
    ChannelSerializer,
    CheckInCreateSerializer,
    CheckInDeleteSerializer,
    CheckInEditSerializer,
    CheckInRevisionSerializer,
    CheckInSerializer,
    ComplianceQuerySerializer,
    ComplianceRowSerializer,
    DeliverySerializer,
    FollowUpCommentCreateSerializer,
    FollowUpCommentSerializer,
    FollowUpCreateSerializer,
    FollowUpRedateSerializer,
    FollowUpSerializer,
    MembershipRemoveQuerySerializer,
    RaidAssumptionValidateSerializer,
    RaidIssueToChangeRequestSerializer,
    RaidItemCreateSerializer,
    RaidItemSerializer,
    RaidItemTransitionSerializer,
    RaidItemWriteSerializer,
    RaidRiskReviewSerializer,
    SilenceFlagSerializer,
    SponsorSubscriptionSerializer,
)
from engagements.api import MembershipViewSet
from engagements.policy import Action, engagement_check_can
from engagements.selectors import (
    change_request_get_for_user,
    engagement_list,
    membership_get_for_user,
    user_list,
)
from engagements.serializers import ChangeRequestSerializer
from pmaas.api import FIELD_ERRORS, FORBIDDEN, NOT_FOUND, IdChoiceFilter, NumberedPagination
from pmaas.scoping import require_shared_section
from stakeholders.selectors import stakeholder_list


def flatten_errors(errors: Any, prefix: str = "") -> dict[str, list[Any]]:
    """Key nested errors as the services do ("follow_ups[0].due_at"), so a client reads one shape."""
    flat: dict[str, list[Any]] = {}
    if isinstance(errors, dict):
        for key, value in errors.items():
            if isinstance(key, int):  # DRF keys the errors of list items by position
                name = f"{prefix}[{key}]"
            elif key == api_settings.NON_FIELD_ERRORS_KEY and prefix:
                name = prefix
            else:
                name = f"{prefix}.{key}" if prefix else key
            for field_name, messages in flatten_errors(value, name).items():
                flat.setdefault(field_name, []).extend(messages)
    elif isinstance(errors, list) and any(isinstance(item, dict) for item in errors):
        for index, item in enumerate(errors):
            for field_name, messages in flatten_errors(item, f"{prefix}[{index}]").items():
                flat.setdefault(field_name, []).extend(messages)
    else:
        flat[prefix or api_settings.NON_FIELD_ERRORS_KEY] = errors if isinstance(errors, list) else [errors]
    return flat


def _scoped(selector: Any) -> Any:
    """A django-filter queryset callable: the ids a filter accepts are those the caller may see."""
    return lambda request: selector(user=request.user)


def _retrieve_schema(serializer: type[Any]) -> Any:
    return extend_schema(responses={200: serializer, 404: NOT_FOUND})


class _UtcIsoDateTimeField(IsoDateTimeField):
    """Moves the value to UTC while parsing: one the database cannot hold is invalid input, not a crash."""

    def to_python(self, value: Any) -> datetime | None:
        parsed: datetime | None = super().to_python(value)
        if parsed is None:
            return None
        try:
            return parsed.astimezone(UTC)
        except OverflowError:
            raise DjangoValidationError(self.error_messages["invalid"], code="invalid") from None


class _UtcIsoDateTimeRangeField(RangeField):
    widget = DateRangeWidget

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__((_UtcIsoDateTimeField(), _UtcIsoDateTimeField()), *args, **kwargs)


class DateTimeRangeFilter(filters.IsoDateTimeFromToRangeFilter):
    field_class = _UtcIsoDateTimeRangeField


class ChannelFilter(filters.FilterSet):
    engagement = IdChoiceFilter(queryset=_scoped(engagement_list))
    stakeholder = IdChoiceFilter(queryset=_scoped(stakeholder_list))
    status = filters.ChoiceFilter(choices=Channel.Status.choices)

    class Meta:
        model = Channel
        fields = ["engagement", "stakeholder", "status"]


class CheckInFilter(filters.FilterSet):
    engagement = IdChoiceFilter(queryset=_scoped(engagement_list))
    occurred_at = DateTimeRangeFilter(
        help_text="occurred_at_after and occurred_at_before: ISO 8601 date-times, both inclusive."
    )

    class Meta:
        model = CheckIn
        fields = ["engagement", "occurred_at"]


class FollowUpFilter(filters.FilterSet):
    engagement = IdChoiceFilter(queryset=_scoped(engagement_list))
    status = filters.ChoiceFilter(choices=FollowUp.Status.choices)
    owner_user = IdChoiceFilter(queryset=_scoped(user_list))
    overdue = filters.BooleanFilter(
        method="filter_overdue",
        help_text="true: open and past the due time (is_overdue); false: every other item.",
    )

    class Meta:
        model = FollowUp
        fields = ["engagement", "status", "owner_user", "overdue"]

    def filter_overdue(
        self, queryset: QuerySet[FollowUp], name: str, value: bool | None
    ) -> QuerySet[FollowUp]:
        overdue = FollowUp.overdue_condition(as_of=timezone.now())
        return queryset.filter(overdue) if value else queryset.exclude(overdue)


class FollowUpCommentFilter(filters.FilterSet):
    follow_up = IdChoiceFilter(queryset=_scoped(selectors.follow_up_list))

    class Meta:
        model = FollowUpComment
        fields = ["follow_up"]


@extend_schema_view(retrieve=_retrieve_schema(ChannelSerializer))
class ChannelViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Channel]):
    """Planned lines of communication with stakeholders, with their next due time."""

    serializer_class = ChannelSerializer
    ordering = ("id",)
    filterset_class = ChannelFilter

    def get_queryset(self) -> QuerySet[Channel]:
        return selectors.channel_list(user=self.request.user)

    @extend_schema(
        summary="Plan a line of communication with a stakeholder",
        request=ChannelCreateSerializer,
        responses={201: ChannelSerializer, 400: FIELD_ERRORS, 403: FORBIDDEN},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = ChannelCreateSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        channel = services.channel_create(actor=request.user, recurrence_rule=data.pop("recurrence"), **data)
        created = selectors.channel_get_for_user(user=request.user, id=channel.pk)
        return Response(self.get_serializer(created).data, status=status.HTTP_201_CREATED)


@extend_schema_view(retrieve=_retrieve_schema(CheckInSerializer))
class CheckInViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[CheckIn]):
    """Logged interactions with stakeholders, newest first."""

    serializer_class = CheckInSerializer
    ordering = ("-occurred_at", "-id")
    filterset_class = CheckInFilter

    def get_queryset(self) -> QuerySet[CheckIn]:
        return selectors.check_in_api_list(user=self.request.user)

    def paginate_queryset(self, queryset: Any) -> Any:
        page = super().paginate_queryset(queryset)
        # Who took part and the follow-ups, for the whole page at once (three queries).
        selectors.check_in_people_attach(page or [])
        return page

    @extend_schema(
        summary="Log a check-in with its follow-ups",
        description=(
            "Attendees must have a role on the engagement, team attendees and follow-up owners "
            "must be on its team. Without a channel the check-in covers the one planned meeting "
            "it matches; when it matches several, covers must name them (or be empty). Nothing is "
            "written when anything is refused."
        ),
        request=CheckInCreateSerializer,
        responses={201: CheckInSerializer, 400: FIELD_ERRORS, 403: FORBIDDEN},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = CheckInCreateSerializer(data=request.data, context=self.get_serializer_context())
        if not body.is_valid():
            raise ValidationError(flatten_errors(body.errors))
        data = dict(body.validated_data)
        specs = [services.FollowUpSpec(**spec) for spec in data.pop("follow_ups", [])]
        check_in = services.check_in_log(actor=request.user, follow_ups=specs, **data)
        created = selectors.check_in_get_for_user(user=request.user, id=check_in.pk)
        return Response(self.get_serializer(created).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Correct a check-in: when, how, who, what was said and decided, its sentiment and sharing",
        description=(
            "Whoever logged it (while on the team), the engagement's lead, practice leads and "
            "administrators. The version it replaces is kept (see check-in-revisions) and the check-in "
            "is marked edited (edited_at). When the time or the attendees change, the planned meeting, "
            "obligations and silence flags it counted for are worked out again, and the engagement's "
            "health and figures follow, as they do a changed sentiment. A check-in taken back from the "
            "client (shared_with_client false) leaves the client's pages, API and search at once. "
            "seen_updated_at is the check-in's updated_at as last read: a "
            "change since then is refused (400). Nothing is written when anything is refused."
        ),
        request=CheckInEditSerializer,
        responses={200: CheckInSerializer, 400: FIELD_ERRORS, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        check_in = self.get_object()
        # Refused before the body is read, as the page refuses before showing the form.
        engagement_check_can(
            user=request.user,
            engagement=check_in.engagement,
            action=Action.EDIT_CHECK_IN,
            author_id=check_in.logged_by_id,
        )
        partial = bool(kwargs.get("partial"))
        body = CheckInEditSerializer(
            data=request.data, partial=partial, context=self.get_serializer_context()
        )
        if not body.is_valid():
            raise ValidationError(flatten_errors(body.errors))
        values: dict[str, Any] = dict(body.validated_data)
        if partial:
            current = {
                "occurred_at": check_in.occurred_at,
                "summary": check_in.summary,
                "decisions": check_in.decisions,
                "attendees": list(check_in.attendees.all()),
                "team_attendees": list(check_in.team_attendees.all()),
            }
            values = current | values
        services.check_in_edit(actor=request.user, check_in=check_in, **values)
        current_check_in = selectors.check_in_get_for_user(user=request.user, id=check_in.pk)
        return Response(self.get_serializer(current_check_in).data)

    @extend_schema(
        summary="Correct some of a check-in",
        description="As PUT, changing only the fields given; seen_updated_at is always required.",
        request=CheckInEditSerializer,
        responses={200: CheckInSerializer, 400: FIELD_ERRORS, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.update(request, *args, partial=True, **kwargs)

    @extend_schema(
        summary="Delete a check-in that should never have been logged (the engagement's lead)",
        description=(
            "The engagement's lead, practice leads and administrators, with a reason. The reason, who "
            "deleted it and its last version are kept with the engagement; the check-in leaves lists, "
            "timelines and compliance as if never logged: the planned meeting it held is owed again "
            "(missed once its grace has run out), the obligations it met and silences it ended open "
            "again unless another check-in meets them, and health is refreshed. Its follow-ups stay. "
            "A POST, so the reason travels in the body rather than the URL."
        ),
        request=CheckInDeleteSerializer,
        responses={204: None, 400: FIELD_ERRORS, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"], url_path="delete", url_name="delete")
    def remove(self, request: Request, pk: str | None = None) -> Response:
        check_in = self.get_object()
        engagement_check_can(user=request.user, engagement=check_in.engagement, action=Action.DELETE_CHECK_IN)
        body = CheckInDeleteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.check_in_delete(actor=request.user, check_in=check_in, reason=body.validated_data["reason"])
        return Response(status=status.HTTP_204_NO_CONTENT)


def _check_ins_to_filter_on(request: Request) -> QuerySet[CheckIn]:
    # Only the id is checked: the attendees the list prefetches would cost two queries for nothing.
    return selectors.check_in_list(user=request.user).prefetch_related(None)


class CheckInRevisionFilter(filters.FilterSet):
    check_in = IdChoiceFilter(queryset=_check_ins_to_filter_on)

    class Meta:
        model = CheckInRevision
        fields = ["check_in"]


@extend_schema_view(
    list=extend_schema(
        description=(
            "Each correction of a check-in keeps the version it replaced: its time, attendees' names "
            "(as they were then), summary and decisions, who corrected it and when. The team's record: "
            "a client user gets 404."
        ),
        responses={200: CheckInRevisionSerializer(many=True), 404: NOT_FOUND},
    )
)
class CheckInRevisionViewSet(mixins.ListModelMixin, viewsets.GenericViewSet[CheckInRevision]):
    """Earlier versions of corrected check-ins, newest correction first."""

    serializer_class = CheckInRevisionSerializer
    ordering = ("-edited_at", "-id")
    filterset_class = CheckInRevisionFilter

    def get_queryset(self) -> QuerySet[CheckInRevision]:
        return selectors.check_in_revision_list_all(user=self.request.user)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        require_shared_section(request.user, "communications.CheckInRevision")
        return super().list(request, *args, **kwargs)


@extend_schema_view(retrieve=_retrieve_schema(FollowUpSerializer))
class FollowUpViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[FollowUp]):
    """Action items owed by the team or by stakeholders."""

    serializer_class = FollowUpSerializer
    ordering = ("due_at", "id")
    filterset_class = FollowUpFilter

    def get_queryset(self) -> QuerySet[FollowUp]:
        return selectors.follow_up_api_list(user=self.request.user)

    def _fresh(self, follow_up: FollowUp) -> Response:
        current = selectors.follow_up_get_for_user(user=self.request.user, id=follow_up.pk)
        return Response(self.get_serializer(current).data)

    @extend_schema(
        summary="Record an action item outside a check-in",
        request=FollowUpCreateSerializer,
        responses={201: FollowUpSerializer, 400: FIELD_ERRORS, 403: FORBIDDEN},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = FollowUpCreateSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        engagement = data.pop("engagement")
        follow_up = services.follow_up_create(
            actor=request.user, engagement=engagement, spec=services.FollowUpSpec(**data)
        )
        response = self._fresh(follow_up)
        response.status_code = status.HTTP_201_CREATED
        return response

    @extend_schema(
        summary="Mark a follow-up done",
        description=(
            "Idempotent. Team members complete items of their engagements; a client user the items they own."
        ),
        request=None,
        responses={200: FollowUpSerializer, 400: FIELD_ERRORS, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, pk: str | None = None) -> Response:
        follow_up = services.follow_up_complete(actor=request.user, follow_up=self.get_object())
        return self._fresh(follow_up)

    @extend_schema(
        summary="Open a done or cancelled follow-up again",
        description="Idempotent. Allowed to whoever may complete it.",
        request=None,
        responses={200: FollowUpSerializer, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"])
    def reopen(self, request: Request, pk: str | None = None) -> Response:
        follow_up = services.follow_up_reopen(actor=request.user, follow_up=self.get_object())
        return self._fresh(follow_up)

    @extend_schema(
        summary="Give an open follow-up a new due time",
        description=(
            "Allowed to whoever may complete it. The new time must lie ahead; the item is no longer "
            "overdue, and the move is kept in its history. Idempotent: the same time twice moves nothing."
        ),
        request=FollowUpRedateSerializer,
        responses={200: FollowUpSerializer, 400: FIELD_ERRORS, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"])
    def redate(self, request: Request, pk: str | None = None) -> Response:
        follow_up = self.get_object()
        body = FollowUpRedateSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        moved = services.follow_up_redate(actor=request.user, follow_up=follow_up, **body.validated_data)
        return self._fresh(moved)

    @extend_schema(
        summary="Comment on a follow-up",
        description="Allowed to whoever may complete it.",
        request=FollowUpCommentCreateSerializer,
        responses={201: FollowUpCommentSerializer, 400: FIELD_ERRORS, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"], url_path="comments", url_name="comments")
    def comments(self, request: Request, pk: str | None = None) -> Response:
        follow_up = self.get_object()
        body = FollowUpCommentCreateSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        comment = services.follow_up_comment_add(
            actor=request.user, follow_up=follow_up, **body.validated_data
        )
        created = selectors.follow_up_comment_get_for_user(user=request.user, id=comment.pk)
        return Response(FollowUpCommentSerializer(created).data, status=status.HTTP_201_CREATED)


@extend_schema_view(retrieve=_retrieve_schema(FollowUpCommentSerializer))
class FollowUpCommentViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[FollowUpComment]
):
    """Comments on the follow-ups the caller may see."""

    serializer_class = FollowUpCommentSerializer
    ordering = ("id",)
    filterset_class = FollowUpCommentFilter

    def get_queryset(self) -> QuerySet[FollowUpComment]:
        return selectors.follow_up_comment_list(user=self.request.user)


@extend_schema_view(retrieve=_retrieve_schema(SponsorSubscriptionSerializer))
class SponsorSubscriptionViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[SponsorSubscription]
):
    """Sponsors' standing requests for status updates."""

    serializer_class = SponsorSubscriptionSerializer
    ordering = ("id",)

    def get_queryset(self) -> QuerySet[SponsorSubscription]:
        return selectors.sponsor_subscription_list(user=self.request.user)


@extend_schema_view(retrieve=_retrieve_schema(DeliverySerializer))
class DeliveryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Delivery]):
    """Sponsor updates written to the outbox, one per subscription and period."""

    serializer_class = DeliverySerializer
    ordering = ("-scheduled_for", "-id")

    def get_queryset(self) -> QuerySet[Delivery]:
        return selectors.delivery_list(user=self.request.user)


@extend_schema_view(
    list=extend_schema(
        summary="Cadence compliance: held on time out of due, per group, worst first",
        description=(
            "Counts the occurrences of planned check-ins due in the window: due, held and missed ones "
            "are due; held within the grace period are on time. Groups (engagements, stakeholders, "
            "channels or channel owners) with an occurrence in the window are listed, lowest ratio "
            "first; ratio is null when nothing in the group fell due yet. The window is the last "
            "`days` up to now (90 by default) or the whole UTC days `from` to `to`."
        ),
        parameters=[ComplianceQuerySerializer],
        responses={200: ComplianceRowSerializer(many=True), 400: FIELD_ERRORS},
    )
)
class ComplianceViewSet(viewsets.GenericViewSet[Any]):
    """Cadence compliance of the occurrences the caller may see."""

    serializer_class = ComplianceRowSerializer
    # Groups summed in memory, worst first: numbered pages, counted without a query.
    pagination_class = NumberedPagination
    # The query string is read by ComplianceQuerySerializer, not by filter backends.
    filter_backends: list[Any] = []

    def list(self, request: Request) -> Response:
        require_shared_section(request.user, "communications.Occurrence")
        query = ComplianceQuerySerializer(data=request.query_params, context=self.get_serializer_context())
        query.is_valid(raise_exception=True)
        by = query.validated_data["by"]
        window = query.window(as_of=timezone.now())
        engagement = query.validated_data.get("engagement")
        ranked = compliance.compliance_ranked(by=by, user=request.user, window=window, engagement=engagement)
        page = self.paginate_queryset(ranked)  # type: ignore[arg-type]
        shown = page if page is not None else ranked
        labels = compliance.group_labels(by=by, user=request.user, ids=[pk for pk, _, _ in shown])
        rows = [
            {
                "id": pk,
                "label": labels.get(pk, ""),
                **dataclasses.asdict(Compliance.of(due=due, held_on_time=held_on_time)),
            }
            for pk, due, held_on_time in shown
        ]
        if page is not None:
            return self.get_paginated_response(self.get_serializer(rows, many=True).data)
        return Response(self.get_serializer(rows, many=True).data)


class SilenceFlagFilter(filters.FilterSet):
    engagement = IdChoiceFilter(queryset=_scoped(engagement_list))
    open = filters.BooleanFilter(
        field_name="cleared_at",
        lookup_expr="isnull",
        help_text="true: still open; false: cleared by a check-in or because it no longer applies.",
    )

    class Meta:
        model = SilenceFlag
        fields = ["engagement", "open"]


@extend_schema_view(retrieve=_retrieve_schema(SilenceFlagSerializer))
class SilenceFlagViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[SilenceFlag]
):
    """Sponsors and PMO leads with no check-in for longer than their cadence allows, newest first."""

    serializer_class = SilenceFlagSerializer
    ordering = ("-raised_at", "-id")
    filterset_class = SilenceFlagFilter

    def get_queryset(self) -> QuerySet[SilenceFlag]:
        return silence.silence_flag_list(user=self.request.user)


class TeamMembershipViewSet(mixins.DestroyModelMixin, MembershipViewSet):
    """Team memberships, and taking a member off the team with their work handed on.

    Served here rather than in engagements, whose API cannot reach the
    follow-ups and channels a leaving member hands over.
    """

    @extend_schema(
        summary="Take a member off the team (the engagement's lead)",
        description=(
            "Their open follow-ups, channels and relationships on the engagement pass to reassign_to, "
            "required when they own any; the lead hands the role over first. All or nothing. "
            "The engagement's lead, practice leads and administrators."
        ),
        parameters=[MembershipRemoveQuerySerializer],
        responses={204: None, 400: FIELD_ERRORS, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        membership = membership_get_for_user(user=request.user, id=kwargs["pk"])
        query = MembershipRemoveQuerySerializer(
            data=request.query_params, context=self.get_serializer_context()
        )
        query.is_valid(raise_exception=True)
        services.membership_remove(actor=request.user, membership=membership, **query.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


class RaidItemFilter(filters.FilterSet):
    engagement = IdChoiceFilter(queryset=_scoped(engagement_list))
    kind = filters.ChoiceFilter(choices=RaidKind.choices)
    status = filters.ChoiceFilter(choices=RaidItem.Status.choices)
    owner = IdChoiceFilter(queryset=_scoped(user_list))
    stakeholder = IdChoiceFilter(
        queryset=_scoped(stakeholder_list), method="filter_stakeholder", help_text="Concerned or raised by."
    )

    class Meta:
        model = RaidItem
        fields = ["engagement", "kind", "status", "owner", "stakeholder"]

    def filter_stakeholder(self, queryset: QuerySet[RaidItem], name: str, value: Any) -> QuerySet[RaidItem]:
        concerned = RaidItem.stakeholders.through.objects.filter(stakeholder=value).values("raiditem_id")
        return queryset.filter(Q(pk__in=concerned) | Q(raised_by=value))


@extend_schema_view(retrieve=_retrieve_schema(RaidItemSerializer))
class RaidItemViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[RaidItem]):
    """The RAID logs the caller may see: risks, assumptions, issues and decisions, newest first.

    A client user sees only items shared with clients, and only their shared fields.
    """

    serializer_class = RaidItemSerializer
    filterset_class = RaidItemFilter
    ordering = ("-id",)

    def get_queryset(self) -> QuerySet[RaidItem]:
        return selectors.raid_item_list(user=self.request.user)

    def _fresh(self, item: RaidItem, code: int = status.HTTP_200_OK) -> Response:
        current = selectors.raid_item_get_for_user(user=self.request.user, id=item.pk)
        return Response(self.get_serializer(current).data, status=code)

    @extend_schema(
        summary="Record a risk, assumption, issue or decision",
        description=(
            "A risk needs likelihood and impact (1-5), an assumption validate_by, a decision decided_on; "
            "the columns of other kinds are ignored. The owner must be on the team, the stakeholders "
            "must have a role on the engagement."
        ),
        request=RaidItemCreateSerializer,
        responses={201: RaidItemSerializer, 400: FIELD_ERRORS, 403: FORBIDDEN},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = RaidItemCreateSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        engagement, kind = data.pop("engagement"), data.pop("kind")
        item = raid.raid_item_create(
            actor=request.user, engagement=engagement, kind=kind, values=raid.RaidFields(**data)
        )
        return self._fresh(item, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Change what an item says",
        description="Its kind and engagement stay. PATCH changes only the fields given.",
        request=RaidItemWriteSerializer,
        responses={200: RaidItemSerializer, 400: FIELD_ERRORS, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        item = self.get_object()
        partial = bool(kwargs.get("partial"))
        body = RaidItemWriteSerializer(
            data=request.data, partial=partial, context=self.get_serializer_context()
        )
        body.is_valid(raise_exception=True)
        current = {
            name: getattr(item, name)
            for name in raid.RaidFields.__dataclass_fields__
            if name != "stakeholders"
        }
        current["stakeholders"] = list(item.stakeholders.all())
        values = raid.RaidFields(**(current | dict(body.validated_data) if partial else body.validated_data))
        item = raid.raid_item_update(actor=request.user, item=item, values=values, seen_updated_at=None)
        return self._fresh(item)

    @extend_schema(
        summary="Change some of what an item says",
        request=RaidItemWriteSerializer,
        responses={200: RaidItemSerializer, 400: FIELD_ERRORS, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.update(request, *args, partial=True, **kwargs)

    @extend_schema(
        summary="Close or reopen an item",
        description="Closing a closed item or reopening an open one is refused (400).",
        request=RaidItemTransitionSerializer,
        responses={200: RaidItemSerializer, 400: FIELD_ERRORS, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"])
    def transition(self, request: Request, pk: str | None = None) -> Response:
        item = self.get_object()
        body = RaidItemTransitionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        item = raid.raid_item_transition(
            actor=request.user, item=item, to_status=body.validated_data["to_status"]
        )
        return self._fresh(item)

    @extend_schema(
        summary="Review a risk: its rating and trend now, and when to look again",
        description=(
            "An open risk only (400 otherwise). The next review may not lie before today (UTC). "
            "Records the review (last_reviewed_at); mitigation, when given, replaces the one it had."
        ),
        request=RaidRiskReviewSerializer,
        responses={200: RaidItemSerializer, 400: FIELD_ERRORS, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"])
    def review(self, request: Request, pk: str | None = None) -> Response:
        item = self.get_object()
        body = RaidRiskReviewSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        item = raid.raid_risk_review(actor=request.user, item=item, **body.validated_data)
        return self._fresh(item)

    @extend_schema(
        summary="Validate an assumption: it held, or it proved wrong",
        description=(
            "An open assumption only (400 otherwise). Either answer closes it; what follows from one "
            "that proved wrong is a new risk or issue. Reopening it (transition) clears the answer."
        ),
        request=RaidAssumptionValidateSerializer,
        responses={200: RaidItemSerializer, 400: FIELD_ERRORS, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"])
    def validate(self, request: Request, pk: str | None = None) -> Response:
        item = self.get_object()
        body = RaidAssumptionValidateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        item = raid.raid_assumption_validate(
            actor=request.user, item=item, holds=body.validated_data["holds"]
        )
        return self._fresh(item)

    @extend_schema(
        summary="Turn an issue into a proposed change request",
        description=(
            "An open issue not turned into one before (400 otherwise). The change request is shared "
            "with the client: it takes the issue's title and description (and action plan) only when "
            "the issue is shared too, and an internal issue's needs a title of its own. It is linked "
            "both ways (became_change_request) and lists who must be told of it; the issue stays open."
        ),
        request=RaidIssueToChangeRequestSerializer,
        responses={201: ChangeRequestSerializer, 400: FIELD_ERRORS, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"], url_path="change-request", url_name="change-request")
    def change_request(self, request: Request, pk: str | None = None) -> Response:
        item = self.get_object()
        body = RaidIssueToChangeRequestSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        told = data.pop("notify_stakeholders", None)
        change_request = raid.raid_issue_to_change_request(
            actor=request.user,
            item=item,
            notify_stakeholder_ids=None if told is None else [stakeholder.pk for stakeholder in told],
            **data,
        )
        current = change_request_get_for_user(user=request.user, id=change_request.pk)
        context = self.get_serializer_context()
        return Response(
            ChangeRequestSerializer(current, context=context).data, status=status.HTTP_201_CREATED
        )

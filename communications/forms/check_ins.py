"""The one-page check-in form: what happened, who was there, and the follow-ups agreed."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from communications import selectors
from communications.models import Channel, ChannelKind, Sentiment
from communications.services import FollowUpSpec, follow_up_due_at
from engagements.models import Engagement
from pmaas.concurrency import SEEN_MISSING_MESSAGE
from pmaas.forms import (
    DATETIME_LOCAL_FORMAT,
    DatePicker,
    DateTimePicker,
    IdChoiceField,
    IdMultipleChoiceField,
    LongTextField,
    form_add_service_errors,
)
from pmaas.validation import validate_date_in_range
from stakeholders.models import Stakeholder

FOLLOW_UP_PREFIX = "follow_ups"


_SERVICE_ROW_KEY = re.compile(r"^follow_ups\[(\d+)\]\.(\w+)$")
_SERVICE_TO_ROW_FIELD = {"title": "title", "due_at": "due", "owner": "owner"}


def _kind_field() -> forms.ChoiceField:
    return forms.ChoiceField(choices=ChannelKind.choices, label="How you talked", initial=ChannelKind.MEETING)


def _sentiment_field() -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label="Sentiment",
        choices=Sentiment.choices,
        coerce=int,
        initial=Sentiment.NEUTRAL,
        widget=forms.RadioSelect,
    )


def _check_in_sharing_field(help_text: str = "") -> forms.BooleanField:
    return forms.BooleanField(
        label="Share with the client",
        required=False,
        help_text="Its date, kind, attendees, summary and decisions; never the sentiment." + help_text,
    )


class _AttendeesForm(forms.Form):
    """Who took part in a check-in, the client's people and the team's: the same when logged or edited."""

    attendees = IdMultipleChoiceField(
        queryset=Stakeholder.objects.none(),
        label="Attendees",
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Name at least one stakeholder who took part."},
    )
    team_attendees = IdMultipleChoiceField(
        queryset=User.objects.none(),
        label="Team attendees",
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )


class CheckInForm(_AttendeesForm):
    field_order = ["engagement", "channel", "covers", "covers_asked", "attendees", "team_attendees"]
    engagement = IdChoiceField(
        queryset=Engagement.objects.none(), label="Engagement", empty_label="Choose an engagement"
    )
    channel = IdChoiceField(queryset=Channel.objects.none(), required=False, widget=forms.HiddenInput)
    # Asked only when the check-in fits several planned meetings; "covers_asked" tells an
    # answer of none (an extra conversation) from a form that never asked.
    covers = IdMultipleChoiceField(
        queryset=Channel.objects.none(),
        required=False,
        label="This check-in covers",
        widget=forms.CheckboxSelectMultiple,
    )
    covers_asked = forms.BooleanField(required=False, widget=forms.HiddenInput)
    kind = _kind_field()
    occurred_at = forms.DateTimeField(
        label="When",
        validators=[validate_date_in_range],
        input_formats=[DATETIME_LOCAL_FORMAT, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
        widget=DateTimePicker(),
        error_messages={"invalid": "Give a real date and time."},
    )
    summary = LongTextField(label="Summary", widget=forms.Textarea(attrs={"rows": 4}))
    sentiment = _sentiment_field()
    decisions = LongTextField(
        label="Decisions",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    file_decisions = forms.BooleanField(
        label="File them in the RAID log",
        required=False,
        help_text=(
            "One decision per line, decided on the check-in’s day by its attendees; "
            "shared if the check-in is."
        ),
    )
    shared_with_client = _check_in_sharing_field()

    def __init__(self, *args: Any, user: Any, engagement: Engagement | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["engagement"].queryset = selectors.check_in_engagement_choices(user=user)  # type: ignore[attr-defined]
        # With htmx, picking an engagement re-renders the fields that depend on it, keeping what was typed.
        self.fields["engagement"].widget.attrs.update(
            {
                "hx-get": reverse("check_in_create"),
                "hx-trigger": "change",
                "hx-include": "closest form",
                "hx-params": "not csrfmiddlewaretoken",
                "hx-target": "#check-in-fields",
                "hx-swap": "outerHTML",
            }
        )
        if engagement is not None:
            self.fields["channel"].queryset = selectors.channel_list(user=user).filter(engagement=engagement)  # type: ignore[attr-defined]
            self.fields["covers"].queryset = self.fields["channel"].queryset  # type: ignore[attr-defined]
            self.fields["attendees"].queryset = selectors.check_in_attendee_choices(  # type: ignore[attr-defined]
                user=user, engagement=engagement
            )
            self.fields["team_attendees"].queryset = selectors.check_in_team_choices(  # type: ignore[attr-defined]
                user=user, engagement=engagement
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        engagement, channel = cleaned.get("engagement"), cleaned.get("channel")
        if channel is not None and engagement is not None and channel.engagement_id != engagement.pk:
            cleaned["channel"] = None
        return cleaned

    def covers_answer(self) -> list[Channel] | None:
        """The planned meetings the user said this covers, or None when the form did not ask."""
        if not self.cleaned_data.get("covers_asked"):
            return None
        return list(self.cleaned_data.get("covers") or [])


class FollowUpForm(forms.Form):
    title = forms.CharField(label="What", max_length=300)
    owner = forms.ChoiceField(label="Owner", error_messages={"required": "Choose who owns it."})
    due = forms.DateField(
        label="Due",
        validators=[validate_date_in_range],
        widget=DatePicker(),
        error_messages={"required": "Give a due date.", "invalid": "Give a real date."},
    )
    # What the client's own people owe is always shown to them; a team item only when ticked.
    shared_with_client = forms.BooleanField(label="Client sees it", required=False)

    def __init__(self, *args: Any, owners: OwnerChoices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.owners = owners
        self.fields["owner"].choices = [("", "Choose an owner"), *owners.choices]  # type: ignore[attr-defined]

    def spec(self) -> FollowUpSpec:
        owner = self.owners.resolve(self.cleaned_data["owner"])
        return FollowUpSpec(
            title=self.cleaned_data["title"],
            # The user's zone is active for the request: the date was given there.
            due_at=follow_up_due_at(
                due_on=self.cleaned_data["due"], time_zone=timezone.get_current_timezone()
            ),
            due_zone=timezone.get_current_timezone_name(),
            owner_user=owner if isinstance(owner, User) else None,
            owner_stakeholder=owner if isinstance(owner, Stakeholder) else None,
            shared_with_client=self.cleaned_data["shared_with_client"],
        )


class OwnerChoices:
    """One list of possible owners: the team's users and the engagement's stakeholders.

    Values are "user:<id>" and "stakeholder:<id>", so one select names either kind.
    """

    def __init__(self, *, team: list[User], stakeholders: list[Stakeholder]) -> None:
        self.by_value: dict[str, User | Stakeholder] = {f"user:{u.pk}": u for u in team}
        self.by_value.update({f"stakeholder:{s.pk}": s for s in stakeholders})
        self.choices: list[tuple[str, Any]] = []
        if team:
            self.choices.append(("Team", [(f"user:{u.pk}", str(u)) for u in team]))
        if stakeholders:
            self.choices.append(("Client", [(f"stakeholder:{s.pk}", str(s)) for s in stakeholders]))

    def resolve(self, value: str) -> User | Stakeholder:
        return self.by_value[value]


class BaseFollowUpFormSet(forms.BaseFormSet):
    def initial_form_count(self) -> int:
        # Every row is optional: rows carried over from a re-render start blank-able.
        return 0 if not self.is_bound else super().initial_form_count()


def follow_up_formset(
    *,
    owners: OwnerChoices,
    data: QueryDict | None = None,
    initial: list[dict[str, Any]] | None = None,
    extra: int = 1,
) -> forms.BaseFormSet:
    formset_class = forms.formset_factory(
        FollowUpForm, formset=BaseFollowUpFormSet, extra=extra, max_num=50, validate_max=True
    )
    return formset_class(data, initial=initial, prefix=FOLLOW_UP_PREFIX, form_kwargs={"owners": owners})


def owner_choices(*, user: Any, engagement: Engagement | None) -> OwnerChoices:
    if engagement is None:
        return OwnerChoices(team=[], stakeholders=[])
    return OwnerChoices(
        team=list(selectors.check_in_team_choices(user=user, engagement=engagement)),
        stakeholders=list(selectors.check_in_attendee_choices(user=user, engagement=engagement)),
    )


def initial_from(data: QueryDict) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """What was typed, as initial values, so a re-rendered form keeps it without showing errors."""
    initial: dict[str, Any] = {}
    for name in (
        "engagement",
        "channel",
        "kind",
        "occurred_at",
        "summary",
        "sentiment",
        "decisions",
        "file_decisions",
        "shared_with_client",
    ):
        if name in data:
            initial[name] = data.get(name)
    for name in ("attendees", "team_attendees"):
        initial[name] = data.getlist(name)
    try:
        total = min(int(data.get(f"{FOLLOW_UP_PREFIX}-TOTAL_FORMS", "0")), 50)
    except ValueError:
        total = 0
    rows = [
        {
            field: data.get(f"{FOLLOW_UP_PREFIX}-{index}-{field}", "")
            for field in ("title", "owner", "due", "shared_with_client")
        }
        for index in range(max(total, 0))
    ]
    return initial, rows


def apply_service_errors(
    exc: ValidationError,
    *,
    form: CheckInForm,
    formset: forms.BaseFormSet,
    spec_rows: list[int],
) -> None:
    """Put each error the service raised next to the field or follow-up row it concerns.

    ``spec_rows`` maps the index of each FollowUpSpec passed to the service to
    the formset row it came from (blank rows are skipped).
    """
    if not hasattr(exc, "error_dict"):
        form_add_service_errors(form, exc)
        return
    for key, errors in exc.error_dict.items():
        row_match = _SERVICE_ROW_KEY.match(key)
        if row_match and int(row_match.group(1)) < len(spec_rows):
            row_form = formset.forms[spec_rows[int(row_match.group(1))]]
            row_error = ValidationError({row_match.group(2): errors})
            form_add_service_errors(row_form, row_error, field_names=_SERVICE_TO_ROW_FIELD)
        else:
            form_add_service_errors(form, ValidationError({key: errors}))


class CheckInEditForm(_AttendeesForm):
    """A correction of a logged check-in: what the log form asks, but its plan and follow-ups."""

    field_order = ["occurred_at", "kind", "attendees", "team_attendees"]

    kind = _kind_field()
    occurred_at = forms.DateTimeField(
        label="When",
        validators=[validate_date_in_range],
        input_formats=[DATETIME_LOCAL_FORMAT, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
        widget=DateTimePicker(),
        help_text="In your time zone.",
        error_messages={"invalid": "Give a real date and time."},
    )
    summary = LongTextField(label="Summary", widget=forms.Textarea(attrs={"rows": 4}))
    sentiment = _sentiment_field()
    decisions = LongTextField(label="Decisions", required=False, widget=forms.Textarea(attrs={"rows": 3}))
    file_decisions = forms.BooleanField(
        label="File them in the RAID log",
        required=False,
        help_text=(
            "Lines not filed yet become decisions, as when a check-in is logged. "
            "Decisions already filed from this check-in follow your corrections either way."
        ),
    )
    shared_with_client = _check_in_sharing_field(
        " Unticking it takes back the decisions filed from it too; ticking it shares the check-in only"
        " (share its decisions in the RAID log)."
    )
    seen_updated_at = forms.CharField(
        widget=forms.HiddenInput, error_messages={"required": SEEN_MISSING_MESSAGE}
    )

    def __init__(self, *args: Any, user: Any, engagement: Engagement, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["attendees"].queryset = selectors.check_in_attendee_choices(  # type: ignore[attr-defined]
            user=user, engagement=engagement
        )
        self.fields["team_attendees"].queryset = selectors.check_in_team_choices(  # type: ignore[attr-defined]
            user=user, engagement=engagement
        )

    def clean_seen_updated_at(self) -> datetime:
        try:
            return datetime.fromisoformat(self.cleaned_data["seen_updated_at"])
        except ValueError:
            raise ValidationError("Damaged form; open the check-in again.", code="bad_version") from None


class CheckInDeleteForm(forms.Form):
    reason = LongTextField(
        label="Why delete it",
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Say why the check-in is deleted."},
        help_text="Kept with the record of the deletion, for whoever asks later.",
    )


class FollowUpCreateForm(forms.Form):
    """A follow-up recorded outside a check-in: what, who owes it, by when, whom it concerns."""

    title = forms.CharField(label="What", max_length=300)
    owner = forms.ChoiceField(label="Owner", error_messages={"required": "Choose who owns it."})
    due = forms.DateField(
        label="Due",
        validators=[validate_date_in_range],
        widget=DatePicker(),
        error_messages={"required": "Give a due date.", "invalid": "Give a real date."},
    )
    stakeholder = IdChoiceField(
        queryset=Stakeholder.objects.none(),
        label="Stakeholder concerned",
        required=False,
        empty_label="Nobody in particular",
    )
    details = LongTextField(label="Details", required=False, widget=forms.Textarea(attrs={"rows": 3}))
    shared_with_client = forms.BooleanField(
        label="Client sees it",
        required=False,
        help_text="What the client's own people owe is always shown to them; a team item only when ticked.",
    )

    def __init__(self, *args: Any, owners: OwnerChoices, stakeholders: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.owners = owners
        self.fields["owner"].choices = [("", "Choose an owner"), *owners.choices]  # type: ignore[attr-defined]
        self.fields["stakeholder"].queryset = stakeholders  # type: ignore[attr-defined]

    def spec(self) -> FollowUpSpec:
        owner = self.owners.resolve(self.cleaned_data["owner"])
        return FollowUpSpec(
            title=self.cleaned_data["title"],
            details=self.cleaned_data["details"],
            due_at=follow_up_due_at(
                due_on=self.cleaned_data["due"], time_zone=timezone.get_current_timezone()
            ),
            due_zone=timezone.get_current_timezone_name(),
            owner_user=owner if isinstance(owner, User) else None,
            owner_stakeholder=owner if isinstance(owner, Stakeholder) else None,
            stakeholder=self.cleaned_data["stakeholder"],
            shared_with_client=self.cleaned_data["shared_with_client"],
        )


class FollowUpCommentForm(forms.Form):
    body = LongTextField(
        label="Your comment",
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Write a comment."},
    )
    shared_with_client = forms.BooleanField(
        label="Client sees it",
        required=False,
        help_text="A team comment is internal unless ticked; a client's own comment is always shared.",
    )

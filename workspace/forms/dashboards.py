"""Shapes of the dashboards' filters, sorting and paging; what they mean lives in workspace/dashboards.py."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet

from accounts.models import User
from engagements.models import Client, Engagement, Health
from pmaas.forms import IdChoiceField
from workspace.dashboards import ATTENTION_SECTIONS, PortfolioFilters

# The page number is read, never remembered: a remembered page would open past the end.
PORTFOLIO_FILTERS = ("client", "lead", "status", "health", "sort")
# Beyond this many pages a portfolio is better narrowed by a filter than paged through.
LAST_PAGE = 10_000

PORTFOLIO_SORT_LABELS = {
    "health": "Health, red first",
    "client": "Client",
    "engagement": "Engagement code",
    "lead": "Lead",
    "status": "Status",
    "compliance": "Compliance (12 weeks)",
    "overdue": "Overdue follow-ups",
    "changes": "Pending scope changes",
}


def _sort_choices(labels: dict[str, str]) -> list[tuple[str, str]]:
    choices = []
    for key, label in labels.items():
        choices += [(key, label), (f"-{key}", f"{label}, reversed")]
    return choices


class _Paged(forms.Form):
    page = forms.IntegerField(required=False, min_value=1, max_value=LAST_PAGE, widget=forms.HiddenInput)

    @property
    def page_number(self) -> int:
        return self.cleaned_data.get("page") or 1


class PortfolioFilterForm(_Paged):
    client = IdChoiceField(queryset=Client.objects.none(), required=False, empty_label="Any client")
    lead = IdChoiceField(queryset=User.objects.none(), required=False, empty_label="Any lead")
    status = forms.ChoiceField(choices=[("", "Any status"), *Engagement.Status.choices], required=False)
    health = forms.ChoiceField(choices=[("", "Any health"), *Health.choices], required=False)
    sort = forms.ChoiceField(choices=_sort_choices(PORTFOLIO_SORT_LABELS), required=False, label="Sort by")

    def __init__(self, *args: Any, clients: QuerySet[Client], leads: QuerySet[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["client"].queryset = clients  # type: ignore[attr-defined]
        self.fields["lead"].queryset = leads  # type: ignore[attr-defined]

    def filters(self) -> PortfolioFilters:
        data = self.cleaned_data
        sort = data.get("sort") or "health"
        return PortfolioFilters(
            client=data["client"].pk if data.get("client") else None,
            lead=data["lead"].pk if data.get("lead") else None,
            status=data.get("status") or "",
            health=data.get("health") or "",
            sort=sort.lstrip("-"),
            descending=sort.startswith("-"),
        )

    def remembered(self) -> dict[str, str]:
        """The chosen filters as the query string carries them, empty ones left out."""
        return {name: str(self.data[name]) for name in PORTFOLIO_FILTERS if self.data.get(name)}


class ConsultantSortForm(_Paged):
    sort = forms.ChoiceField(
        choices=_sort_choices(
            {
                "name": "Name",
                "engagements": "Running engagements",
                "compliance": "Compliance (12 weeks)",
                "overdue": "Overdue follow-ups",
            }
        ),
        required=False,
        label="Sort by",
    )

    def sort_key(self) -> tuple[str, bool]:
        sort = self.cleaned_data.get("sort") or "name"
        return sort.lstrip("-"), sort.startswith("-")


class AttentionForm(_Paged):
    section = forms.ChoiceField(choices=[("", "Every section"), *ATTENTION_SECTIONS.items()], required=False)

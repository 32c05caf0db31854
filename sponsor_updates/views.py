"""Sponsor-update pages: the team's subscriptions and preview, and the recipient's signed-link pages.

The team's pages sit under the engagement and its scope (outside it, 404;
client users, 404: subscriptions are not shared with clients). The
recipient's pages need no login: the signed link is the permission and
names one subscription, so they show nothing of any other. A link that was
altered, has expired or names what no longer exists gets a page saying so
(400 or 410) with a way to ask for a new one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from communications.models import Delivery, SponsorSubscription
from engagements import selectors as engagement_selectors
from engagements.models import Engagement
from engagements.policy import Action, engagement_can, engagement_check_can
from pmaas.errors import RuleViolation
from pmaas.forms import form_add_service_errors
from pmaas.scoping import require_shared_section
from sponsor_updates import schedule, selectors, services
from sponsor_updates.forms import (
    AcknowledgeForm,
    NewLinkForm,
    SendNowForm,
    SubscriptionAddForm,
    SubscriptionEditForm,
    SummaryForm,
    TeamSubscriptionEditForm,
)
from sponsor_updates.links import LinkRefused, LinkTarget, Purpose, link_read, link_url
from sponsor_updates.rendering import period_label, update_preview
from sponsor_updates.summary import summary_draft

_SECTION = "communications.SponsorSubscription"
_SPANS = {
    SponsorSubscription.Cadence.WEEKLY: "week",
    SponsorSubscription.Cadence.FORTNIGHTLY: "fortnight",
    SponsorSubscription.Cadence.MONTHLY: "month",
}


def _engagement(request: HttpRequest, pk: int) -> Engagement:
    require_shared_section(request.user, _SECTION)
    return engagement_selectors.engagement_get_for_user(user=request.user, id=pk)


def _add_form_initial(engagement: Engagement) -> dict[str, Any]:
    return {
        "cadence": SponsorSubscription.Cadence.WEEKLY,
        "weekday": services.DEFAULT_WEEKDAY,
        "local_time": services.DEFAULT_LOCAL_TIME,
        "time_zone": engagement.client.time_zone,
    }


def _may_approve(user: Any, engagement: Engagement) -> bool:
    return engagement_can(user=user, engagement=engagement, action=Action.APPROVE_SPONSOR_UPDATE)


def _list_page(
    request: HttpRequest,
    engagement: Engagement,
    *,
    add_form: SubscriptionAddForm | None = None,
    status: int = 200,
) -> HttpResponse:
    user = request.user
    can_edit = engagement_selectors.engagement_can_edit(user=user, engagement=engagement)
    candidates = list(selectors.subscription_candidates(user=user, engagement=engagement))
    now = timezone.now()
    rows = [
        {
            "subscription": subscription,
            "next_local": _local(subscription.next_send_at, subscription.time_zone),
            "paused_until": schedule.pause_in_force(subscription, as_of=now),
        }
        for subscription in selectors.subscription_list_for_engagement(user=user, engagement=engagement)
    ]
    troubles = [
        {
            "delivery": delivery,
            "period": period_label(_delivery_period(delivery)),
            "scheduled_local": _local(delivery.scheduled_for, delivery.subscription.time_zone),
        }
        for delivery in selectors.delivery_troubles(user=user, engagement=engagement)
    ]
    can_approve = _may_approve(user, engagement)
    context = {
        "engagement": engagement,
        "tab": "updates",
        "can_edit": can_edit,
        "rows": rows,
        "add_form": add_form
        or SubscriptionAddForm(
            stakeholders=candidates,
            approval=can_approve,
            initial=_add_form_initial(engagement),
            auto_id="add-%s",
        ),
        "has_candidates": bool(candidates),
        "troubles": troubles,
        "unacknowledged": selectors.delivery_unacknowledged_count(user=user, engagement=engagement),
        "waiting": [
            {
                "delivery": delivery,
                "period": period_label(_delivery_period(delivery)),
                "since_local": _local(delivery.scheduled_for, delivery.subscription.time_zone),
            }
            for delivery in selectors.delivery_waiting_list(user=user, engagement=engagement)
        ],
        "can_approve": can_approve,
    }
    return render(request, "sponsor_updates/engagement_updates.html", context, status=status)


# A page of the history; pages are read a row beyond it, so no COUNT is needed to know there are more.
HISTORY_PAGE_SIZE = 25


@dataclass(frozen=True)
class HistoryRow:
    delivery: Delivery
    period: str
    scheduled_local: datetime | None
    sent_local: datetime | None
    acknowledged_local: datetime | None


def _page_number(value: str | None) -> int:
    try:
        return max(1, min(int(value or 1), 10_000))
    except ValueError:
        return 1


@login_required
def engagement_update_history(request: HttpRequest, pk: int) -> HttpResponse:
    engagement = _engagement(request, pk)
    number = _page_number(request.GET.get("page"))
    start = (number - 1) * HISTORY_PAGE_SIZE
    deliveries = list(
        selectors.delivery_history(user=request.user, engagement=engagement)[
            start : start + HISTORY_PAGE_SIZE + 1
        ]
    )
    rows = []
    for delivery in deliveries[:HISTORY_PAGE_SIZE]:
        zone = delivery.subscription.time_zone
        message = delivery.outbox_message
        period = _delivery_period(delivery)
        rows.append(
            HistoryRow(
                delivery=delivery,
                period=period_label(period),
                scheduled_local=_local(delivery.scheduled_for, zone),
                sent_local=_local(message.sent_at if message else None, zone),
                acknowledged_local=_local(delivery.acknowledged_at, zone),
            )
        )
    context = {
        "engagement": engagement,
        "tab": "updates",
        "rows": rows,
        "page_number": number,
        "has_previous": number > 1,
        "has_next": len(deliveries) > HISTORY_PAGE_SIZE,
        "unacknowledged": selectors.delivery_unacknowledged_count(user=request.user, engagement=engagement),
    }
    return render(request, "sponsor_updates/history.html", context)


def _delivery_period(delivery: Delivery) -> schedule.Period:
    return schedule.Period(start=delivery.period_start, end=delivery.period_end or delivery.period_start)


def _local(moment: datetime | None, time_zone: str) -> datetime | None:
    """The recipient's wall-clock time of ``moment``, naive, so templates show it unconverted.

    An aware value would be converted again by the ``date`` filter into the
    viewer's zone (UTC on the recipient's pages) and then labelled with the
    recipient's zone, which is wrong for everyone but the recipient.
    """
    if moment is None:
        return None
    return timezone.localtime(moment, ZoneInfo(time_zone)).replace(tzinfo=None)


@login_required
def engagement_updates(request: HttpRequest, pk: int) -> HttpResponse:
    engagement = _engagement(request, pk)
    if engagement_selectors.engagement_can_edit(user=request.user, engagement=engagement):
        # A sponsor added since the last sweep shows here at once, subscribed as the sweep would.
        services.subscriptions_ensure_for_sponsors(as_of=timezone.now(), engagement_ids=[engagement.pk])
    return _list_page(request, engagement)


@login_required
@require_POST
def subscription_add(request: HttpRequest, pk: int) -> HttpResponse:
    engagement = _engagement(request, pk)
    engagement_selectors.engagement_check_editable(user=request.user, engagement=engagement)
    candidates = list(selectors.subscription_candidates(user=request.user, engagement=engagement))
    can_approve = _may_approve(request.user, engagement)
    form = SubscriptionAddForm(request.POST, stakeholders=candidates, approval=can_approve, auto_id="add-%s")
    if form.is_valid():
        try:
            subscription = services.subscription_add(
                actor=request.user,
                engagement=engagement,
                stakeholder=form.cleaned_data["stakeholder"],
                spec=form.schedule(),
                as_of=timezone.now(),
            )
        except (ValidationError, RuleViolation) as error:
            form_add_service_errors(form, error)
        else:
            messages.success(request, f"{subscription.stakeholder} will receive status updates.")
            return redirect("engagement_updates", pk=engagement.pk)
    return _list_page(request, engagement, add_form=form, status=400)


def _subscription(request: HttpRequest, pk: int, subscription_pk: int) -> SponsorSubscription:
    engagement = _engagement(request, pk)
    return selectors.subscription_get_for_user(user=request.user, engagement=engagement, id=subscription_pk)


@login_required
@require_http_methods(["GET", "POST"])
def subscription_edit(request: HttpRequest, pk: int, subscription_pk: int) -> HttpResponse:
    subscription = _subscription(request, pk, subscription_pk)
    engagement = subscription.engagement
    engagement_selectors.engagement_check_editable(user=request.user, engagement=engagement)
    can_approve = _may_approve(request.user, engagement)
    status = 200
    if request.method == "POST":
        form = TeamSubscriptionEditForm(request.POST, approval=can_approve)
        if form.is_valid():
            try:
                services.subscription_update(
                    actor=request.user,
                    subscription=subscription,
                    spec=form.schedule(),
                    is_active=form.cleaned_data["is_active"],
                    as_of=timezone.now(),
                )
            except (ValidationError, RuleViolation) as error:
                form_add_service_errors(form, error)
            else:
                messages.success(request, f"Updates to {subscription.stakeholder} saved.")
                return redirect("engagement_updates", pk=engagement.pk)
        status = 400
    else:
        form = TeamSubscriptionEditForm(
            initial=TeamSubscriptionEditForm.initial_for(subscription, as_of=timezone.now()),
            approval=can_approve,
        )
    context = {
        "engagement": engagement,
        "tab": "updates",
        "subscription": subscription,
        "form": form,
        "can_approve": can_approve,
    }
    return render(request, "sponsor_updates/subscription_edit.html", context, status=status)


@dataclass(frozen=True)
class NextUpdate:
    """The next scheduled update as the lead reviews it ahead of its time."""

    period: str
    send_local: datetime | None
    summary: str
    draft: Delivery | None
    paused: bool


def _next_update(subscription: SponsorSubscription, *, as_of: datetime) -> NextUpdate | None:
    send_at = subscription.next_send_at
    if not subscription.is_active or send_at is None:
        return None
    period = schedule.period_for(
        subscription, send_at=send_at, since=services.last_period_ends([subscription.pk]).get(subscription.pk)
    )
    draft = selectors.delivery_of_period(subscription=subscription, period=period)
    if draft is not None and (draft.summary_by_id is not None or draft.approved_at is not None):
        summary = draft.summary
    else:
        contents = selectors.update_contents(
            subscriptions=[subscription], periods={subscription.pk: period}, as_of=as_of
        )
        summary = summary_draft(contents[subscription.pk])
    return NextUpdate(
        period=period_label(period),
        send_local=_local(send_at, subscription.time_zone),
        summary=summary,
        draft=draft,
        paused=schedule.is_paused(subscription, send_at=send_at),
    )


def _preview_page(
    request: HttpRequest,
    subscription: SponsorSubscription,
    *,
    form: SendNowForm | None = None,
    summary_form: SummaryForm | None = None,
    status: int = 200,
) -> HttpResponse:
    now = timezone.now()
    preview = update_preview(subscription=subscription, as_of=now)
    next_update = _next_update(subscription, as_of=now)
    context = {
        "engagement": subscription.engagement,
        "tab": "updates",
        "subscription": subscription,
        "update": preview.content,
        "summary": preview.summary,
        "period": period_label(preview.content.period),
        "span": _SPANS[SponsorSubscription.Cadence(subscription.cadence)],
        "rendered": preview.rendered,
        "next_local": _local(subscription.next_send_at, subscription.time_zone),
        "can_edit": engagement_selectors.engagement_can_edit(
            user=request.user, engagement=subscription.engagement
        ),
        "can_approve": engagement_can(
            user=request.user, engagement=subscription.engagement, action=Action.APPROVE_SPONSOR_UPDATE
        ),
        "send_form": form or SendNowForm(initial={"request_key": uuid.uuid4().hex}),
        "next_update": next_update,
        "summary_form": summary_form
        or SummaryForm(initial={"summary": next_update.summary if next_update else ""}),
    }
    return render(request, "sponsor_updates/preview.html", context, status=status)


@login_required
def subscription_preview(request: HttpRequest, pk: int, subscription_pk: int) -> HttpResponse:
    return _preview_page(request, _subscription(request, pk, subscription_pk))


@login_required
@require_POST
def subscription_send_now(request: HttpRequest, pk: int, subscription_pk: int) -> HttpResponse:
    subscription = _subscription(request, pk, subscription_pk)
    engagement_selectors.engagement_check_editable(user=request.user, engagement=subscription.engagement)
    form = SendNowForm(request.POST)
    if form.is_valid():
        try:
            services.update_send_now(
                actor=request.user,
                subscription=subscription,
                request_key=form.cleaned_data["request_key"],
                as_of=timezone.now(),
            )
        except RuleViolation as error:
            form_add_service_errors(form, error)
        else:
            messages.success(request, f"The update is on its way to {subscription.stakeholder}.")
            return redirect(
                "subscription_preview", pk=subscription.engagement_id, subscription_pk=subscription.pk
            )
    return _preview_page(request, subscription, form=form, status=400)


def _approving(request: HttpRequest) -> bool:
    return request.POST.get("action") == "approve"


@login_required
@require_POST
def subscription_summary(request: HttpRequest, pk: int, subscription_pk: int) -> HttpResponse:
    """The lead saves (and perhaps approves) the summary of the next update, ahead of its time."""
    subscription = _subscription(request, pk, subscription_pk)
    engagement_check_can(
        user=request.user, engagement=subscription.engagement, action=Action.APPROVE_SPONSOR_UPDATE
    )
    form = SummaryForm(request.POST)
    approve = _approving(request)
    if form.is_valid():
        try:
            services.update_next_summary_save(
                actor=request.user,
                subscription=subscription,
                summary=form.cleaned_data["summary"],
                approve=approve,
                as_of=timezone.now(),
            )
        except (ValidationError, RuleViolation) as error:
            form_add_service_errors(form, error)
        else:
            done = "approved: it goes at its time" if approve else "saved"
            messages.success(
                request, f"The summary of the next update to {subscription.stakeholder} is {done}."
            )
            return redirect(
                "subscription_preview", pk=subscription.engagement_id, subscription_pk=subscription.pk
            )
    return _preview_page(request, subscription, summary_form=form, status=400)


def _delivery(request: HttpRequest, pk: int, delivery_pk: int) -> Delivery:
    engagement = _engagement(request, pk)
    return selectors.delivery_get_for_user(user=request.user, engagement=engagement, id=delivery_pk)


def _review_page(
    request: HttpRequest, delivery: Delivery, *, form: SummaryForm | None = None, status: int = 200
) -> HttpResponse:
    subscription = delivery.subscription
    period = _delivery_period(delivery)
    sent = delivery.outbox_message is not None
    contents = selectors.update_contents(
        subscriptions=[subscription],
        periods={subscription.pk: period},
        as_of=delivery.scheduled_for if sent else timezone.now(),
    )
    context = {
        "engagement": subscription.engagement,
        "tab": "updates",
        "delivery": delivery,
        "subscription": subscription,
        "update": contents[subscription.pk],
        "period": period_label(period),
        "summary": delivery.summary,
        "late": delivery.held_at is not None,
        "scheduled_local": _local(delivery.scheduled_for, subscription.time_zone),
        "approved_local": _local(delivery.approved_at, subscription.time_zone),
        "can_approve": engagement_can(
            user=request.user, engagement=subscription.engagement, action=Action.APPROVE_SPONSOR_UPDATE
        ),
        "form": form or SummaryForm(initial={"summary": delivery.summary}),
    }
    return render(request, "sponsor_updates/review.html", context, status=status)


@login_required
def delivery_review(request: HttpRequest, pk: int, delivery_pk: int) -> HttpResponse:
    """One update with its summary: the lead reviews, edits and approves it here."""
    return _review_page(request, _delivery(request, pk, delivery_pk))


@login_required
@require_POST
def delivery_approve(request: HttpRequest, pk: int, delivery_pk: int) -> HttpResponse:
    """Save the update's summary; with action=approve approve it, and send it at once if it waited."""
    delivery = _delivery(request, pk, delivery_pk)
    engagement = delivery.subscription.engagement
    engagement_check_can(user=request.user, engagement=engagement, action=Action.APPROVE_SPONSOR_UPDATE)
    form = SummaryForm(request.POST)
    approve = _approving(request)
    if form.is_valid():
        try:
            saved = services.delivery_summary_save(
                actor=request.user,
                delivery=delivery,
                summary=form.cleaned_data["summary"],
                approve=approve,
                as_of=timezone.now(),
            )
        except (ValidationError, RuleViolation) as error:
            form_add_service_errors(form, error)
        else:
            name = delivery.subscription.stakeholder
            if saved.outbox_message_id is not None:
                messages.success(request, f"The update to {name} is on its way, marked as delayed.")
                return redirect("engagement_updates", pk=engagement.pk)
            done = "approved: it goes at its time" if approve else "saved"
            messages.success(request, f"The summary of the update to {name} is {done}.")
            return redirect("delivery_review", pk=engagement.pk, delivery_pk=delivery.pk)
    return _review_page(request, delivery, form=form, status=400)


# --- The recipient's signed-link pages ----------------------------------------------------------------


def _link_problem(
    request: HttpRequest, *, expired: bool, token: str = "", gone: bool = False
) -> HttpResponse:
    context = {
        "expired": expired,
        "gone": gone,
        "form": NewLinkForm(initial={"token": token if expired else ""}),
        "offer_known": expired and bool(token),
    }
    return render(
        request, "sponsor_updates/link_problem.html", context, status=410 if expired or gone else 400
    )


def _open(request: HttpRequest, purpose: Purpose, token: str) -> LinkTarget | HttpResponse:
    try:
        return link_read(purpose, token)
    except LinkRefused as refused:
        return _link_problem(request, expired=refused.expired, token=token)


@never_cache
def sponsor_update_online(request: HttpRequest, token: str) -> HttpResponse:
    delivery = _delivery_for(request, Purpose.VIEW, token)
    if isinstance(delivery, HttpResponse):
        return delivery
    subscription = delivery.subscription
    period = _delivery_period(delivery)
    contents = selectors.update_contents(
        subscriptions=[subscription], periods={subscription.pk: period}, as_of=delivery.scheduled_for
    )
    content = contents[subscription.pk]
    context = {
        "update": content,
        "period": period_label(period),
        "delivery": delivery,
        "summary": delivery.summary,
        "late": delivery.is_late,
        # A sponsor reading here answers from here, as from the mail.
        "acknowledge_url": link_url(
            Purpose.ACKNOWLEDGE, LinkTarget(subscription_id=subscription.pk, delivery_id=delivery.pk)
        ),
        "preferences_url": link_url(Purpose.PREFERENCES, LinkTarget(subscription_id=subscription.pk)),
    }
    with timezone.override(subscription.time_zone):
        return render(request, "sponsor_updates/online.html", context)


def _delivery_for(request: HttpRequest, purpose: Purpose, token: str) -> Delivery | HttpResponse:
    target = _open(request, purpose, token)
    if isinstance(target, HttpResponse):
        return target
    delivery = None
    if target.delivery_id is not None:
        delivery = selectors.delivery_for_link(id=target.delivery_id, subscription_id=target.subscription_id)
    if delivery is None:
        return _link_problem(request, expired=False, gone=True)
    return delivery


# A normal form post, CSRF-protected like the site's other public forms; a GET only shows the form,
# so a mail scanner that follows the link records nothing. Once acknowledged, the same form (filled
# with the recorded answer) changes the comment or the wish for a call.
@never_cache
@require_http_methods(["GET", "POST"])
def sponsor_update_acknowledge(request: HttpRequest, token: str) -> HttpResponse:
    delivery = _delivery_for(request, Purpose.ACKNOWLEDGE, token)
    if isinstance(delivery, HttpResponse):
        return delivery
    status = 200
    form = AcknowledgeForm(initial={"comment": delivery.comment, "wants_call": delivery.wants_call})
    if request.method == "POST":
        form = AcknowledgeForm(request.POST)
        if form.is_valid():
            already = delivery.acknowledged_at is not None
            try:
                changed = services.delivery_acknowledge(
                    delivery=delivery,
                    comment=form.cleaned_data["comment"],
                    wants_call=form.cleaned_data["wants_call"],
                    as_of=timezone.now(),
                )
            except ValidationError as error:
                form_add_service_errors(form, error)
            else:
                if already and changed:
                    messages.success(request, "Your answer is changed, and the team has been told.")
                elif already:
                    messages.info(request, "Your answer was already recorded as it is.")
                return redirect("sponsor_update_acknowledge", token=token)
        status = 400
    subscription = delivery.subscription
    period = _delivery_period(delivery)
    context = {
        "delivery": delivery,
        "subscription": subscription,
        "period": period_label(period),
        "acknowledged_local": _local(delivery.acknowledged_at, subscription.time_zone),
        "form": form,
        "token": token,
    }
    return render(request, "sponsor_updates/acknowledge.html", context, status=status)


def _subscription_for(
    request: HttpRequest, purpose: Purpose, token: str
) -> SponsorSubscription | HttpResponse:
    target = _open(request, purpose, token)
    if isinstance(target, HttpResponse):
        return target
    subscription = selectors.subscription_for_link(id=target.subscription_id)
    if subscription is None:
        return _link_problem(request, expired=False, gone=True)
    return subscription


@never_cache
@require_http_methods(["GET", "POST"])
def sponsor_update_preferences(request: HttpRequest, token: str) -> HttpResponse:
    subscription = _subscription_for(request, Purpose.PREFERENCES, token)
    if isinstance(subscription, HttpResponse):
        return subscription
    status = 200
    form = SubscriptionEditForm(initial=SubscriptionEditForm.initial_for(subscription, as_of=timezone.now()))
    if request.method == "POST":
        action = request.POST.get("action", "save")
        now = timezone.now()
        if action == "unsubscribe":
            services.subscription_unsubscribe(subscription_id=subscription.pk, as_of=now)
            messages.success(request, "You are unsubscribed: no more updates will come.")
            return redirect("sponsor_update_preferences", token=token)
        if action == "resume":
            try:
                services.subscription_resume(subscription=subscription, as_of=now)
            except RuleViolation as error:
                messages.error(request, error.message)
            else:
                messages.success(request, "Your updates will come again.")
            return redirect("sponsor_update_preferences", token=token)
        form = SubscriptionEditForm(request.POST)
        if form.is_valid() and subscription.is_active:
            try:
                services.subscription_update(
                    actor=None, subscription=subscription, spec=form.schedule(), is_active=True, as_of=now
                )
            except (ValidationError, RuleViolation) as error:
                form_add_service_errors(form, error)
            else:
                messages.success(request, "Your preferences are saved.")
                return redirect("sponsor_update_preferences", token=token)
        status = 400
    context = {
        "subscription": subscription,
        "form": form,
        "token": token,
        "next_local": _local(subscription.next_send_at, subscription.time_zone),
    }
    return render(request, "sponsor_updates/preferences.html", context, status=status)


# RFC 8058: a mail client posts "List-Unsubscribe=One-Click" with no session and no CSRF token;
# the link's signature is the permission, and the POST does nothing but unsubscribe.
@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def sponsor_update_unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    subscription = _subscription_for(request, Purpose.UNSUBSCRIBE, token)
    if isinstance(subscription, HttpResponse):
        return subscription
    done = False
    if request.method == "POST":
        services.subscription_unsubscribe(subscription_id=subscription.pk, as_of=timezone.now())
        done = True
    context = {"subscription": subscription, "token": token, "done": done or not subscription.is_active}
    return render(request, "sponsor_updates/unsubscribe.html", context)


@never_cache
@require_POST
def sponsor_update_new_link(request: HttpRequest) -> HttpResponse:
    form = NewLinkForm(request.POST)
    if form.is_valid():
        target = None
        token = form.cleaned_data["token"]
        if token:
            try:
                target = link_read(Purpose.PREFERENCES, token)
            except LinkRefused as refused:
                target = refused.target if refused.expired else None
            if target is None:
                for purpose in (Purpose.VIEW, Purpose.ACKNOWLEDGE, Purpose.UNSUBSCRIBE):
                    try:
                        target = link_read(purpose, token)
                    except LinkRefused as refused:
                        target = refused.target if refused.expired else None
                    if target is not None:
                        break
        services.link_request(email=form.cleaned_data["email"], target=target, as_of=timezone.now())
        # The same answer whether or not anything was sent, so the page reveals no address.
        return render(request, "sponsor_updates/link_sent.html")
    return render(request, "sponsor_updates/link_problem.html", {"form": form, "expired": False}, status=400)

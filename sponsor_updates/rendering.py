"""A sponsor update as mail: subject, HTML with inline styles, plain text, and list headers.

The same renderer serves the sweep, "send now", the team's preview and the
recipient's "view online" page, so each shows exactly what the mail holds.
The HTML part is written with a style sheet in its head and inlined by
css-inline (mail clients drop style sheets); it has no scripts and no remote
images, and every link is absolute to ``SITE_URL``. Headers are built from
fixed text and signed tokens only; names and subjects are folded onto one
line, so no name a user typed can start a header of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import formataddr, parseaddr
from typing import Any
from urllib.parse import quote, urlsplit

import css_inline
from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone

from communications.models import Delivery, SponsorSubscription
from sponsor_updates import schedule
from sponsor_updates.links import LinkTarget, Purpose, link_token, link_url
from sponsor_updates.schedule import Period
from sponsor_updates.selectors import UpdateContent, update_contents
from sponsor_updates.summary import summary_draft

_INLINER = css_inline.CSSInliner(load_remote_stylesheets=False)


@dataclass(frozen=True)
class RenderedUpdate:
    subject: str
    text: str
    html: str
    headers: dict[str, str]


def one_line(value: str) -> str:
    """Text made safe for a header: every run of whitespace (CR and LF included) becomes one space."""
    return " ".join(value.split())


def period_label(period: Period) -> str:
    last = period.end - timedelta(days=1)
    if last <= period.start:
        return f"{period.end:%-d %b %Y}"
    if period.start.year != last.year:
        return f"{period.start:%-d %b %Y} – {last:%-d %b %Y}"
    if period.start.month != last.month:
        return f"{period.start:%-d %b} – {last:%-d %b %Y}"
    return f"{period.start:%-d}–{last:%-d %b %Y}"


def update_subject(content: UpdateContent) -> str:
    parts = [one_line(content.engagement_name), f"status update {period_label(content.period)}"]
    if content.health_label:
        parts.append(f"health {content.health_label.lower()}")
    return " — ".join(parts)


def recipient_address(name: str, email: str) -> str:
    return formataddr((one_line(name), email)) if name.strip() else email


def _site_host() -> str:
    return urlsplit(settings.SITE_URL).hostname or "localhost"


def _list_headers(content: UpdateContent, unsubscribe_token: str, unsubscribe_url: str) -> dict[str, str]:
    sender = parseaddr(settings.DEFAULT_FROM_EMAIL)[1] or f"tracker@{_site_host()}"
    code = "".join(ch for ch in content.engagement_code.lower() if ch.isalnum() or ch == "-") or "engagement"
    mailto = f"mailto:{sender}?subject={quote('unsubscribe ' + unsubscribe_token)}"
    return {
        "List-Id": f"{code} status updates <{code}.updates.{_site_host()}>",
        "List-Unsubscribe": f"<{mailto}>, <{unsubscribe_url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "Auto-Submitted": "auto-generated",
    }


def update_render(
    *, content: UpdateContent, target: LinkTarget, summary: str = "", late: bool = False, online: bool = False
) -> RenderedUpdate:
    """The update for ``target``'s subscription (and delivery, for its "view online" link).

    ``summary`` opens it (the lead's, or the automatic draft); ``late`` says
    it goes after its time because it waited for approval. ``online``
    renders the HTML for the web page instead: the same content in the
    site's layout is the view's job, so it only drops the mail's own "view
    online" line.
    """
    unsubscribe_token = link_token(Purpose.UNSUBSCRIBE, target)
    unsubscribe_url = link_url(Purpose.UNSUBSCRIBE, target, unsubscribe_token)
    links = {
        "online": link_url(Purpose.VIEW, target) if target.delivery_id is not None else "",
        "acknowledge": link_url(Purpose.ACKNOWLEDGE, target) if target.delivery_id is not None else "",
        "preferences": link_url(Purpose.PREFERENCES, target),
        "unsubscribe": unsubscribe_url,
    }
    context: dict[str, Any] = {
        "update": content,
        "summary": summary,
        "late": late,
        "subject": update_subject(content),
        "period": period_label(content.period),
        "links": links,
        "online": online,
        "site_url": settings.SITE_URL,
    }
    with timezone.override(content.time_zone):
        html = render_to_string("sponsor_updates/email/update.html", context)
        text = render_to_string("sponsor_updates/email/update.txt", context)
    return RenderedUpdate(
        subject=context["subject"],
        text=text,
        html=_INLINER.inline(html),
        headers=_list_headers(content, unsubscribe_token, unsubscribe_url),
    )


@dataclass(frozen=True)
class PreviewedUpdate:
    content: UpdateContent
    rendered: RenderedUpdate
    summary: str


def lead_draft(subscription: SponsorSubscription) -> Delivery | None:
    """The subscription's next update not yet sent whose summary a lead wrote; None when none did.

    "Send now" opens with that summary rather than a draft: it is what the
    lead wants this sponsor to read first.
    """
    return (
        Delivery.objects.filter(
            subscription=subscription, ad_hoc_key="", outbox_message__isnull=True, summary_by__isnull=False
        )
        .exclude(summary="")
        .order_by("-scheduled_for", "-pk")
        .first()
    )


def lead_summary(subscription: SponsorSubscription) -> str:
    draft = lead_draft(subscription)
    return draft.summary if draft is not None else ""


def update_preview(*, subscription: SponsorSubscription, as_of: datetime) -> PreviewedUpdate:
    """The update "send now" would mail at ``as_of``: one cadence up to today; a read, it writes nothing.

    It opens with the lead's summary of the next update when they wrote one
    (``lead_summary``), else with a draft of this period.
    """
    period = schedule.period_up_to(subscription, as_of=as_of)
    contents = update_contents(subscriptions=[subscription], periods={subscription.pk: period}, as_of=as_of)
    content = contents[subscription.pk]
    summary = lead_summary(subscription) or summary_draft(content)
    return PreviewedUpdate(
        content=content,
        rendered=update_render(
            content=content, target=LinkTarget(subscription_id=subscription.pk), summary=summary
        ),
        summary=summary,
    )

"""Routes of sponsor updates: the team's subscription pages, and the recipient's signed-link pages."""

from typing import Any

from tests.route_kinds import Entry, ObjectRoute, Public, RecipientLinkRoute

_SECTION = "communications.SponsorSubscription"


def _subscription_kwargs(subscription: Any) -> dict[str, Any]:
    return {"pk": subscription.engagement_id, "subscription_pk": subscription.pk}


def _delivery_kwargs(delivery: Any) -> dict[str, Any]:
    return {"pk": delivery.subscription.engagement_id, "delivery_pk": delivery.pk}


ROUTES: dict[str, Entry] = {
    "engagement_updates": ObjectRoute("engagement", section=_SECTION),
    "engagement_update_history": ObjectRoute("engagement", section=_SECTION),
    "subscription_add": ObjectRoute("engagement", method="post", section=_SECTION),
    "subscription_edit": ObjectRoute("subscription", url_kwargs=_subscription_kwargs),
    "subscription_preview": ObjectRoute("subscription", url_kwargs=_subscription_kwargs),
    # Without the form's request key nothing is sent.
    "subscription_send_now": ObjectRoute("subscription", method="post", url_kwargs=_subscription_kwargs),
    # Without a summary nothing is saved; a consultant who is not the lead is refused (403).
    "subscription_summary": ObjectRoute("subscription", method="post", url_kwargs=_subscription_kwargs),
    "delivery_review": ObjectRoute("delivery", url_kwargs=_delivery_kwargs, section=_SECTION),
    "delivery_approve": ObjectRoute("delivery", method="post", url_kwargs=_delivery_kwargs, section=_SECTION),
    "sponsor_update_online": RecipientLinkRoute(),
    "sponsor_update_preferences": RecipientLinkRoute(),
    "sponsor_update_unsubscribe": RecipientLinkRoute(),
    "sponsor_update_acknowledge": RecipientLinkRoute(),
    # Answers the same page whatever address it is given.
    "sponsor_update_new_link": Public(method="post"),
}

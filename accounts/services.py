"""Writes to a user's own account: name, time zone, a new email address confirmed from its inbox,
the password, and the sessions they are logged in with."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import import_module

from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.sessions.backends.base import SessionBase
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse

from accounts.models import User, UserSession
from pmaas.errors import RuleViolation
from pmaas.validation import clean_instance

EMAIL_CHANGE_SALT = "accounts.email_change"
# Long enough to find the mail after a weekend; short enough that a forgotten link goes stale.
EMAIL_CHANGE_MAX_AGE = timedelta(days=3)


@dataclass(frozen=True)
class PreferencesSaved:
    """What saving one's settings did: the account, and the address a confirmation link went to, if any."""

    user: User
    confirmation_sent_to: str = ""


@transaction.atomic
def user_update_preferences(
    *, user: User, first_name: str, last_name: str, email: str, time_zone: str
) -> PreferencesSaved:
    """Change a user's own name and time zone, and ask to change their email address.

    Rule: the time zone must be an IANA name (the model's validator). A new
    email address is not taken over at once: a link to confirm it is mailed
    to that address (after commit), and the address changes only when it is
    opened (``user_confirm_email_change``). The answer is the same whether or
    not another account uses the address, so the page reveals nobody's
    address, and nobody takes over an address whose inbox is not theirs.
    Clearing the address takes effect at once. Every role may change its own
    preferences, a client PMO lead included. Idempotent: saving the same
    values twice leaves the row as it was (and mails the link again).
    """
    locked = User.objects.select_for_update().get(pk=user.pk)
    locked.first_name = first_name.strip()
    locked.last_name = last_name.strip()
    locked.time_zone = time_zone.strip()
    requested = email.strip()
    changes_address = bool(requested) and requested.lower() != locked.email.lower()
    if not requested:
        locked.email = ""
    clean_instance(locked)
    locked.save(update_fields=["first_name", "last_name", "email", "time_zone"])
    # The caller's instance (request.user) shows the new values for the rest of the request.
    for name in ("first_name", "last_name", "email", "time_zone"):
        setattr(user, name, getattr(locked, name))
    if changes_address:
        token = signing.dumps(
            {"user": locked.pk, "email": requested, "was": locked.email}, salt=EMAIL_CHANGE_SALT
        )
        transaction.on_commit(lambda: _send_email_change_link(user=locked, address=requested, token=token))
    return PreferencesSaved(user=locked, confirmation_sent_to=requested if changes_address else "")


def _send_email_change_link(*, user: User, address: str, token: str) -> None:
    # Like a password reset, this mail is for an address no account holds yet,
    # so it goes straight to the mail server rather than through the outbox,
    # which delivers to users (and sits in a layer above this one).
    context = {
        "user": user,
        "address": address,
        "url": settings.SITE_URL + reverse("email_change_confirm", kwargs={"token": token}),
        "days": EMAIL_CHANGE_MAX_AGE.days,
    }
    subject = " ".join(render_to_string("accounts/email_change_subject.txt", context).split())
    body = render_to_string("accounts/email_change.txt", context)
    send_mail(subject, body, None, [address])


def email_change_read(*, user: User, token: str) -> str:
    """The address a confirmation link offers ``user``; ValidationError when the link is not good for them.

    A link is good for the account it was sent for, within EMAIL_CHANGE_MAX_AGE,
    while the account still has the address it had when the link was sent.
    """
    try:
        request = signing.loads(token, salt=EMAIL_CHANGE_SALT, max_age=EMAIL_CHANGE_MAX_AGE)
    except signing.BadSignature:
        raise ValidationError(
            "This link is not valid or has expired; change the address in your settings again.",
            code="bad_link",
        ) from None
    if request.get("user") != user.pk or request.get("was") != user.email:
        raise ValidationError("This link is not for this account, or has already been used.", code="bad_link")
    return str(request["email"])


@transaction.atomic
def user_confirm_email_change(*, user: User, token: str) -> User:
    """Make the address a confirmation link names the account's own.

    Refused (ValidationError) when the link is not good for this account
    (``email_change_read``), or when another account uses the address by
    then: password reset finds accounts by address, so two may not share one.
    Only whoever opened the mail sent to that address learns the latter.
    Not idempotent: a used link no longer matches the account's address.
    """
    locked = User.objects.select_for_update().get(pk=user.pk)
    address = email_change_read(user=locked, token=token)
    if User.objects.filter(email__iexact=address).exclude(pk=locked.pk).exists():
        raise ValidationError(
            "This address already belongs to another account, so it cannot be added to this one.",
            code="taken",
        )
    locked.email = address
    clean_instance(locked)
    locked.save(update_fields=["email"])
    user.email = locked.email
    return locked


# --- Sessions: where a user is logged in ---------------------------------------------------------


def session_record(
    *, user: User, session_key: str, user_agent: str, ip_address: str | None, as_of: datetime
) -> UserSession:
    """Note that ``user`` logged in on the session ``session_key``, from this browser and address.

    Called by the login page once the session holds the user. Idempotent:
    the same key again changes the row, not the number of rows.
    """
    session, _ = UserSession.objects.update_or_create(
        session_key=session_key,
        defaults={"user": user, "user_agent": user_agent[:300], "ip_address": ip_address},
        create_defaults={
            "user": user,
            "user_agent": user_agent[:300],
            "ip_address": ip_address,
            "created_at": as_of,
        },
    )
    return session


def session_renewed(*, old_key: str | None, new_key: str | None) -> None:
    """The session got a new key (a password change renews it): its row follows. Idempotent."""
    if old_key and new_key and old_key != new_key:
        UserSession.objects.filter(session_key=old_key).update(session_key=new_key)


def _session_store() -> type[SessionBase]:
    store: type[SessionBase] = import_module(settings.SESSION_ENGINE).SessionStore
    return store


def session_end(*, user: User, session: UserSession) -> None:
    """Log ``user`` out of one of their sessions: the store forgets it, and so does the list.

    A session of someone else is refused (the caller found it in the user's
    own scope, so this only guards against misuse). Idempotent.
    """
    if session.user_id != user.pk:
        raise RuleViolation("That session is not yours.")
    _session_store()().delete(session.session_key)
    UserSession.objects.filter(pk=session.pk).delete()


def sessions_end_others(*, user: User, current_key: str | None) -> int:
    """Log ``user`` out everywhere but the session ``current_key``; returns how many ended."""
    others = list(UserSession.objects.filter(user=user).exclude(session_key=current_key or ""))
    store = _session_store()()
    for other in others:
        store.delete(other.session_key)
    UserSession.objects.filter(pk__in=[other.pk for other in others]).delete()
    return len(others)


@transaction.atomic
def password_change(*, user: User, old_password: str, new_password: str, current_key: str | None) -> User:
    """Change one's own password: the old one must be right and the new one pass the validators.

    Field errors as ValidationError (``old_password``, ``new_password``).
    Every other session of the user ends (the store forgets them), so a
    browser left logged in elsewhere is out; the caller keeps theirs
    (``update_session_auth_hash``). Not idempotent: the old password no
    longer matches afterwards.
    """
    locked = User.objects.select_for_update().get(pk=user.pk)
    if not locked.check_password(old_password):
        raise ValidationError({"old_password": "That is not your current password."})
    try:
        password_validation.validate_password(new_password, locked)
    except ValidationError as exc:
        raise ValidationError({"new_password": exc.messages}) from None
    locked.set_password(new_password)
    locked.save(update_fields=["password"])
    user.password = locked.password
    sessions_end_others(user=locked, current_key=current_key)
    return locked


def user_remember_filters(*, user: User, page: str, filters: dict[str, str]) -> User:
    """Keep ``filters`` as the user's last choice on the dashboard ``page``; empty ``filters`` forgets it.

    The filters come from a page's validated form (names and values as the
    query string carries them). One UPDATE of the user's own row, none when
    nothing changed, so opening a page repeatedly writes nothing. Idempotent.
    """
    remembered = dict(user.page_filters or {})
    if remembered.get(page, {}) == filters:
        return user
    if filters:
        remembered[page] = filters
    else:
        remembered.pop(page, None)
    User.objects.filter(pk=user.pk).update(page_filters=remembered)
    user.page_filters = remembered
    return user

from typing import Any, ClassVar, Self, TypeVar

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q

from pmaas.timezones import validate_time_zone


class User(AbstractUser):
    """A person who logs in: someone of the PMaaS firm, or a client's PMO lead."""

    class Role(models.TextChoices):
        ADMINISTRATOR = "administrator", "Administrator"
        PRACTICE_LEAD = "practice_lead", "Practice lead"
        CONSULTANT = "consultant", "Consultant"
        CLIENT = "client", "Client PMO lead"

    role = models.CharField(max_length=20, choices=Role.choices, default=Role.CONSULTANT)
    # Only client users are bound to a client; they see that client's engagements.
    client = models.ForeignKey(
        "engagements.Client",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="users",
    )
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    # The last filters chosen on each dashboard, by page name, so a page opens as it was left,
    # on any browser and after logging out. Written by accounts.services.user_remember_filters only.
    page_filters = models.JSONField(default=dict, blank=True, help_text="Last filters per dashboard.")

    class Meta:
        ordering = ["last_name", "first_name", "username"]
        constraints = [
            # A client user without a client would see nothing, and a firm user
            # with one would be ambiguous: the database keeps the pair consistent.
            models.CheckConstraint(
                condition=(Q(role="client") & Q(client__isnull=False))
                | (~Q(role="client") & Q(client__isnull=True)),
                name="user_client_iff_client_role",
            ),
        ]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def is_administrator(self) -> bool:
        return self.is_superuser or self.role == self.Role.ADMINISTRATOR

    @property
    def sees_all_engagements(self) -> bool:
        return self.is_active and (self.is_administrator or self.role == self.Role.PRACTICE_LEAD)

    @property
    def is_firm_member(self) -> bool:
        return self.role != self.Role.CLIENT


M = TypeVar("M", bound=models.Model)


class OwnRowsQuerySet(models.QuerySet[M]):
    """Rows addressed to one user: each user sees their own, administrators see everyone's.

    The scope of calendar feeds, notification preferences and outbound
    messages; ``owner_field`` names the column that holds the user.
    """

    owner_field: ClassVar[str] = "user"

    def visible_to(self, user: User | Any) -> Self:
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_administrator:
            return self.all()
        return self.filter(**{self.owner_field: user})


class CalendarFeedQuerySet(OwnRowsQuerySet["CalendarFeed"]):
    owner_field = "owner"

    def active(self) -> Self:
        return self.filter(revoked_at__isnull=True)


class CalendarFeed(models.Model):
    """A secret URL a calendar client subscribes to: the owner's due check-ins, or one engagement's.

    Only the SHA-256 of the secret is stored, so a leaked database does not leak
    working feed URLs; the secret is shown once, when the feed is created.
    """

    owner = models.ForeignKey(User, on_delete=models.CASCADE, related_name="calendar_feeds")
    # Empty for the owner's personal feed (the channels they own, on every engagement they see).
    engagement = models.ForeignKey(
        "engagements.Engagement",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="calendar_feeds",
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    objects = CalendarFeedQuerySet.as_manager()

    class Meta:
        ordering = ["owner", "created_at"]
        constraints = [
            # NULLs are distinct in a unique constraint, and nulls_distinct is
            # PostgreSQL-only: the personal feed needs a constraint of its own.
            models.UniqueConstraint(
                fields=["owner", "engagement"],
                condition=Q(revoked_at__isnull=True, engagement__isnull=False),
                name="calendar_feed_one_active_per_engagement",
                violation_error_message="This engagement already has an active feed for this user.",
            ),
            models.UniqueConstraint(
                fields=["owner"],
                condition=Q(revoked_at__isnull=True, engagement__isnull=True),
                name="calendar_feed_one_active_personal",
                violation_error_message="This user already has an active personal feed.",
            ),
        ]

    def __str__(self) -> str:
        scope = self.engagement.code if self.engagement_id and self.engagement else "personal"
        return f"Calendar feed of {self.owner} ({scope})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class UserSessionQuerySet(OwnRowsQuerySet["UserSession"]):
    pass


class UserSession(models.Model):
    """A browser a user logged in on: the session's key, the browser, the address and when.

    Written by the login page (and moved to the new key when a password
    change renews the session), so the user can see where they are logged in
    and end the sessions they do not recognise. The session itself lives in
    the session store; a row whose session is gone names nothing.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="sessions")
    session_key = models.CharField(max_length=40, unique=True)
    user_agent = models.CharField(max_length=300, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField()

    objects = UserSessionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "-created_at", "-id"], name="user_session_recent")]

    def __str__(self) -> str:
        return f"Session of {self.user} since {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def browser(self) -> str:
        """The browser and system in a few words ("Firefox on Windows"), from the User-Agent header."""
        agent = self.user_agent
        name = next((label for token, label in _BROWSERS if token in agent), "A browser")
        system = next((label for token, label in _SYSTEMS if token in agent), "")
        return f"{name} on {system}" if system else name


# First match wins: Edge and Chrome both say "Chrome", Chrome says "Safari".
_BROWSERS = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
    ("curl/", "curl"),
)
_SYSTEMS = (
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Android", "Android"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)

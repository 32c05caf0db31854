"""A deterministic demo portfolio: four clients, twelve engagements and four months of history.

Every row is written through the services, so the demo obeys the rules real data
obeys; only the models without a service (change requests, a milestone's
completion, a stakeholder's login) are written through the ORM after
full_clean(). Dates hang off today's date and the random choices off a fixed
seed, so each run on a given day builds the same portfolio.

The history is replayed in time order: the dispatcher, the meetings, follow-ups
done, the overdue sweep, and the sponsor-update sweep (``updates_sweep``) at
each update's send time, so every update holds what its recipient would have
read then. Each update the sweep writes is sent at once by the outbox's own
``outbox_send`` at that moment, to Django's dummy mail backend: the outbox
records it sent when it would have gone, and a fresh ``./run`` prints no old
mail. Updates due since midnight are left to the beat, and one sponsor's send
time is set just before the load, so the first minutes of ``./run`` mail one.
"""

from __future__ import annotations

import heapq
import random
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

from django.contrib.auth.password_validation import validate_password
from django.core.mail import get_connection
from django.db import transaction
from django.db.models import F, Min, Q
from django.utils import timezone

from accounts.models import User
from communications import recurrence
from communications.escalation import follow_ups_notify_overdue
from communications.health import engagements_recompute_health, health_refresh_deferred, health_refresh_flush
from communications.models import (
    Channel,
    ChannelKind,
    CheckIn,
    Delivery,
    FollowUp,
    RaidItem,
    SponsorSubscription,
)
from communications.raid import (
    RaidFields,
    raid_assumption_validate,
    raid_decisions_file_from_check_in,
    raid_item_create,
    raid_item_transition,
    raid_reviews_flag,
)
from communications.rollups import weekly_rollups_deferred, weekly_rollups_refresh, weeks_ending
from communications.scheduling import occurrences_dispatch, occurrences_mark_due, occurrences_mark_missed
from communications.services import (
    FollowUpSpec,
    channel_create,
    check_in_log,
    follow_up_comment_add,
    follow_up_complete,
    follow_up_create,
    follow_up_due_at,
    follow_ups_flag_overdue,
)
from communications.silence import silences_flag
from communications.trends import TREND_WEEKS
from engagements.models import ChangeRequest, Client, Engagement, Membership, Milestone
from engagements.services import (
    client_create,
    engagement_create,
    engagement_override_health,
    membership_add,
    milestone_create,
)
from notifications.models import Notification, OutboxMessage
from notifications.outbox import outbox_send
from pmaas.validation import clean_instance
from search.services import search_documents_refresh
from sponsor_updates.services import (
    SENDING_STATUSES,
    SubscriptionSchedule,
    delivery_acknowledge,
    subscription_unsubscribe,
    subscription_update,
    subscriptions_ensure_for_sponsors,
    updates_sweep,
)
from stakeholders.models import Level, Scale, Stakeholder, StakeholderRole
from stakeholders.services import stakeholder_add_to_engagement, stakeholder_create

# Long enough to pass Django's password validators, short enough to type in a demo.
DEMO_PASSWORD = "pmaas-demo-2026"  # noqa: S105
SEED = 2026
HISTORY_DAYS = 120

Kind = Engagement.Kind
Status = Engagement.Status
Role = User.Role
Weekday = SponsorSubscription.Weekday


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: str
    sees: str


@dataclass(frozen=True)
class DemoResult:
    outcome: Literal["created", "present", "refused"]
    logins: list[DemoLogin]


@dataclass(frozen=True)
class _Person:
    username: str
    first_name: str
    last_name: str
    role: str
    time_zone: str
    client: str = ""


@dataclass(frozen=True)
class _Contact:
    key: str
    name: str
    title: str
    department: str
    time_zone: str = ""
    login: str = ""


@dataclass(frozen=True)
class _Client:
    name: str
    time_zone: str
    country: str
    domain: str
    contacts: tuple[_Contact, ...]
    # A holidays subdivision code; blank takes the country's default (client_create).
    holiday_subdivision: str = ""


@dataclass(frozen=True)
class _Plan:
    code: str
    client: str
    name: str
    description: str
    kind: str
    budget: int
    currency: str
    starts: int
    ends: int
    status: str
    lead: str
    consultants: tuple[str, ...]
    pmo: str
    sponsors: tuple[str, ...]
    leaders: tuple[str, ...]
    topics: tuple[str, ...]
    # Strained lately: fewer meetings held, more negative sentiment, more overdue items.
    troubled: bool = False
    # The sponsors stopped turning up and unsubscribed from the status updates.
    silent_sponsor: bool = False


@dataclass(frozen=True)
class _Cadence:
    audience: str
    kind: str
    title: str
    rule: str
    local_time: time


RK = "Rheinland Kliniken Gruppe"
HP = "Harbor Precision Manufacturing"
TR = "Thistle & Rowe Retail"
CT = "Coastal Regions Transport Agency"

PEOPLE = (
    _Person("admin", "Morgan", "Ellis", Role.ADMINISTRATOR, "Europe/London"),
    _Person("practice", "Helena", "Brandt", Role.PRACTICE_LEAD, "Europe/Berlin"),
    _Person("lead", "Lukas", "Meyer", Role.CONSULTANT, "Europe/Berlin"),
    _Person("consultant", "Sara", "Lindqvist", Role.CONSULTANT, "Europe/Berlin"),
    _Person("amara", "Amara", "Okafor", Role.CONSULTANT, "Europe/London"),
    _Person("daniel", "Daniel", "Reyes", Role.CONSULTANT, "America/New_York"),
    _Person("mei", "Mei", "Tanaka", Role.CONSULTANT, "Australia/Sydney"),
    _Person("raj", "Rajesh", "Iyer", Role.CONSULTANT, "Asia/Kolkata"),
    _Person("client", "Katrin", "Albers", Role.CLIENT, "Europe/Berlin", client=RK),
)

CLIENTS = (
    _Client(
        RK,
        "Europe/Berlin",
        "DE",
        "rheinland-kliniken.example",
        (
            _Contact("rk-pmo", "Dr. Katrin Albers", "Head of PMO", "Transformation Office", login="client"),
            _Contact("rk-cmo", "Prof. Dr. Annette Krüger", "Chief Medical Officer", "Medical Board"),
            _Contact("rk-cfo", "Markus Hoffmann", "Chief Financial Officer", "Finance"),
            _Contact("rk-nursing", "Birgit Schäfer", "Head of Nursing", "Nursing"),
            _Contact("rk-cio", "Thomas Becker", "Chief Information Officer", "IT"),
            _Contact("rk-coo", "Stefan Wolf", "Chief Operating Officer", "Operations"),
            _Contact("rk-quality", "Dr. Julia Neumann", "Head of Quality & Patient Safety", "Quality"),
        ),
        holiday_subdivision="NW",
    ),
    _Client(
        HP,
        "America/New_York",
        "US",
        "harborprecision.example",
        (
            _Contact("hp-pmo", "Jennifer Walsh", "PMO Director", "Enterprise PMO"),
            _Contact("hp-cfo", "Robert Chen", "Chief Financial Officer", "Finance"),
            _Contact("hp-coo", "Michael O'Brien", "Chief Operating Officer", "Operations"),
            _Contact("hp-cio", "Patricia Gomez", "Chief Information Officer", "IT"),
            _Contact("hp-product", "Kevin Park", "VP Product Management", "Product"),
            _Contact("hp-supply", "Laura Simmons", "VP Supply Chain", "Supply Chain"),
            _Contact("hp-pune", "Anil Deshmukh", "Plant Director, Pune", "Manufacturing", "Asia/Kolkata"),
        ),
    ),
    _Client(
        TR,
        "Europe/London",
        "GB",
        "thistleandrowe.example",
        (
            _Contact("tr-pmo", "Fiona MacLeod", "Head of Programme Management", "Change Office"),
            _Contact("tr-cco", "Oliver Bennett", "Chief Commercial Officer", "Commercial"),
            _Contact("tr-cfo", "Priya Shah", "Chief Financial Officer", "Finance"),
            _Contact("tr-cto", "Gareth Hughes", "Chief Technology Officer", "Technology"),
            _Contact("tr-customer", "Emma Clarke", "Customer Director", "Customer & Loyalty"),
            _Contact("tr-stores", "Daniel Murphy", "Retail Operations Director", "Stores"),
        ),
        holiday_subdivision="ENG",
    ),
    _Client(
        CT,
        "Australia/Sydney",
        "AU",
        "crta.example",
        (
            _Contact("ct-pmo", "Rebecca Nguyen", "Director, Portfolio Office", "Corporate Strategy"),
            _Contact("ct-deputy", "Andrew Campbell", "Deputy Secretary", "Executive"),
            _Contact("ct-cfo", "Sarah Mitchell", "Chief Financial Officer", "Corporate Services"),
            _Contact("ct-cio", "David Kumar", "Chief Information Officer", "Digital Services"),
            _Contact("ct-compliance", "Megan Taylor", "Director, Regulatory Compliance", "Legal"),
            _Contact("ct-customer", "James O'Connor", "Executive Director, Customers", "Operations"),
        ),
    ),
)

# starts and ends count days from today, so the portfolio is always mid-flight.
ENGAGEMENTS = (
    _Plan(
        code="EHR-2026", client=RK, name="EHR rollout across five hospitals", kind=Kind.IMPLEMENTATION,
        description="Replace the paper chart and three legacy systems with one electronic health record.",
        budget=4_800_000, currency="EUR", starts=-330, ends=240, status=Status.ACTIVE,
        lead="lead", consultants=("consultant",),
        pmo="rk-pmo", sponsors=("rk-cmo", "rk-cfo"), leaders=("rk-nursing", "rk-cio", "rk-coo"),
        topics=("the pharmacy interface", "nurse super-user training", "the ward-by-ward go-live sequence",
                "downtime procedures"),
    ),
    _Plan(
        code="CDW-2026", client=RK, name="Clinical data warehouse", kind=Kind.IMPLEMENTATION,
        description="One source of truth for clinical and operational reporting across the group.",
        budget=1_350_000, currency="EUR", starts=-150, ends=210, status=Status.ACTIVE,
        lead="lead", consultants=("amara",),
        pmo="rk-pmo", sponsors=("rk-cio",), leaders=("rk-quality", "rk-coo"),
        topics=("the clinical data model", "data-protection approval", "the readmissions dashboard",
                "source-system extracts"),
    ),
    _Plan(
        code="QRR-2027", client=RK, name="Quality and regulatory reporting", kind=Kind.TRANSFORMATION,
        description="Automate the statutory quality reports the hospitals submit each quarter.",
        budget=620_000, currency="EUR", starts=21, ends=300, status=Status.PLANNED,
        lead="lead", consultants=(),
        pmo="rk-pmo", sponsors=("rk-cmo",), leaders=("rk-quality", "rk-cio"),
        topics=("the quality indicator catalogue", "the reporting calendar", "data ownership"),
    ),
    _Plan(
        code="ERP-S4", client=HP, name="ERP upgrade to SAP S/4HANA", kind=Kind.UPGRADE,
        description="Move finance, procurement and production planning off the ageing ECC system.",
        budget=6_200_000, currency="USD", starts=-270, ends=180, status=Status.ACTIVE,
        lead="daniel", consultants=("consultant", "raj"),
        pmo="hp-pmo", sponsors=("hp-cfo", "hp-coo"), leaders=("hp-cio", "hp-supply", "hp-pune"),
        topics=("data migration", "the finance cut-over", "custom code remediation",
                "the Pune plant rollout"),
        troubled=True, silent_sponsor=True,
    ),
    _Plan(
        code="PLL-EDRIVE", client=HP, name="E-drive pump product-line launch", kind=Kind.LAUNCH,
        description="Bring the new electric pump family from pilot production to market in two regions.",
        budget=2_100_000, currency="USD", starts=-120, ends=150, status=Status.ACTIVE,
        lead="daniel", consultants=("raj",),
        pmo="hp-pmo", sponsors=("hp-product",), leaders=("hp-pune", "hp-coo"),
        topics=("pilot production", "supplier qualification", "the launch pricing", "service documentation"),
    ),
    _Plan(
        code="MES-2026", client=HP, name="Plant MES integration", kind=Kind.INTEGRATION,
        description="Connect the manufacturing execution systems of four plants to the new ERP.",
        budget=1_800_000, currency="USD", starts=-200, ends=330, status=Status.ON_HOLD,
        lead="raj", consultants=("daniel",),
        pmo="hp-pmo", sponsors=("hp-coo",), leaders=("hp-pune", "hp-cio"),
        topics=("the shop-floor interfaces", "the pilot line", "network segmentation"),
    ),
    _Plan(
        code="CRM-2026", client=TR, name="CRM migration to Dynamics 365", kind=Kind.UPGRADE,
        description="Move loyalty, contact centre and marketing onto one CRM.",
        budget=1_450_000, currency="GBP", starts=-180, ends=90, status=Status.ACTIVE,
        lead="amara", consultants=("consultant",),
        pmo="tr-pmo", sponsors=("tr-cco",), leaders=("tr-customer", "tr-cto", "tr-cfo"),
        topics=("loyalty data migration", "the contact-centre rollout", "consent records",
                "the Dynamics integration"),
    ),
    _Plan(
        code="ECOM-2026", client=TR, name="E-commerce replatforming", kind=Kind.IMPLEMENTATION,
        description="Replace the in-house web shop before the next peak season.",
        budget=2_750_000, currency="GBP", starts=-60, ends=365, status=Status.ACTIVE,
        lead="amara", consultants=("mei",),
        pmo="tr-pmo", sponsors=("tr-cco", "tr-cfo"), leaders=("tr-cto", "tr-stores"),
        topics=("the checkout redesign", "the product catalogue", "payment provider selection",
                "peak-season readiness"),
    ),
    _Plan(
        code="OWN-LABEL", client=TR, name="Own-label homeware launch", kind=Kind.LAUNCH,
        description="Launch an own-label homeware range in 120 stores and online.",
        budget=480_000, currency="GBP", starts=-400, ends=-35, status=Status.CLOSED,
        lead="amara", consultants=(),
        pmo="tr-pmo", sponsors=("tr-cco",), leaders=("tr-stores", "tr-cfo"),
        topics=("supplier samples", "the store launch", "packaging approval"),
    ),
    _Plan(
        code="CMS-2026", client=CT, name="Case management system", kind=Kind.IMPLEMENTATION,
        description="Replace the licensing and enforcement case systems with one platform.",
        budget=3_900_000, currency="AUD", starts=-240, ends=300, status=Status.ACTIVE,
        lead="mei", consultants=("lead",),
        pmo="ct-pmo", sponsors=("ct-deputy",), leaders=("ct-cio", "ct-customer", "ct-cfo"),
        topics=("the integration platform tender", "case data migration", "caseworker training",
                "the privacy impact assessment"),
        troubled=True,
    ),
    _Plan(
        code="REG-2026", client=CT, name="Regulatory reporting modernisation", kind=Kind.TRANSFORMATION,
        description="Meet the new national reporting standard with automated submissions.",
        budget=950_000, currency="AUD", starts=-100, ends=200, status=Status.ACTIVE,
        lead="mei", consultants=("consultant",),
        pmo="ct-pmo", sponsors=("ct-deputy", "ct-cfo"), leaders=("ct-compliance", "ct-cio"),
        topics=("the new reporting standard", "the audit trail", "submission automation"),
    ),
    _Plan(
        code="DWH-2027", client=CT, name="Enterprise data warehouse", kind=Kind.IMPLEMENTATION,
        description="A governed analytics platform for network, safety and customer data.",
        budget=2_300_000, currency="AUD", starts=45, ends=500, status=Status.PLANNED,
        lead="raj", consultants=("mei",),
        pmo="ct-pmo", sponsors=("ct-cio",), leaders=("ct-compliance", "ct-customer"),
        topics=("the source-system inventory", "the cloud hosting decision", "data governance"),
    ),
)  # fmt: skip

CADENCES = (
    _Cadence("pmo", ChannelKind.VIDEO, "Weekly PMO sync", "FREQ=WEEKLY;BYDAY=TU", time(9, 30)),
    _Cadence("sponsor", ChannelKind.MEETING, "Sponsor one-to-one",
             "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH", time(16)),
    _Cadence("steering", ChannelKind.STEERING_COMMITTEE, "Steering committee",
             "FREQ=MONTHLY;BYDAY=1TU", time(14)),
    _Cadence("leader", ChannelKind.CALL, "Monthly check-in call", "FREQ=MONTHLY;BYDAY=2MO", time(11)),
    _Cadence("leader2", ChannelKind.WORKSHOP, "Monthly business review", "FREQ=MONTHLY;BYDAY=3WE", time(10)),
)  # fmt: skip

# How far each further engagement of a client moves its meetings from the CADENCES hours.
_SIBLING_SHIFTS = (timedelta(0), timedelta(hours=1), timedelta(hours=-1))

MILESTONES: dict[str, tuple[str, ...]] = {
    Kind.IMPLEMENTATION: ("Discovery complete", "Solution design signed off", "Build complete",
                          "User acceptance testing passed", "Go-live"),
    Kind.UPGRADE: ("Readiness assessment", "Data migration dry run", "Cut-over rehearsal", "Go-live"),
    Kind.LAUNCH: ("Concept approved", "Pilot production", "Market launch"),
    Kind.TRANSFORMATION: ("Current-state assessment", "Target operating model agreed", "First reports live"),
    Kind.INTEGRATION: ("Interface design agreed", "Pilot plant connected", "All plants connected"),
}  # fmt: skip

CHANGE_REQUESTS = (
    ("Add {topic} to scope", ChangeRequest.Kind.SCOPE, 85_000, 21),
    ("Move a consultant from testing to {topic}", ChangeRequest.Kind.RESOURCE, 0, 0),
    ("Adapt {topic} to the new regulation", ChangeRequest.Kind.REGULATORY, 40_000, 10),
    ("Shift go-live to protect {topic}", ChangeRequest.Kind.SCHEDULE, 25_000, 28),
    ("Drop {topic} from the first release", ChangeRequest.Kind.BUDGET, -60_000, -14),
)

SUMMARIES = {
    "pmo": (
        "Walked through the RAID log with {person}; {topic} is the risk to watch this week.",
        "Reviewed the plan for {topic} with {person}; resourcing for the next sprint confirmed.",
        "{person} and the team agreed the steering committee agenda, with {topic} first.",
        "Went through the open actions; {person} will unblock the decision on {topic}.",
    ),
    "sponsor": (
        "Briefed {person} on progress with {topic}; they asked for a clearer view of the budget burn.",
        "{person} is pleased with {topic} and will champion it at the executive board.",
        "Discussed the benefits case; {person} wants {topic} tracked as a headline measure.",
    ),
    "steering": (
        "Steering committee reviewed milestones, budget and change requests; {topic} cleared to proceed.",
        "Steering committee focused on {topic}; risks accepted with mitigations owned by the PMO.",
        "Steering committee confirmed the next phase; {person} asked for a monthly view of {topic}.",
    ),
    "leader": (
        "Checked in with {person} on {topic}; their team is ready for user acceptance testing.",
        "{person} raised the workload of their team around {topic}; agreed to stagger the training.",
        "Walked {person} through the impact of {topic} on their department.",
    ),
    "negative": (
        "{person} was frustrated that {topic} slipped again and asked for a recovery plan.",
        "{person} questioned the value of {topic} given the delays; a tense conversation.",
        "{person} sent a delegate who could not decide on {topic}; escalation needed.",
        "Difficult session: {person} challenged the estimates for {topic}.",
    ),
}
SUMMARIES["leader2"] = SUMMARIES["leader"]

DECISIONS = (
    "Proceed with {topic} as planned.",
    "Defer {topic} to the next release.",
    "Fund two extra weeks of testing for {topic}.",
    "{person} signs off on the approach to {topic}.",
)
TEAM_ACTIONS = (
    "Send the revised plan for {topic}",
    "Circulate the minutes and decisions",
    "Prepare an options paper on {topic}",
    "Update the RAID log for {topic}",
    "Book a deep-dive session on {topic}",
)
CLIENT_ACTIONS = (
    "Confirm sign-off on {topic}",
    "Nominate super-users for {topic}",
    "Approve the budget line for {topic}",
    "Share the department's requirements for {topic}",
)
CLIENT_COMMENTS = (
    "Waiting for the works council; expect an answer next week.",
    "Raised at the board meeting, decision due on Friday.",
)
TEAM_COMMENTS = (
    "Chased by email and phone; waiting on the client's finance team.",
    "Blocked until the vendor confirms the interface specification.",
)

# The sponsor whose weekly update is due minutes before the demo is loaded, wherever they are.
DUE_AT_LOAD = ("EHR-2026", "rk-cmo")
# The silent sponsor stopped their updates this many days before the demo's day.
UNSUBSCRIBED_DAYS_AGO = 20
# A business leader with no planned channel, won over to neutral at the one meeting held with him
# this many days before the demo's day and not met since: green until the silence passed
# relationship_unplanned_amber_days (21), then amber, a drop Who needs attention lists.
LAPSED_CONTACT = ("EHR-2026", "rk-coo", 30)
# The replay runs the health sweep at each midnight of these last days, so each relationship's
# drop is dated the day its data made it, as the periodic sweep would have.
HEALTH_SWEEP_DAYS = 28
# Sponsors who answered an update: engagement, sponsor, which of their sent updates (1 = the one
# before the latest), hours after it was sent, their comment, and whether they asked for a call.
ACKNOWLEDGEMENTS = (
    ("EHR-2026", "rk-cfo", 1, 3, "Thank you, clear and to the point.", False),
    ("CRM-2026", "tr-cco", 1, 26, "", False),
    ("CMS-2026", "ct-deputy", 2, 5,
     "The tender delay worries me. Can we go through the recovery options before the board meets?", True),
    ("REG-2026", "ct-cfo", 1, 20, "Noted; please keep the audit trail work on this timeline.", False),
)  # fmt: skip
_OPEN_OUTCOMES = (
    ChangeRequest.Status.APPROVED,
    ChangeRequest.Status.UNDER_REVIEW,
    ChangeRequest.Status.REJECTED,
)
_SETTLED_OUTCOMES = (ChangeRequest.Status.APPROVED, ChangeRequest.Status.WITHDRAWN)


@dataclass(frozen=True)
class _Raid:
    """One item of a demo RAID log; ``days`` dates it (review, validation, due or decision) from the load."""

    code: str
    kind: str
    title: str
    owner: str | None
    people: tuple[str, ...]
    days: int
    rating: tuple[int, int] | None = None
    trend: str = ""
    severity: str = ""
    raised_by: str | None = None
    description: str = ""
    mitigation: str = ""
    decided_by: str = ""
    shared: bool = False
    # "closed", or for an assumption "held" / "failed"; empty: open.
    outcome: str = ""


RAID_LOG = (
    _Raid(
        "EHR-2026",
        "risk",
        "Nurses cannot be released for super-user training",
        "consultant",
        ("rk-nursing",),
        -3,
        (4, 4),
        "rising",
        raised_by="rk-nursing",
        description="Winter bed pressure leaves the wards short; training is cancelled at short notice.",
        mitigation="Backfill from the agency pool agreed for two weeks; training moved to night shifts.",
        shared=True,
    ),
    _Raid(
        "EHR-2026",
        "risk",
        "Pharmacy interface vendor misses the integration test window",
        "lead",
        ("rk-cio",),
        5,
        (3, 5),
        "steady",
        mitigation="Weekly call with the vendor's delivery lead; fallback to manual orders for two weeks.",
        shared=True,
    ),
    _Raid(
        "EHR-2026",
        "risk",
        "Medical board withholds sign-off on order sets",
        "lead",
        ("rk-cmo",),
        12,
        (2, 4),
        "falling",
        description="Two specialties still disagree on the sepsis bundle.",
    ),
    _Raid(
        "EHR-2026",
        "assumption",
        "Legacy lab system stays available read-only for 12 months",
        "lead",
        ("rk-cio",),
        -6,
        description="The archive plan depends on it; IT has not confirmed the licence.",
    ),
    _Raid(
        "EHR-2026",
        "assumption",
        "Each ward supplies two super-users",
        "consultant",
        ("rk-nursing",),
        -40,
        shared=True,
        outcome="held",
    ),
    _Raid(
        "EHR-2026",
        "issue",
        "Downtime procedures not approved by the quality board",
        "consultant",
        ("rk-coo",),
        7,
        severity="high",
        raised_by="rk-coo",
        mitigation="Draft reworked with the night-shift leads; resubmitted to the next board.",
    ),
    _Raid(
        "EHR-2026",
        "decision",
        "Go-live runs ward by ward, surgery first",
        None,
        ("rk-cmo", "rk-nursing"),
        -60,
        decided_by="Steering committee",
        shared=True,
    ),
    _Raid(
        "ERP-S4",
        "risk",
        "Data migration trial loads fail reconciliation",
        "raj",
        ("hp-cio",),
        -9,
        (4, 5),
        "rising",
        description="Open purchase orders do not reconcile after the second trial load.",
        mitigation="Cleansing sprint with the buyers; third trial load before cut-over planning.",
    ),
    _Raid(
        "ERP-S4",
        "risk",
        "Finance cut-over clashes with the year-end close",
        "daniel",
        ("hp-cfo",),
        -2,
        (3, 4),
        "steady",
        shared=True,
    ),
    _Raid(
        "ERP-S4",
        "risk",
        "Pune plant key users leave during the rollout",
        "daniel",
        ("hp-pune",),
        20,
        (2, 3),
        "falling",
    ),
    _Raid(
        "ERP-S4", "assumption", "Custom code can be remediated offshore within budget", "raj", ("hp-cio",), 10
    ),
    _Raid(
        "ERP-S4",
        "issue",
        "Sponsor has missed three steering meetings",
        "daniel",
        ("hp-coo",),
        3,
        severity="critical",
        description="Decisions on the cut-over date are waiting for him.",
    ),
    _Raid(
        "ERP-S4",
        "decision",
        "Cut-over moves to the Easter weekend",
        None,
        ("hp-cfo",),
        -25,
        decided_by="Robert Chen, CFO",
        shared=True,
    ),
    _Raid(
        "CRM-2026",
        "risk",
        "Loyalty data cannot be migrated before the peak season",
        None,
        ("tr-customer",),
        4,
        (3, 3),
        "steady",
        shared=True,
    ),
    _Raid(
        "CRM-2026",
        "issue",
        "Store tablets run an unsupported browser",
        None,
        ("tr-cto",),
        -5,
        severity="medium",
        outcome="closed",
    ),
    _Raid(
        "CMS-2026",
        "risk",
        "Procurement appeal delays the integration partner",
        None,
        ("ct-cio",),
        9,
        (2, 5),
        "steady",
    ),
    _Raid(
        "CMS-2026",
        "assumption",
        "Case data may be hosted in the state cloud region",
        None,
        ("ct-cio",),
        15,
        shared=True,
    ),
)


def demo_codes() -> list[str]:
    return [plan.code for plan in ENGAGEMENTS]


@transaction.atomic
def demo_load(*, now: datetime | None = None) -> DemoResult:
    """Load the demo portfolio unless one of its engagements already exists.

    Idempotent: a second run writes no portfolio rows; it only makes sure every
    demo login exists, is active and has the demo password. A database holding
    other engagements but no demo is refused untouched, so a real database never
    gets a superuser whose password is printed in the README.
    """
    now = now or timezone.now()
    loaded = Engagement.objects.filter(code__in=demo_codes()).exists()
    if not loaded and Engagement.objects.exists():
        return DemoResult(outcome="refused", logins=[])
    hashes: set[str] = set()
    users = {person.username: _ensure_user(person, hashes=hashes) for person in PEOPLE if not person.client}
    clients = {} if loaded else {spec.name: _ensure_client(spec, actor=users["admin"]) for spec in CLIENTS}
    for person in PEOPLE:
        if person.client:
            client = clients.get(person.client) or Client.objects.filter(name=person.client).first()
            if client is not None:
                users[person.username] = _ensure_user(person, client=client, hashes=hashes)
    if not loaded:
        _Builder(users=users, clients=clients, now=now).build()
    logins = [_login(users[person.username]) for person in PEOPLE if person.username in users]
    return DemoResult(outcome="present" if loaded else "created", logins=logins)


def _ensure_user(person: _Person, *, hashes: set[str], client: Client | None = None) -> User:
    user = User.objects.filter(username=person.username).first() or User(username=person.username)
    administrator = person.role == Role.ADMINISTRATOR
    wanted = {
        "first_name": person.first_name,
        "last_name": person.last_name,
        "email": f"{person.username}@pmaas-demo.example",
        "role": person.role,
        "client": client,
        "time_zone": person.time_zone,
        "is_active": True,
        "is_staff": administrator,
        "is_superuser": administrator,
    }
    changed = [name for name, value in wanted.items() if getattr(user, name) != value]
    for name in changed:
        setattr(user, name, wanted[name])
    # Hashing is slow on purpose, and every demo login shares one password: one hash serves them all.
    password_ok = user.password in hashes or (user.pk is not None and user.check_password(DEMO_PASSWORD))
    if not password_ok:
        validate_password(DEMO_PASSWORD, user)
        if hashes:
            user.password = next(iter(hashes))
        else:
            user.set_password(DEMO_PASSWORD)
    hashes.add(user.password)
    if changed or not password_ok:
        clean_instance(user)
        user.save()
    return user


def _ensure_client(spec: _Client, *, actor: User) -> Client:
    return Client.objects.filter(name=spec.name).first() or client_create(
        actor=actor,
        name=spec.name,
        time_zone=spec.time_zone,
        country=spec.country,
        holiday_subdivision=spec.holiday_subdivision,
    )


def _login(user: User) -> DemoLogin:
    visible = list(Engagement.objects.visible_to(user).order_by("code").values_list("code", flat=True))
    if user.is_administrator:
        sees = f"everything, and the Django admin at /admin/ ({len(visible)} engagements)"
    elif user.sees_all_engagements:
        sees = f"all {len(visible)} engagements"
    elif user.role == Role.CLIENT:
        sees = f"{len(visible)} engagements of {user.client}: {', '.join(visible)}; updates own follow-ups"
    else:
        sees = f"{len(visible)} engagements: {', '.join(visible)}"
    role = user.get_role_display()
    if Membership.objects.filter(user=user, role=Membership.Role.LEAD).exists():
        role = f"{role}, engagement lead"
    return DemoLogin(username=user.username, password=DEMO_PASSWORD, role=role, sees=sees)


def _email(name: str, domain: str) -> str:
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower().replace("'", "")
    return ".".join(part for part in plain.split() if not part.endswith(".")) + f"@{domain}"


@dataclass
class _Completion:
    when: datetime
    follow_up: FollowUp
    actor: User


@dataclass
class _Meeting:
    """A check-in of the history, decided while its plan was built and logged in time order later."""

    plan: _Plan
    engagement: Engagement
    team: list[User]
    occurred_at: datetime
    audience: str
    attendees: list[Stakeholder]
    team_attendees: list[User]
    kind: str
    channel: Channel | None
    negative: bool


def _agreed_due(occurred_at: datetime, *, days: int, recorder: User) -> datetime:
    """An item agreed in a meeting "for <weekday>" some days later, as the form records it:
    the end of that day where it was recorded, moved off a weekend."""
    zone = ZoneInfo(recorder.time_zone)
    due_on = occurred_at.astimezone(zone).date() + timedelta(days=days)
    while due_on.weekday() >= 5:
        due_on += timedelta(days=1)
    return follow_up_due_at(due_on=due_on, time_zone=zone)


def _dispatch(*, as_of: datetime) -> None:
    occurrences_dispatch(as_of=as_of)
    occurrences_mark_due(as_of=as_of)
    occurrences_mark_missed(as_of=as_of)


def _channel_pk(meeting: _Meeting | None) -> int:
    return meeting.channel.pk if meeting is not None and meeting.channel is not None else 0


@dataclass
class _Builder:
    users: dict[str, User]
    clients: dict[str, Client]
    now: datetime
    rng: random.Random = field(default_factory=lambda: random.Random(SEED))  # noqa: S311
    people: dict[str, Stakeholder] = field(default_factory=dict)
    # The planned meetings the history held, and the moments the dispatcher must look in to
    # mark the skipped ones missed; replayed in time order once every plan exists.
    meetings: list[_Meeting] = field(default_factory=list)
    sweeps: list[datetime] = field(default_factory=list)
    # Which follow-ups get done and when, decided as each is agreed (a stream of its own, so
    # the meetings' random choices do not depend on it); done in time order by the replay.
    outcomes: random.Random = field(default_factory=lambda: random.Random(SEED + 1))  # noqa: S311
    completions: list[tuple[datetime, int, _Completion]] = field(default_factory=list)
    # The sponsors' own choices of day, time and cadence.
    choices: random.Random = field(default_factory=lambda: random.Random(SEED + 2))  # noqa: S311
    next_update: datetime | None = None
    # History is sent, not mailed: the dummy backend delivers nowhere.
    history_mail: Any = field(
        default_factory=lambda: get_connection("django.core.mail.backends.dummy.EmailBackend")
    )

    @property
    def admin(self) -> User:
        return self.users["admin"]

    @property
    def today(self) -> date:
        return self.now.astimezone(UTC).date()

    @property
    def midnight(self) -> datetime:
        """History stops here, so every run on the same day writes the same history."""
        return datetime.combine(self.today, time(0), tzinfo=UTC)

    @property
    def history_start(self) -> date:
        return self.today - timedelta(days=HISTORY_DAYS)

    def build(self) -> None:
        for spec in CLIENTS:
            for contact in spec.contacts:
                self.people[contact.key] = self._stakeholder(spec, contact)
        for plan in ENGAGEMENTS:
            self._engagement(plan)
        self._subscribe()
        # Each service would refresh the health of what it changed; the history is replayed faster
        # with that done once, and the sweep below recomputes every engagement at the demo's now.
        with health_refresh_deferred(), weekly_rollups_deferred():
            self._replay()
        self._acknowledge()
        self._yesterdays_news()
        self._comment_on_overdue()
        self._raid_log()
        self._notify()
        # A silence raised as of midnight falls due at the end of its client's working day, which
        # in New York is 22:00 UTC: a demo loaded later that evening has it overdue already, and
        # flagged as the sweep would flag it (idempotent: what the replay flagged stays as it was).
        follow_ups_flag_overdue(as_of=self.now)
        follow_ups_notify_overdue(as_of=self.now)
        # Every colour follows from the rows above, through the same function as the sweep's.
        engagements_recompute_health(as_of=self.now)
        self._roll_up()

    def _roll_up(self) -> None:
        """Fill the weekly roll-ups the trend pages read: every week of the history, and the trends' 26."""
        first = min(self.history_start, self.today - timedelta(weeks=TREND_WEEKS))
        weeks = weeks_ending(
            self.today - timedelta(days=self.today.weekday()), (self.today - first).days // 7 + 2
        )
        weekly_rollups_refresh(
            engagement_ids=Engagement.objects.filter(code__in=demo_codes()).values_list("pk", flat=True),
            weeks=weeks,
            as_of=self.now,
        )

    def _stakeholder(self, spec: _Client, contact: _Contact) -> Stakeholder:
        stakeholder = stakeholder_create(
            actor=self.admin,
            client=self.clients[spec.name],
            name=contact.name,
            email=_email(contact.name, spec.domain),
            title=contact.title,
            department=contact.department,
            time_zone=contact.time_zone,
        )
        if contact.login:
            stakeholder.user = self.users[contact.login]
            clean_instance(stakeholder)
            stakeholder.save(update_fields=["user", "updated_at"])
        return stakeholder

    def _engagement(self, plan: _Plan) -> None:
        lead = self.users[plan.lead]
        engagement = engagement_create(
            actor=self.admin,
            client=self.clients[plan.client],
            name=plan.name,
            code=plan.code,
            description=plan.description,
            kind=plan.kind,
            budget=Decimal(plan.budget),
            currency=plan.currency,
            start_date=self.today + timedelta(days=plan.starts),
            end_date=self.today + timedelta(days=plan.ends),
            status=plan.status,
            lead=lead,
        )
        team = [lead]
        for username in plan.consultants:
            membership_add(
                actor=self.admin,
                engagement=engagement,
                user=self.users[username],
                role=Membership.Role.CONSULTANT,
            )
            team.append(self.users[username])
        # The team joined on the engagement's first morning (or the planning day, for one not started),
        # not on the day the demo was loaded.
        first_morning = datetime.combine(
            engagement.start_date, time(9), tzinfo=ZoneInfo(self.clients[plan.client].time_zone)
        )
        Membership.objects.filter(engagement=engagement).update(
            joined_at=min(first_morning, self.now - timedelta(days=30))
        )
        self._roles(plan, engagement, team)
        # The leads of running engagements show the client their health (the colour, never its factors).
        if plan.status == Status.ACTIVE:
            engagement_override_health(
                actor=lead, engagement=engagement, health="", reason="", shared_with_client=True
            )
        self._milestones(plan, engagement)
        if plan.status != Status.PLANNED:
            self._change_requests(plan, engagement)
        if plan.status == Status.ACTIVE:
            self._plan_and_history(plan, engagement, team)
        elif plan.status == Status.PLANNED:
            self._plan_and_history(plan, engagement, team)
            self._ad_hoc(plan, engagement, team, days_ago=(10,))
        else:
            # Closed or on hold: a few meetings until it ended or paused, no plan since.
            quiet_for = -plan.ends if plan.status == Status.CLOSED else 45
            self._ad_hoc(plan, engagement, team, days_ago=range(HISTORY_DAYS - 5, quiet_for, -25))

    def _roles(self, plan: _Plan, engagement: Engagement, team: list[User]) -> None:
        lead = team[0]
        rng = self.rng
        stakeholder_add_to_engagement(
            actor=self.admin,
            engagement=engagement,
            stakeholder=self.people[plan.pmo],
            kind=StakeholderRole.Kind.PMO_LEAD,
            influence=Scale.HIGH,
            interest=Scale.VERY_HIGH,
            current_level=rng.choice([Level.SUPPORTIVE, Level.LEADING]),
            desired_level=Level.LEADING,
            relationship_owner=lead,
        )
        for key in plan.sponsors:
            stakeholder_add_to_engagement(
                actor=self.admin,
                engagement=engagement,
                stakeholder=self.people[key],
                kind=StakeholderRole.Kind.SPONSOR,
                influence=Scale.VERY_HIGH,
                interest=rng.choice([Scale.MEDIUM, Scale.HIGH, Scale.VERY_HIGH]),
                current_level=Level.NEUTRAL
                if plan.troubled
                else rng.choice([Level.SUPPORTIVE, Level.LEADING]),
                desired_level=Level.LEADING,
                relationship_owner=lead,
            )
        for index, key in enumerate(plan.leaders):
            influence = rng.choice([Scale.MEDIUM, Scale.HIGH])
            interest = rng.choice([Scale.LOW, Scale.MEDIUM, Scale.HIGH])
            level = rng.choice([Level.UNAWARE, Level.RESISTANT, Level.NEUTRAL, Level.SUPPORTIVE])
            if (plan.code, key) == LAPSED_CONTACT[:2]:
                level = Level.NEUTRAL
            stakeholder_add_to_engagement(
                actor=self.admin,
                engagement=engagement,
                stakeholder=self.people[key],
                kind=StakeholderRole.Kind.BUSINESS_LEADER,
                influence=influence,
                interest=interest,
                current_level=level,
                desired_level=Level.SUPPORTIVE,
                relationship_owner=team[(index + 1) % len(team)],
            )

    def _milestones(self, plan: _Plan, engagement: Engagement) -> None:
        names = MILESTONES[plan.kind]
        span = plan.ends - plan.starts
        past: list[tuple[date, Milestone]] = []
        for index, name in enumerate(names):
            due_on = self.today + timedelta(days=plan.starts + span * (index + 1) // len(names))
            milestone = milestone_create(actor=self.admin, engagement=engagement, name=name, due_on=due_on)
            if due_on < self.today:
                past.append((due_on, milestone))
        # A troubled engagement has slipped: its latest milestone is still open.
        done = past[:-1] if plan.troubled else past
        for due_on, milestone in done:
            milestone.completed_on = min(due_on + timedelta(days=self.rng.randint(-5, 7)), self.today)
            clean_instance(milestone)
            milestone.save(update_fields=["completed_on", "updated_at"])

    def _change_requests(self, plan: _Plan, engagement: Engagement) -> None:
        lead = self.users[plan.lead]
        earliest = max(engagement.start_date, self.history_start)
        for title, kind, budget, days in self.rng.sample(CHANGE_REQUESTS, k=self.rng.randint(1, 2)):
            status = self.rng.choice(_OPEN_OUTCOMES if plan.status == Status.ACTIVE else _SETTLED_OUTCOMES)
            raised_on = min(
                earliest + timedelta(days=self.rng.randint(0, 60)), self.today - timedelta(days=9)
            )
            decided_on = raised_on + timedelta(days=self.rng.randint(2, 9))
            decided = status in ChangeRequest.DECIDED
            request = ChangeRequest(
                engagement=engagement,
                title=title.format(topic=self.rng.choice(plan.topics)),
                kind=kind,
                description="Raised by the engagement lead after the steering committee.",
                budget_impact=Decimal(budget),
                schedule_impact_days=days,
                status=status,
                requested_by=lead,
                raised_on=raised_on,
                decision=f"{status.label} by the steering committee." if decided else "",
                decided_by=lead if decided else None,
                decided_at=datetime.combine(decided_on, time(10), tzinfo=UTC) if decided else None,
            )
            clean_instance(request)
            request.save()
            search_documents_refresh(kind="change_request", ids=[request.pk])

    def _plan_and_history(self, plan: _Plan, engagement: Engagement, team: list[User]) -> None:
        audiences = {
            "pmo": [plan.pmo],
            "sponsor": [plan.sponsors[0]],
            "steering": [plan.sponsors[-1]],
            "leader": list(plan.leaders[:1]),
            "leader2": list(plan.leaders[1:2]),
        }
        started = plan.status == Status.ACTIVE
        starts_on = max(engagement.start_date, self.history_start) if started else engagement.start_date
        # A client's engagements share its PMO lead and some sponsors: each engagement meets them
        # at its own hour, so nobody is booked into two meetings at once.
        siblings = [other.code for other in ENGAGEMENTS if other.client == plan.client]
        shift = _SIBLING_SHIFTS[siblings.index(plan.code) % len(_SIBLING_SHIFTS)]
        for cadence in CADENCES:
            for key in audiences[cadence.audience]:
                owner = team[0] if cadence.audience in {"pmo", "sponsor", "steering"} else team[-1]
                channel = channel_create(
                    actor=self.admin,
                    engagement=engagement,
                    stakeholder=self.people[key],
                    title=cadence.title,
                    recurrence_rule=cadence.rule,
                    starts_on=starts_on,
                    local_time=(datetime.combine(starts_on, cadence.local_time) + shift).time(),
                    owner=owner,
                    kind=cadence.kind,
                    details=f"{cadence.title} with {self.people[key].name}.",
                    as_of=datetime.combine(starts_on, time(0), tzinfo=UTC) if started else self.now,
                )
                if started:
                    self._history(plan, engagement, team, channel, cadence)

    def _history(
        self, plan: _Plan, engagement: Engagement, team: list[User], channel: Channel, cadence: _Cadence
    ) -> None:
        """Decide which of the channel's past meetings were held, when and with whom; the rest were skipped.

        Nothing is written yet: ``_replay`` logs them in time order with
        the dispatcher running in between, so the occurrences, held and missed,
        are the ones the application itself records.
        """
        rng = self.rng
        silence_from = self.midnight - timedelta(weeks=6)
        due = channel.next_due_at
        while due is not None and due < self.midnight - timedelta(hours=2):
            strained = plan.troubled and due >= silence_from
            silent = plan.silent_sponsor and strained and cadence.audience in {"sponsor", "steering"}
            if silent or rng.random() >= (0.7 if strained else 0.88):
                # The dispatcher looks in just after its grace period ran out and finds it missed.
                self.sweeps.append(due + channel.grace_period + timedelta(minutes=1))
            else:
                occurred_at = due + timedelta(minutes=rng.choice([0, 0, 5, 10, 15]))
                if rng.random() < 0.1:
                    # A day late, still within the grace period: held, but not on time.
                    occurred_at += min(timedelta(days=1), channel.grace_period - timedelta(hours=1))
                occurred_at = min(occurred_at, self.midnight - timedelta(hours=1))
                attendees = [channel.stakeholder]
                team_attendees = [channel.owner]
                if cadence.audience == "steering":
                    attendees = [self.people[k] for k in (*plan.sponsors, plan.pmo, *plan.leaders[:2])]
                    team_attendees = team
                elif cadence.audience == "sponsor" and rng.random() < 0.3:
                    attendees.append(self.people[plan.pmo])
                self.meetings.append(
                    _Meeting(
                        plan=plan,
                        engagement=engagement,
                        team=team,
                        occurred_at=occurred_at,
                        audience=cadence.audience,
                        attendees=attendees,
                        team_attendees=team_attendees,
                        kind=cadence.kind,
                        channel=channel,
                        negative=strained,
                    )
                )
            due = recurrence.next_occurrence(
                rule=channel.recurrence,
                starts_on=channel.starts_on,
                local_time=channel.local_time,
                time_zone=channel.stakeholder.time_zone,
                after=due,
            )

    def _replay(self) -> None:
        """Replay the history in time order, each sweep of the application at its moment.

        The dispatcher creates each occurrence, marks it due, and marks the
        skipped ones missed once their grace ran out, moving the channel on as
        it does in use; a check-in then holds the occurrence it covers. So the
        compliance the demo shows follows from what happened. Follow-ups are
        done when decided, the overdue sweep runs at each midnight (UTC), so
        items done late were flagged overdue first, and each sponsor update is
        written and sent at its send time, from the check-ins, follow-ups and
        plan of that moment. Reminders are not sent for the past.
        """
        moments: list[tuple[datetime, int, int, _Meeting | None]] = [
            (at, 0, 0, None) for at in self.sweeps if at < self.midnight
        ]
        moments.extend((meeting.occurred_at, 1, _channel_pk(meeting), meeting) for meeting in self.meetings)
        moments.extend(
            (self.midnight - timedelta(days=HISTORY_DAYS - days), 2, 0, None)
            for days in range(HISTORY_DAYS + 1)
        )
        moments.append((self.midnight - timedelta(days=UNSUBSCRIBED_DAYS_AGO), 3, 0, None))
        moments.append((self._lapsed_contact_at, 4, 0, None))
        moments.sort(key=lambda moment: moment[:3])
        health_from = self.midnight - timedelta(days=HEALTH_SWEEP_DAYS)
        for at, kind, _, meeting in moments:
            self._catch_up(until=at)
            if kind == 2:
                follow_ups_flag_overdue(as_of=at)
                follow_ups_notify_overdue(as_of=at)
                if at >= health_from:
                    engagements_recompute_health(as_of=at)
                continue
            if kind == 3:
                self._unsubscribe_silent(as_of=at)
                continue
            if kind == 4:
                self._meet_lapsed_contact()
                continue
            _dispatch(as_of=at)
            if meeting is not None:
                if meeting.channel is not None:
                    # The sweeps moved it on since the plan was built.
                    meeting.channel.refresh_from_db(fields=["next_due_at", "updated_at"])
                self._log(meeting)
        self._catch_up(until=self.midnight)
        _dispatch(as_of=self.midnight)
        # What the periodic sweep would flag by now anyway.
        follow_ups_flag_overdue(as_of=self.now)
        follow_ups_notify_overdue(as_of=self.now)

    @property
    def _lapsed_contact_at(self) -> datetime:
        return self.midnight - timedelta(days=LAPSED_CONTACT[2]) + timedelta(hours=10)

    def _meet_lapsed_contact(self) -> None:
        """The one meeting with LAPSED_CONTACT's person: it went well, and nobody met him again."""
        code, key, _ = LAPSED_CONTACT
        plan = next(plan for plan in ENGAGEMENTS if plan.code == code)
        lead = self.users[plan.lead]
        person = self.people[key]
        check_in_log(
            actor=lead,
            engagement=Engagement.objects.get(code=code),
            occurred_at=self._lapsed_contact_at,
            summary=(
                f"Walked {person.name} through the downtime procedures; "
                "he will take them to the night-shift leads himself."
            ),
            attendees=[person],
            team_attendees=[lead],
            kind=ChannelKind.MEETING,
            covers=[],
            sentiment=1,
            as_of=self._lapsed_contact_at,
        )

    def _catch_up(self, *, until: datetime) -> None:
        """Do the follow-ups done and send the updates due before ``until``, earliest first."""
        while True:
            done_at = self.completions[0][0] if self.completions else None
            update_at = self.next_update
            if done_at is not None and done_at < until and (update_at is None or done_at <= update_at):
                _, _, item = heapq.heappop(self.completions)
                follow_up_complete(actor=item.actor, follow_up=item.follow_up, as_of=item.when)
            elif update_at is not None and update_at < until:
                self._send_updates(as_of=update_at)
            else:
                return

    def _ad_hoc(
        self, plan: _Plan, engagement: Engagement, team: list[User], *, days_ago: Sequence[int]
    ) -> None:
        for days in days_ago:
            occurred_at = datetime.combine(self.today - timedelta(days=days), time(10), tzinfo=UTC)
            audience = self.rng.choice(["pmo", "sponsor"])
            key = plan.pmo if audience == "pmo" else plan.sponsors[0]
            # Logged by the replay in time order, like the planned ones.
            self.meetings.append(
                _Meeting(
                    plan=plan,
                    engagement=engagement,
                    team=team,
                    occurred_at=occurred_at,
                    audience=audience,
                    attendees=[self.people[key]],
                    team_attendees=[team[0]],
                    kind=ChannelKind.MEETING,
                    channel=None,
                    negative=False,
                )
            )

    def _log(self, meeting: _Meeting) -> None:
        plan, occurred_at, audience, attendees = (
            meeting.plan,
            meeting.occurred_at,
            meeting.audience,
            meeting.attendees,
        )
        team, negative = meeting.team, meeting.negative
        rng = self.rng
        person = attendees[0].name
        if negative:
            sentiment = rng.choices([-2, -1, 0, 1], weights=[2, 4, 3, 1])[0]
        else:
            sentiment = rng.choices([-1, 0, 1, 2], weights=[1, 3, 5, 2])[0]
        pool = SUMMARIES["negative"] if sentiment < 0 else SUMMARIES[audience]
        summary = rng.choice(pool).format(person=person, topic=rng.choice(plan.topics))
        decisions = ""
        if audience == "steering" or rng.random() < 0.3:
            decisions = rng.choice(DECISIONS).format(person=person, topic=rng.choice(plan.topics))
        # Steering meetings that went well are shared with the client, with the team's items from them.
        shared = audience == "steering" and sentiment >= 0
        specs = []
        for _ in range(rng.choices([0, 1, 2], weights=[4, 5, 1])[0] + (audience == "steering")):
            topic = rng.choice(plan.topics)
            recorder = meeting.team_attendees[0]
            due_at = _agreed_due(occurred_at, days=rng.randint(3, 14), recorder=recorder)
            if rng.random() < 0.5:
                specs.append(
                    FollowUpSpec(
                        title=rng.choice(TEAM_ACTIONS).format(topic=topic),
                        due_at=due_at,
                        due_zone=recorder.time_zone,
                        owner_user=rng.choice(team),
                        shared_with_client=shared,
                    )
                )
            else:
                specs.append(
                    FollowUpSpec(
                        title=rng.choice(CLIENT_ACTIONS).format(topic=topic),
                        due_at=due_at,
                        due_zone=recorder.time_zone,
                        owner_stakeholder=rng.choice(attendees),
                    )
                )
        check_in = check_in_log(
            actor=meeting.team_attendees[0],
            engagement=meeting.engagement,
            occurred_at=occurred_at,
            summary=summary,
            attendees=attendees,
            team_attendees=meeting.team_attendees,
            kind=meeting.kind,
            channel=meeting.channel,
            # An unplanned conversation: it covers no planned meeting.
            covers=None if meeting.channel else [],
            sentiment=sentiment,
            decisions=decisions,
            follow_ups=specs,
            shared_with_client=shared,
            as_of=occurred_at,
        )
        self._decide_completions(plan, check_in)

    def _decide_completions(self, plan: _Plan, check_in: CheckIn) -> None:
        """Decide which of a check-in's follow-ups get done, when and by whom: most on time, some late."""
        rng = self.outcomes
        latest = self.midnight - timedelta(hours=1)
        occurred_at = check_in.occurred_at
        follow_ups = (
            FollowUp.objects.filter(check_in=check_in)
            .select_related("engagement", "owner_user", "owner_stakeholder__user")
            .order_by("pk")
        )
        for follow_up in follow_ups:
            if follow_up.due_at < self.midnight:
                finished = plan.status == Status.CLOSED
                if not finished and rng.random() >= (0.5 if plan.troubled else 0.85):
                    continue
                when = follow_up.due_at - timedelta(hours=rng.randint(0, 72))
                if rng.random() < 0.2:
                    when = follow_up.due_at + timedelta(days=rng.randint(1, 5))
            elif rng.random() < 0.25:
                when = occurred_at + (latest - occurred_at) * rng.random()
            else:
                continue
            stakeholder = follow_up.owner_stakeholder
            client_user = stakeholder.user if stakeholder is not None else None
            actor = follow_up.owner_user or client_user or self.users[plan.lead]
            when = min(max(when, occurred_at + timedelta(hours=1)), latest)
            heapq.heappush(
                self.completions,
                (when, follow_up.pk, _Completion(when=when, follow_up=follow_up, actor=actor)),
            )

    def _yesterdays_news(self) -> None:
        """One item per member of an active team that fell due yesterday afternoon and is still open.

        The random history decides most of what is overdue, and how much of it
        is recent depends on where the weekdays fall; these items make sure
        every consultant opens the demo to a bell with unread news, on any day
        the demo is loaded.
        """
        due_at = self.midnight - timedelta(hours=8)
        plans = {plan.code: plan for plan in ENGAGEMENTS if plan.status == Status.ACTIVE}
        engagements = Engagement.objects.filter(code__in=plans).order_by("code")
        told: set[int] = set()
        for engagement in engagements:
            plan = plans[engagement.code]
            for member in engagement.memberships.select_related("user").order_by("pk"):
                if member.user_id in told:
                    continue
                told.add(member.user_id)
                follow_up_create(
                    actor=self.users[plan.lead],
                    engagement=engagement,
                    spec=FollowUpSpec(
                        title=self.rng.choice(TEAM_ACTIONS).format(topic=self.rng.choice(plan.topics)),
                        due_at=due_at,
                        owner_user=member.user,
                    ),
                )
        follow_ups_flag_overdue(as_of=self.midnight)
        follow_ups_notify_overdue(as_of=self.midnight)

    def _raid_log(self) -> None:
        """The RAID logs, written through their services as the team would, dated around the load's day.

        Risks and assumptions whose date has passed are left for the review
        sweep, which ``_notify`` runs; the last check-in with decisions of each
        engagement with a log has them filed, as its form offers.
        """
        codes = {spec.code for spec in RAID_LOG}
        engagements = {e.code: e for e in Engagement.objects.filter(code__in=codes)}
        leads = {plan.code: self.users[plan.lead] for plan in ENGAGEMENTS}
        dated = {
            "risk": "review_on",
            "assumption": "validate_by",
            "issue": "due_on",
            "decision": "decided_on",
        }
        for n, spec in enumerate(RAID_LOG):
            actor = leads[spec.code]
            day: dict[str, Any] = {dated[spec.kind]: self.today + timedelta(days=spec.days)}
            values = RaidFields(
                title=spec.title,
                description=spec.description,
                owner=self.users[spec.owner] if spec.owner else None,
                stakeholders=[self.people[key] for key in spec.people],
                raised_by=self.people[spec.raised_by] if spec.raised_by else None,
                likelihood=spec.rating[0] if spec.rating else None,
                impact=spec.rating[1] if spec.rating else None,
                trend=spec.trend,
                mitigation=spec.mitigation,
                severity=spec.severity,
                decided_by=spec.decided_by,
                shared_with_client=spec.shared,
                **day,
            )
            item = raid_item_create(
                actor=actor,
                engagement=engagements[spec.code],
                kind=spec.kind,
                values=values,
                as_of=self.midnight,
            )
            if spec.outcome == "closed":
                raid_item_transition(actor=actor, item=item, to_status="closed", as_of=self.midnight)
            elif spec.outcome:
                raid_assumption_validate(
                    actor=actor, item=item, holds=spec.outcome == "held", as_of=self.midnight
                )
            # A log is kept over the months of the history, not written the night before the load: each
            # item was raised weeks ago and, if settled, settled days ago (the services stamp their now).
            raised = self.midnight - timedelta(days=21 + 9 * (n % 7), hours=14)
            settled = self.midnight - timedelta(days=3 + n % 5, hours=15)
            RaidItem.objects.filter(pk=item.pk).update(created_at=raised, updated_at=settled)
            RaidItem.objects.filter(pk=item.pk, closed_at__isnull=False).update(closed_at=settled)
            RaidItem.objects.filter(pk=item.pk, validated_at__isnull=False).update(validated_at=settled)
            search_documents_refresh(kind="raid_item", ids=[item.pk])
        for code, engagement in engagements.items():
            check_in = (
                CheckIn.objects.filter(engagement=engagement, occurred_at__lt=self.midnight)
                .exclude(decisions="")
                .order_by("-occurred_at")
                .first()
            )
            if check_in is not None:
                raid_decisions_file_from_check_in(actor=leads[code], check_in=check_in, as_of=self.midnight)

    def _notify(self) -> None:
        """What the sweeps would have raised by today: silent sponsors; older notifications read.

        As of midnight, so a demo loaded in the morning and one loaded in the
        evening raise the same flags; the dispatcher raises the rest.
        """
        # The people were on the engagements from the start of the history, not from the load.
        StakeholderRole.objects.filter(engagement__code__in=demo_codes()).update(
            created_at=self.midnight - timedelta(days=HISTORY_DAYS)
        )
        silences_flag(as_of=self.midnight)
        raid_reviews_flag(as_of=self.midnight)
        Notification.objects.filter(
            engagement__code__in=demo_codes(),
            created_at__lt=self.midnight - timedelta(days=3),
            read_at__isnull=True,
        ).update(read_at=F("created_at") + timedelta(hours=20))

    def _comment_on_overdue(self) -> None:
        """The owners' notes on the first overdue items, dated in the history as everything else is.

        Each is written the morning after its item fell due, in the zone it was
        agreed in, or halfway from then to the demo's day when that is sooner:
        never at the moment of loading.
        """
        overdue = (
            FollowUp.objects.overdue(as_of=self.midnight)
            .filter(engagement__code__in=demo_codes())
            .filter(Q(owner_user__isnull=False) | Q(owner_stakeholder__user__isnull=False))
            .select_related("owner_user", "owner_stakeholder__user", "engagement__client")
            .order_by("due_at", "pk")
        )
        for index, follow_up in enumerate(overdue[:8]):
            # The morning after it fell due, where it was agreed, as a person would write; never
            # later than halfway to the demo's day.
            zone = ZoneInfo(follow_up.due_zone or follow_up.engagement.client.time_zone)
            morning = datetime.combine(
                follow_up.due_at.astimezone(zone).date() + timedelta(days=1),
                time(9, 10 + 6 * index),
                tzinfo=zone,
            )
            written = min(morning, follow_up.due_at + (self.midnight - follow_up.due_at) / 2)
            stakeholder = follow_up.owner_stakeholder
            if stakeholder is not None and stakeholder.user is not None:
                actor, body = stakeholder.user, CLIENT_COMMENTS[index % len(CLIENT_COMMENTS)]
            elif follow_up.owner_user is not None:
                actor, body = follow_up.owner_user, TEAM_COMMENTS[index % len(TEAM_COMMENTS)]
            else:
                continue
            follow_up_comment_add(actor=actor, follow_up=follow_up, body=body, as_of=written)

    def _subscribe(self) -> None:
        """Every sponsor's default subscription, as the sweep writes it, then the schedule each chose.

        Dated at the history's start, so the replay sends each period's update.
        One sponsor's weekly update is due on the load's own day, minutes
        before it (``_due_at_load``), so a fresh ``./run`` mails it at once.
        """
        start = self.midnight - timedelta(days=HISTORY_DAYS)
        plans = {plan.code: plan for plan in ENGAGEMENTS}
        engagements = Engagement.objects.filter(code__in=plans)
        subscriptions_ensure_for_sponsors(
            as_of=start, engagement_ids=engagements.values_list("pk", flat=True)
        )
        subscriptions = (
            SponsorSubscription.objects.filter(engagement__in=engagements)
            .select_related("engagement", "stakeholder")
            .order_by("engagement__code", "stakeholder__name")
        )
        rng = self.choices
        keys = {stakeholder.pk: key for key, stakeholder in self.people.items()}
        for subscription in subscriptions:
            plan = plans[subscription.engagement.code]
            cadence = rng.choice(SponsorSubscription.Cadence.values)
            weekday: int = rng.choice([Weekday.MONDAY, Weekday.FRIDAY])
            local_time = rng.choice([time(7, 30), time(8)])
            if (plan.code, keys[subscription.stakeholder_id]) == DUE_AT_LOAD:
                cadence = SponsorSubscription.Cadence.WEEKLY
                weekday, local_time = self._due_at_load(subscription.time_zone)
            subscription_update(
                actor=self.users[plan.lead],
                subscription=subscription,
                spec=SubscriptionSchedule(cadence, weekday, local_time, subscription.time_zone),
                is_active=True,
                as_of=start,
            )
        subscriptions.update(created_at=start, updated_at=start)
        self.next_update = self._first_send()

    def _due_at_load(self, time_zone: str) -> tuple[int, time]:
        """The local weekday and time of a moment since midnight (UTC) and minutes before the load."""
        moment = max(self.midnight, self.now - timedelta(minutes=10)).replace(second=0, microsecond=0)
        local = moment.astimezone(ZoneInfo(time_zone))
        return local.weekday(), local.time().replace(second=0, microsecond=0)

    def _first_send(self) -> datetime | None:
        """The earliest send time of the history's updates; those since midnight are the beat's."""
        first = (
            SponsorSubscription.objects.active()
            .filter(engagement__code__in=demo_codes(), engagement__status__in=SENDING_STATUSES)
            .aggregate(first=Min("next_send_at"))["first"]
        )
        return first if first is not None and first < self.midnight else None

    def _send_updates(self, *, as_of: datetime) -> None:
        """The beat's update sweep at ``as_of``, and the worker sending what it wrote, then and there.

        The channels already point at the meetings then coming (the replay
        moves them on as each meeting is held or its grace runs out). Sent to
        the dummy mail backend: history is recorded, not mailed. The health
        each update reports is brought up to that moment first.
        """
        health_refresh_flush(as_of=as_of)
        updates_sweep(as_of=as_of)
        written = OutboxMessage.objects.pending().filter(
            kind=OutboxMessage.Kind.SPONSOR_UPDATE, engagement__code__in=demo_codes()
        )
        for key in written.order_by("pk").values_list("idempotency_key", flat=True):
            outbox_send(key=key, as_of=as_of, connection=self.history_mail)
        self.next_update = self._first_send()

    def _unsubscribe_silent(self, *, as_of: datetime) -> None:
        """The silent sponsor's one-click unsubscribe from their latest update."""
        for plan in ENGAGEMENTS:
            if plan.silent_sponsor:
                subscription = SponsorSubscription.objects.get(
                    engagement__code=plan.code, stakeholder=self.people[plan.sponsors[0]]
                )
                subscription_unsubscribe(subscription_id=subscription.pk, as_of=as_of)
        self.next_update = self._first_send()

    def _acknowledge(self) -> None:
        """Some sponsors answered an update, one asking for a call; the leads heard of it in the app."""
        latest = self.midnight - timedelta(hours=1)
        for code, key, back, hours, comment, wants_call in ACKNOWLEDGEMENTS:
            sent = (
                Delivery.objects.filter(
                    subscription__engagement__code=code,
                    subscription__stakeholder=self.people[key],
                    outbox_message__status=OutboxMessage.Status.SENT,
                )
                .select_related("subscription__stakeholder", "outbox_message")
                .order_by("-scheduled_for")
            )
            delivery = sent[back] if sent.count() > back else None
            if delivery is None or delivery.outbox_message is None or delivery.outbox_message.sent_at is None:
                continue
            delivery_acknowledge(
                delivery=delivery,
                comment=comment,
                wants_call=wants_call,
                as_of=min(delivery.outbox_message.sent_at + timedelta(hours=hours), latest),
            )

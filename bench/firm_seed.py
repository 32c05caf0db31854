"""Seed a firm-scale portfolio into a throw-away PostgreSQL database, in minutes.

Not a test: the starting point for measuring pages and API lists at the size
of the whole firm (docs/benchmarks.md, "How to seed a firm").

    createdb -h 127.0.0.1 -U postgres firm
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/firm .venv/bin/python bench/firm_seed.py
    DATABASE_URL=... .venv/bin/python bench/firm_seed.py --scale 0.1   # a tenth of every size

At ``--scale 1``: 2,000 engagements of 200 clients, 40,000 stakeholders (each
with a role on one engagement of their client), 400 consultants on teams of
four, 2,000,000 check-ins (each with one attendee) and 1,000,000 follow-ups
spread over the two years before ``--as-of``. Every row is written by one
set-based ``INSERT … SELECT generate_series`` per table, not through the
services: nothing is notified and no health is computed; the search
documents of check-ins and follow-ups are written in SQL as the search service
would. The practice lead ``firm-practice-lead`` and the lead of the first
engagement, ``firm-consultant-1``, sign in with ``--password``.

The script migrates the database first. It refuses the database named
``test`` (the test suite's), any database that is not PostgreSQL, and one that
already holds users or engagements.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent

# Sizes at --scale 1, from issue 12: the whole firm at once.
ENGAGEMENTS = 2_000
STAKEHOLDERS = 40_000
CHECK_INS = 2_000_000
FOLLOW_UPS = 1_000_000
ENGAGEMENTS_PER_CLIENT = 10
TEAM_SIZE = 4
# Each consultant serves on about 20 engagements: a team of four per engagement.
ENGAGEMENTS_PER_CONSULTANT = 20
HISTORY_DAYS = 730
MILESTONES_PER_ENGAGEMENT = 14
PASSWORD = "firm-scale"  # noqa: S105 - the seeded users' sign-in, printed in the docs
# Follow-ups are open when due in the 44 days up to 30 days after --as-of (the last fortnight's
# overdue), and one in fifty older ones was never done; the rest are done.
OPEN_RECENT_DAYS = 44
# What the check-ins and follow-ups say, in turn, so that a search finds what a firm's would: a
# word of one of them matches a sixteenth of the rows, as "plan" or "training" would.
CHECK_IN_TEXTS = (
    "Walked through the cutover plan and the go-live checklist",
    "Reviewed the nurse super-user training schedule",
    "Budget variance on the interface work; change request to follow",
    "Sponsor asked for a weekly status report before the steering committee",
    "Data migration dry run: two defects, both with the vendor",
    "Agreed the scope of the pilot ward and its success measures",
    "Risk review: key-user availability in the summer",
    "Testing plan signed off by the quality lead",
    "Integration with the laboratory system delayed by a week",
    "Procurement of the scanners approved by finance",
    "Communication plan for the departments reviewed",
    "Security assessment findings walked through with IT",
    "Resourcing for the next phase discussed with operations",
    "Lessons learned from the first site rollout",
    "Hypercare staffing and the support rota agreed",
    "Benefits tracking: first figures shared with the sponsor",
)
FOLLOW_UP_TEXTS = (
    "Send the revised cutover plan",
    "Book the training rooms for the super-users",
    "Draft the change request for the interface work",
    "Prepare the steering committee status report",
    "Chase the vendor on the migration defects",
    "Confirm the pilot ward's success measures",
    "Ask operations for key-user availability",
    "Circulate the signed testing plan",
    "Update the schedule for the laboratory interface",
    "Send the scanner order to procurement",
    "Publish the departmental communication plan",
    "Share the security findings with the client's IT",
    "Propose the resourcing for the next phase",
    "Write up the lessons learned",
    "Publish the hypercare rota",
    "Send the first benefits figures",
)


class Refused(Exception):
    """The database is not one this script may fill."""


def _configure(database_url: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "pmaas.settings"
    os.environ["DATABASE_URL"] = database_url
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("SECRET_KEY", "bench-only-key-" + "x" * 50)
    os.environ["SECURE_SSL_REDIRECT"] = "false"
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()


def _check_target() -> None:
    from django.db import connection

    if connection.vendor != "postgresql":
        raise Refused(f"PostgreSQL only, not {connection.vendor}.")
    name = connection.settings_dict["NAME"]
    if name == "test":
        raise Refused("The database named test is the test suite's.")


def _check_empty() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM accounts_user) + (SELECT count(*) FROM engagements_engagement)"
        )
        (rows,) = cursor.fetchone()
    if rows:
        raise Refused(f"{connection.settings_dict['NAME']} already holds users or engagements.")


def check_seedable() -> None:
    """Refuse a database that is not PostgreSQL, the test suite's, or not empty; migrate the rest."""
    from django.core.management import call_command

    _check_target()
    call_command("migrate", verbosity=0, interactive=False)
    _check_empty()


def _sizes(scale: float) -> dict[str, int]:
    engagements = max(ENGAGEMENTS_PER_CLIENT, round(ENGAGEMENTS * scale))
    return {
        "clients": max(1, engagements // ENGAGEMENTS_PER_CLIENT),
        "engagements": engagements,
        "consultants": max(TEAM_SIZE, engagements * TEAM_SIZE // ENGAGEMENTS_PER_CONSULTANT),
        "stakeholders": max(engagements, round(STAKEHOLDERS * scale)),
        "check_ins": max(1, round(CHECK_INS * scale)),
        "follow_ups": max(1, round(FOLLOW_UPS * scale)),
        "milestones": MILESTONES_PER_ENGAGEMENT,
    }


# Row n of check-ins and follow-ups is on engagement (n - 1) % engagements, and the rows of one
# engagement are spread evenly over the two years, newest first; what else
# varies (kind, status, owner) turns with n / engagements, so that every engagement gets
# a mix rather than one value each.
#
# One statement per table. Ids are assigned by the database in generate_series
# order, so each statement can name the rows of the ones before by arithmetic
# over the first id (%(first_…)s) instead of joining them.
STEPS: list[tuple[str, str]] = [
    (
        "clients",
        """
        INSERT INTO engagements_client (name, time_zone, country, holiday_subdivision, created_at, updated_at)
        SELECT 'Firm client ' || n, 'Europe/London', 'GB', '', %(as_of)s, %(as_of)s
        FROM generate_series(1, %(clients)s) AS n ORDER BY n
        """,
    ),
    (
        "users",
        """
        INSERT INTO accounts_user (password, is_superuser, username, first_name, last_name, email,
            is_staff, is_active, date_joined, role, time_zone, page_filters)
        SELECT %(password)s, false,
            CASE WHEN n = 0 THEN 'firm-practice-lead' ELSE 'firm-consultant-' || n END,
            'Consultant', 'No. ' || n, 'firm-user-' || n || '@example.com', false, true, %(as_of)s,
            CASE WHEN n = 0 THEN 'practice_lead' ELSE 'consultant' END, 'Europe/London', '{}'::jsonb
        FROM generate_series(0, %(consultants)s) AS n ORDER BY n
        """,
    ),
    (
        "engagements",
        """
        INSERT INTO engagements_engagement (name, code, kind, description, budget, currency, start_date,
            status, country, skip_non_working_days, health, health_override, health_override_reason,
            created_at, updated_at, client_id, health_shared_with_client, holiday_subdivision, health_factors)
        SELECT 'Firm engagement ' || n, 'FIRM-' || n,
            (ARRAY['implementation', 'upgrade', 'launch', 'transformation', 'integration'])[1 + n %% 5],
            '', 100000 + (n %% 50) * 10000, 'GBP', (%(as_of)s::timestamptz - interval '730 days')::date,
            CASE WHEN n %% 10 = 0 THEN 'closed' ELSE 'active' END, 'GB', false,
            (ARRAY['green', 'green', 'amber', 'red'])[1 + n %% 4], '', '',
            %(as_of)s, %(as_of)s, %(first_client)s + (n - 1) / %(per_client)s, false, '', '[]'::jsonb
        FROM generate_series(1, %(engagements)s) AS n ORDER BY n
        """,
    ),
    (
        "memberships",
        """
        INSERT INTO engagements_membership (role, joined_at, engagement_id, user_id)
        SELECT CASE WHEN seat = 0 THEN 'lead' ELSE 'consultant' END, %(as_of)s,
            %(first_engagement)s + e - 1,
            %(first_user)s + 1 + ((e - 1) * %(team)s + seat) %% %(consultants)s
        FROM generate_series(1, %(engagements)s) AS e, generate_series(0, %(team)s - 1) AS seat
        ORDER BY e, seat
        """,
    ),
    (
        "stakeholders",
        """
        INSERT INTO stakeholders_stakeholder (name, email, title, department, phone, time_zone, notes,
            created_at, updated_at, client_id)
        SELECT 'Stakeholder ' || n, 'stakeholder-' || n || '@example.com', 'Director', 'Operations', '',
            'Europe/London', '', %(as_of)s, %(as_of)s, %(first_client)s + (n - 1) %% %(clients)s
        FROM generate_series(1, %(stakeholders)s) AS n ORDER BY n
        """,
    ),
    (
        "stakeholder roles",
        # Stakeholder n belongs to client (n - 1) % clients, and takes a role on
        # one of that client's engagements, turn by turn: the first on each
        # engagement is its sponsor, the second its PMO lead.
        """
        INSERT INTO stakeholders_stakeholderrole (kind, influence, interest, current_level, desired_level,
            notes, created_at, updated_at, engagement_id, stakeholder_id, relationship_health,
            relationship_health_previous)
        SELECT CASE (n - 1) / %(engagements)s WHEN 0 THEN 'sponsor' WHEN 1 THEN 'pmo_lead'
            ELSE 'team_member' END,
            1 + n %% 5, 1 + (n / 5) %% 5, 'neutral', 'supportive', '', %(as_of)s, %(as_of)s,
            %(first_engagement)s + ((n - 1) %% %(clients)s) * %(per_client)s
                + ((n - 1) / %(clients)s) %% %(per_client)s,
            %(first_stakeholder)s + n - 1, 'green', ''
        FROM generate_series(1, %(stakeholders)s) AS n ORDER BY n
        """,
    ),
    (
        "check-ins",
        """
        INSERT INTO communications_checkin (kind, occurred_at, summary, sentiment, decisions, created_at,
            updated_at, engagement_id, logged_by_id, shared_with_client)
        SELECT (ARRAY['meeting', 'call', 'email', 'video', 'workshop'])[1 + (n / %(engagements)s) %% 5],
            %(as_of)s::timestamptz - make_interval(mins => (
                ((n - 1) / %(engagements)s)::bigint * %(check_in_step)s + (n * 37) %% 600)::int),
            (%(check_in_texts)s::text[])[1 + (n / 7) %% 16] || ' (' || n || ')',
            ((n / %(engagements)s + n) %% 5) - 2, '', %(as_of)s, %(as_of)s,
            %(first_engagement)s + (n - 1) %% %(engagements)s,
            %(first_user)s + 1 + (((n - 1) %% %(engagements)s) * %(team)s) %% %(consultants)s,
            (n / %(engagements)s) %% 3 = 0
        FROM generate_series(1, %(check_ins)s) AS n ORDER BY n
        """,
    ),
    (
        "check-in attendees",
        # Check-in n is on engagement (n - 1) % engagements; its attendee is one
        # of the stakeholders with a role there (see stakeholder roles).
        """
        INSERT INTO communications_checkin_attendees (checkin_id, stakeholder_id)
        SELECT c.id, first_role.stakeholder_id
        FROM communications_checkin AS c JOIN (%(first_role)s) AS first_role USING (engagement_id)
        ORDER BY c.id
        """,
    ),
    (
        "follow-ups",
        """
        INSERT INTO communications_followup (title, details, due_at, status, completed_at, escalation_level,
            created_at, updated_at, engagement_id, owner_user_id, owner_stakeholder_id, shared_with_client)
        SELECT (%(follow_up_texts)s::text[])[1 + (n / 7) %% 16] || ' (' || n || ')', '',
            %(as_of)s::timestamptz + interval '30 days' - make_interval(mins => (
                ((n - 1) / %(engagements)s)::bigint * %(follow_up_step)s + (n * 53) %% 900)::int),
            CASE WHEN (n - 1) / %(engagements)s < %(open_recent)s OR (n - 1) / %(engagements)s %% 50 = 0
                THEN 'open' ELSE 'done' END,
            CASE WHEN NOT ((n - 1) / %(engagements)s < %(open_recent)s OR (n - 1) / %(engagements)s %% 50 = 0)
                THEN %(as_of)s::timestamptz END,
            0, %(as_of)s, %(as_of)s, %(first_engagement)s + (n - 1) %% %(engagements)s,
            CASE WHEN (n / %(engagements)s) %% 4 <> 0
                THEN %(first_user)s + 1
                    + (((n - 1) %% %(engagements)s) * %(team)s + (n / %(engagements)s) %% %(team)s)
                    %% %(consultants)s
            END,
            CASE WHEN (n / %(engagements)s) %% 4 = 0 THEN first_role.stakeholder_id END,
            (n / %(engagements)s) %% 2 = 0
        FROM generate_series(1, %(follow_ups)s) AS n
        JOIN (%(first_role)s) AS first_role
            ON first_role.engagement_id = %(first_engagement)s + (n - 1) %% %(engagements)s
        ORDER BY n
        """,
    ),
    (
        "milestones",
        # Six a year per engagement; those before --as-of done, save every fifth, which slips.
        """
        INSERT INTO engagements_milestone (name, description, due_on, completed_on, created_at, updated_at,
            engagement_id)
        SELECT 'Milestone ' || m, '', due_on,
            CASE WHEN due_on < %(as_of)s::date AND (e + m) %% 5 <> 0 THEN due_on END,
            %(as_of)s, %(as_of)s, %(first_engagement)s + e - 1
        FROM generate_series(1, %(engagements)s) AS e, generate_series(1, %(milestones)s) AS m,
            LATERAL (SELECT %(plan_start)s::date + m * 61 + e %% 30 AS due_on) AS d
        ORDER BY e, m
        """,
    ),
    (
        "channels",
        # Each sponsor met weekly and each PMO lead fortnightly, on Tuesdays at
        # 10:00 London time, by the engagement's lead; the dispatcher sets the next due time.
        """
        INSERT INTO communications_channel (kind, title, details, recurrence, starts_on, local_time,
            grace_period, duration, status, next_due_at, created_at, updated_at, engagement_id,
            stakeholder_id, owner_id)
        SELECT 'meeting', CASE WHEN r.kind = 'sponsor' THEN 'Weekly sponsor one-to-one'
                ELSE 'Fortnightly PMO review' END, '',
            CASE WHEN r.kind = 'sponsor' THEN 'FREQ=WEEKLY;BYDAY=TU'
                ELSE 'FREQ=WEEKLY;INTERVAL=2;BYDAY=TU' END,
            %(plan_start)s, '10:00', interval '2 days', interval '30 minutes', 'active', NULL,
            %(as_of)s, %(as_of)s, r.engagement_id, r.stakeholder_id,
            %(first_user)s + 1 + ((r.engagement_id - %(first_engagement)s) * %(team)s) %% %(consultants)s
        FROM stakeholders_stakeholderrole AS r WHERE r.kind IN ('sponsor', 'pmo_lead')
        ORDER BY r.engagement_id, r.kind DESC
        """,
    ),
    (
        "occurrences",
        # Every due time of the two years before --as-of: held on time, held late
        # (one in eight) or missed (one in six, more on every seventh engagement).
        """
        INSERT INTO communications_occurrence (channel_id, engagement_id, due_at, status, held_at,
            held_on_time, check_in_id, missed_at, created_at)
        SELECT c.id, c.engagement_id, due.at,
            CASE WHEN outcome.missed THEN 'missed' ELSE 'held' END,
            CASE WHEN NOT outcome.missed THEN due.at + CASE WHEN w %% 8 = 0 THEN interval '3 days'
                ELSE interval '0' END END,
            CASE WHEN NOT outcome.missed THEN w %% 8 <> 0 END,
            NULL, CASE WHEN outcome.missed THEN due.at + interval '2 days' END, %(as_of)s
        FROM communications_channel AS c,
            generate_series(0, %(history_days)s / 7) AS w,
            LATERAL (SELECT (c.starts_on + (9 - extract(isodow FROM c.starts_on)::int) %% 7 + w * 7
                + c.local_time) AT TIME ZONE 'Europe/London' AS at) AS due,
            LATERAL (SELECT (w + c.id) %% CASE WHEN c.engagement_id %% 7 = 0 THEN 3 ELSE 6 END = 0
                AS missed) AS outcome
        WHERE (c.recurrence NOT LIKE '%%INTERVAL=2%%' OR w %% 2 = 0)
            AND due.at + c.grace_period < %(as_of)s
        ORDER BY c.id, w
        """,
    ),
    (
        "search documents",
        # What search.services.search_documents_refresh writes for each check-in and follow-up:
        # one document for the firm and one for client users, the title weighted above the body.
        """
        INSERT INTO search_searchdocument (kind, object_id, audience, engagement_id, title, body, happened_at,
            vector)
        SELECT d.kind, d.id, a.audience, d.engagement_id, d.title, d.body, d.at,
            setweight(to_tsvector('english', d.title), 'A') || setweight(to_tsvector('english', d.body), 'B')
        FROM (
            SELECT 'check_in' AS kind, id, engagement_id,
                CASE kind WHEN 'video' THEN 'Video call' ELSE initcap(kind) END AS title, summary AS body,
                occurred_at AS at
            FROM communications_checkin
            UNION ALL
            SELECT 'follow_up', id, engagement_id, title, '', due_at FROM communications_followup
        ) AS d, (VALUES ('firm'), ('client')) AS a (audience)
        """,
    ),
]

# The first stakeholder with a role on each engagement: its check-ins' attendee, and the owner of
# the follow-ups a stakeholder owes.
FIRST_ROLE = """
    SELECT DISTINCT ON (engagement_id) engagement_id, stakeholder_id
    FROM stakeholders_stakeholderrole ORDER BY engagement_id, id
"""

FIRST_IDS = {
    "first_client": "engagements_client",
    "first_user": "accounts_user",
    "first_engagement": "engagements_engagement",
    "first_stakeholder": "stakeholders_stakeholder",
}


def _first_id(cursor: Any, table: str) -> int:
    cursor.execute(f"SELECT coalesce(min(id), 0) FROM {table}")  # noqa: S608 - a fixed table name
    return int(cursor.fetchone()[0])


def seed(*, scale: float, as_of: datetime, password: str) -> dict[str, int]:
    """Fill the empty, migrated database; one transaction, so a failure leaves it empty."""
    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction

    sizes = _sizes(scale)
    params: dict[str, Any] = {
        **sizes,
        "as_of": as_of,
        "password": make_password(password),
        "per_client": ENGAGEMENTS_PER_CLIENT,
        "team": TEAM_SIZE,
        "history_days": HISTORY_DAYS,
        # Minutes between one engagement's rows, so that they span the history evenly.
        "check_in_step": HISTORY_DAYS * 1440 * sizes["engagements"] // sizes["check_ins"],
        "follow_up_step": HISTORY_DAYS * 1440 * sizes["engagements"] // sizes["follow_ups"],
        "open_recent": OPEN_RECENT_DAYS * sizes["follow_ups"] // (HISTORY_DAYS * sizes["engagements"]),
        "plan_start": (as_of - timedelta(days=HISTORY_DAYS)).date(),
        "check_in_texts": list(CHECK_IN_TEXTS),
        "follow_up_texts": list(FOLLOW_UP_TEXTS),
    }
    with transaction.atomic(), connection.cursor() as cursor:
        for label, sql in STEPS:
            for name, table in FIRST_IDS.items():
                params[name] = _first_id(cursor, table)
            started = time.perf_counter()
            cursor.execute(sql.replace("%(first_role)s", FIRST_ROLE), params)
            print(f"{label:>20}: {cursor.rowcount:>10,} rows in {time.perf_counter() - started:6.1f} s")
    with connection.cursor() as cursor:
        # Fresh statistics, so the first measurement does not run on a planner's guesses.
        cursor.execute("ANALYZE")
    return sizes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the firm-scale sizes, 1 = all")
    parser.add_argument(
        "--as-of",
        type=lambda text: datetime.fromisoformat(text).astimezone(UTC),
        default=datetime(2026, 3, 2, 9, tzinfo=UTC),
        help="the moment the portfolio is seeded up to (ISO 8601); history lies before it",
    )
    parser.add_argument("--password", default=PASSWORD, help="password of the seeded users")
    args = parser.parse_args(argv)
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith(("postgres://", "postgresql://")):
        print("Set DATABASE_URL to a throw-away PostgreSQL database.", file=sys.stderr)
        return 2
    if not 0 < args.scale <= 1:
        print("--scale is a fraction above 0, at most 1.", file=sys.stderr)
        return 2
    _configure(database_url)
    try:
        check_seedable()
    except Refused as refusal:
        print(f"Refused: {refusal}", file=sys.stderr)
        return 1
    started = time.perf_counter()
    sizes = seed(scale=args.scale, as_of=args.as_of, password=args.password)
    print(f"Seeded {sizes} in {time.perf_counter() - started:.0f} s.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

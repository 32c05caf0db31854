from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.apps import apps
from django.contrib import admin
from django.db import connection
from django.db.models import Model
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import User, UserSession
from communications import raid
from communications import services as communication_services
from communications.calendar_feeds import calendar_feed_create
from communications.models import Channel, FollowUp, FollowUpOverdue
from engagements.models import Client
from notifications.models import OutboxMessage
from notifications.services import notification_preference_save
from tests import factories
from tests.factories import World

pytestmark = pytest.mark.django_db

OUR_APPS = ("accounts", "engagements", "stakeholders", "communications")
OUR_MODELS = [model for app in OUR_APPS for model in apps.get_app_config(app).get_models()]

# Per model: a search that finds a row of the factories' world, and filters that keep it.
CHANGELIST_QUERIES: dict[str, Callable[[World], str]] = {
    "accounts.User": lambda w: "q=lead&role__exact=consultant",
    "engagements.Client": lambda w: "q=Northwind&country__exact=DE",
    "engagements.Engagement": lambda w: "q=EHR&status__exact=active&kind__exact=implementation",
    "engagements.Membership": lambda w: "q=lead&role__exact=lead",
    "engagements.Milestone": lambda w: "q=Go-live&completed_on__isempty=1",
    "engagements.ChangeRequest": lambda w: "q=pharmacy&status__exact=proposed",
    "stakeholders.Stakeholder": lambda w: f"q=Stakeholder&client__id__exact={w.client_a.pk}",
    "stakeholders.StakeholderRole": lambda w: "q=EHR-A&kind__exact=sponsor&current_level__exact=neutral",
    "communications.Channel": lambda w: "q=Weekly&kind__exact=meeting&status__exact=active",
    "communications.CheckIn": lambda w: "q=plan&kind__exact=meeting&sentiment__exact=0",
    "communications.FollowUp": lambda w: (
        f"q=migration&status__exact=open&overdue=no&engagement__id__exact={w.mine.engagement.pk}"
    ),
    "communications.FollowUpComment": lambda w: (
        f"q=On+it&follow_up__engagement__client__id__exact={w.client_a.pk}"
    ),
    "communications.SponsorSubscription": lambda w: "q=EHR-A&cadence__exact=weekly&is_active__exact=1",
    "communications.Delivery": lambda w: "q=EHR-A&outbox_message__isempty=1",
    "communications.CommunicationObligation": lambda w: "q=EHR-A&status__exact=open",
    "accounts.CalendarFeed": lambda w: "q=EHR-A&revoked_at__isempty=1",
    "accounts.UserSession": lambda w: f"q=lead&created_at__year={w.mine.follow_up.due_at.year}",
    "communications.Occurrence": lambda w: "q=Weekly&status__exact=held",
    "notifications.OutboxMessage": lambda w: "q=digest&kind__exact=overdue_digest&failing=no",
    "communications.SilenceFlag": lambda w: "q=EHR-A&cleared_at__isempty=1",
    "communications.RaidItem": lambda w: "q=Interface&kind__exact=risk&status__exact=open",
    "communications.WeeklyRollup": lambda w: f"q=EHR-A&engagement__client__id__exact={w.client_a.pk}",
    "communications.ConsultantWeeklyRollup": lambda w: (
        f"q=EHR-A&engagement__client__id__exact={w.client_a.pk}"
    ),
    "communications.FollowUpOverdue": lambda w: "q=EHR-A&follow_up__status__exact=open",
    "notifications.Notification": lambda w: "q=lead&event__exact=follow_up_overdue&in_app__exact=1",
    "communications.CheckInRevision": lambda w: (
        f"q=plan&check_in__engagement__id__exact={w.mine.engagement.pk}"
    ),
    "communications.CheckInDeletion": lambda w: f"q=twice&engagement__id__exact={w.mine.engagement.pk}",
    "communications.FollowUpRedate": lambda w: (
        f"q=migration&follow_up__engagement__id__exact={w.mine.engagement.pk}"
    ),
    "communications.RaidRiskReview": lambda w: (
        f"q=Interface&item__engagement__id__exact={w.mine.engagement.pk}"
    ),
    "notifications.NotificationPreference": lambda w: (
        "q=lead&reminder_lead__exact=1wd&email_on_weekends__exact=1"
    ),
}


# Models whose rows the admin may not add, and why.
NO_ADD_PAGE = {
    "accounts.CalendarFeed": "a feed's secret is shown once, to the user who opens it on their account page",
    "accounts.UserSession": "a session is noted by the login page that starts it",
    "notifications.Notification": "a notification records an event a sweep saw",
    "notifications.OutboxMessage": "a message is written by the decision to send it",
    "communications.SilenceFlag": "a flag stands for a silence the sweep measured",
    "communications.FollowUpOverdue": "a stamp records what the overdue scan saw",
    "communications.CheckInRevision": "a version is kept by the edit that replaces it",
    "communications.CheckInDeletion": "a deletion is recorded by the deletion itself",
    "communications.FollowUpRedate": "a re-date is recorded by the move it describes",
    "communications.RaidRiskReview": "a review is recorded by the review of the risk",
    "communications.WeeklyRollup": "a roll-up sums the rows of its week, rewritten whenever they change",
    "communications.ConsultantWeeklyRollup": "a person's roll-up is rewritten with their engagement's week",
}


def _url(model: type[Model], view: str, *args: object) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def admin_http(world: World) -> HttpClient:
    # The world holds no calendar feed: a user opens their own.
    calendar_feed_create(actor=world.lead, engagement=world.mine.engagement)
    # Nor corrections: the edit, the deletion and the re-date services write them (the re-date
    # before the overdue stamp below, which a re-date clears).
    mine = world.mine
    communication_services.check_in_edit(
        actor=world.lead,
        check_in=mine.check_in,
        occurred_at=mine.check_in.occurred_at,
        summary="Walked through the plan again.",
        attendees=[mine.stakeholder],
    )
    # Nor a risk's review, which its review service keeps.
    raid.raid_risk_review(
        actor=world.lead,
        item=mine.raid_item,
        likelihood=2,
        impact=4,
        trend="falling",
        next_review_on=timezone.localdate() + dt.timedelta(days=14),
    )
    # With someone the world's silence flag and obligation do not concern, so both stay open.
    bystander = factories.make_role(engagement=mine.engagement).stakeholder
    duplicate = factories.make_check_in(engagement=mine.engagement, attendees=[bystander])
    communication_services.check_in_delete(actor=world.lead, check_in=duplicate, reason="Logged twice")
    communication_services.follow_up_redate(
        actor=world.lead, follow_up=mine.follow_up, due_at=mine.follow_up.due_at + dt.timedelta(days=7)
    )
    # Nor an outbound message: the sweeps write them.
    OutboxMessage.objects.create(
        kind=OutboxMessage.Kind.OVERDUE_DIGEST,
        idempotency_key="overdue_digest:user:lead:2026-03-09",
        recipient=world.lead,
        to_address=world.lead.email,
        subject="Daily digest",
        body_text="One item overdue.",
        created_at=world.mine.follow_up.due_at,
    )
    # Nor notifications or preferences: sweeps and users write them.
    factories.make_notification(recipient=world.lead, engagement=world.mine.engagement)
    notification_preference_save(user=world.lead, email_on_weekends=True)
    # Nor an overdue stamp: the world's follow-ups are not late yet.
    FollowUpOverdue.objects.create(follow_up=world.mine.follow_up, overdue_at=world.mine.follow_up.due_at)
    # Nor a session: the login page notes one.
    UserSession.objects.create(
        user=world.lead,
        session_key="a" * 32,
        user_agent="Firefox/128.0",
        created_at=world.mine.follow_up.due_at,
    )
    http = HttpClient()
    http.force_login(world.administrator)
    return http


def test_every_model_is_registered_with_filters_and_search() -> None:
    # given every model of the project's apps
    # when looking them up in the admin site
    # then each is registered, can be searched and filtered, and has a changelist query here
    for model in OUR_MODELS:
        assert admin.site.is_registered(model), model
        model_admin = admin.site.get_model_admin(model)
        assert model_admin.list_filter, model
        assert model_admin.search_fields, model
        assert model._meta.label in CHANGELIST_QUERIES, model


@pytest.mark.parametrize("model", OUR_MODELS, ids=lambda m: m._meta.label)
def test_administrator_searches_and_filters_every_changelist(
    model: type[Model], world: World, admin_http: HttpClient
) -> None:
    # given the factories' world and a logged-in administrator
    query = CHANGELIST_QUERIES[model._meta.label](world)

    # when opening the changelist with a search and a filter
    response = admin_http.get(f"{_url(model, 'changelist')}?{query}")

    # then the page renders and still lists the matching row (a bad filter would redirect with ?e=1)
    assert response.status_code == 200
    assert response.context["cl"].result_count >= 1


@pytest.mark.parametrize("model", OUR_MODELS, ids=lambda m: m._meta.label)
def test_administrator_opens_add_and_change_pages(
    model: type[Model], world: World, admin_http: HttpClient
) -> None:
    # given a row of the model
    row = model._default_manager.order_by("pk").first()
    assert row is not None

    # when opening the add page and that row's change page
    add = admin_http.get(_url(model, "add"))
    change = admin_http.get(_url(model, "change", row.pk))

    # then both render
    assert add.status_code == (403 if model._meta.label in NO_ADD_PAGE else 200)
    assert change.status_code == 200


def _changelist_queries(http: HttpClient) -> dict[str, int]:
    counts = {}
    for model in OUR_MODELS:
        with CaptureQueriesContext(connection) as queries:
            assert http.get(_url(model, "changelist")).status_code == 200
        counts[model._meta.label] = len(queries)
    return counts


def test_changelists_query_the_same_at_two_sizes(world: World, admin_http: HttpClient) -> None:
    # given the changelists' query counts for the factories' world
    before = _changelist_queries(admin_http)

    # when a fourth engagement brings one more row of every kind
    engagement = factories.make_engagement(client=world.client_b, lead=world.outsider_consultant)
    factories.make_scope(engagement=engagement, owner=world.outsider_consultant)
    after = _changelist_queries(admin_http)

    # then no changelist spends a query per row
    assert after == before


def test_overdue_filter_splits_follow_ups_by_due_time(world: World, admin_http: HttpClient) -> None:
    # given one follow-up past its due time and one still in time
    late = factories.make_follow_up(
        engagement=world.mine.engagement, owner_user=world.lead, title="Late item", due_at=timezone.now()
    )
    FollowUp.objects.filter(pk=late.pk).update(due_at=timezone.now() - dt.timedelta(days=2))
    url = _url(FollowUp, "changelist")

    # when filtering on overdue yes and no
    overdue = admin_http.get(f"{url}?overdue=yes")
    in_time = admin_http.get(f"{url}?overdue=no")

    # then each side lists only its own
    assert {f.pk for f in overdue.context["cl"].result_list} == {late.pk}
    assert late.pk not in {f.pk for f in in_time.context["cl"].result_list}
    assert world.mine.follow_up.pk in {f.pk for f in in_time.context["cl"].result_list}


def _channel_form(world: World, **overrides: str) -> dict[str, str]:
    data = {
        "engagement": str(world.mine.engagement.pk),
        "stakeholder": str(world.mine.stakeholder.pk),
        "kind": "call",
        "title": "Monthly finance review",
        "details": "",
        "recurrence": "FREQ=MONTHLY;BYDAY=1TU",
        "starts_on": "2026-01-06",
        "local_time": "09:00",
        "grace_period": "2 00:00:00",
        "duration": "00:30:00",
        "owner": str(world.lead.pk),
        "status": "active",
        "_save": "Save",
    }
    data.update(overrides)
    return data


def test_channel_added_in_admin_gets_its_next_due_time(world: World, admin_http: HttpClient) -> None:
    # given a valid plan for a channel
    # when an administrator saves it
    response = admin_http.post(_url(Channel, "add"), _channel_form(world))

    # then it is stored with its first due time computed from the rule
    assert response.status_code == 302
    channel = Channel.objects.get(title="Monthly finance review")
    assert channel.next_due_at is not None
    assert channel.next_due_at > timezone.now()


def test_channel_with_a_broken_rule_is_refused_in_admin(world: World, admin_http: HttpClient) -> None:
    # given a rule that does not parse
    # when an administrator saves it
    response = admin_http.post(_url(Channel, "add"), _channel_form(world, recurrence="FREQ=SOMETIMES"))

    # then the form comes back with the problem and nothing is stored
    assert response.status_code == 200
    assert "recurrence" in response.context["adminform"].form.errors
    assert not Channel.objects.filter(title="Monthly finance review").exists()


@pytest.mark.parametrize(
    "make_user",
    [
        pytest.param(lambda w: w.consultant, id="consultant"),
        pytest.param(lambda w: w.practice_lead, id="practice-lead"),
        pytest.param(lambda w: w.client_user, id="client"),
        pytest.param(lambda w: factories.consultant(is_staff=True), id="staff-consultant"),
        pytest.param(
            lambda w: factories.UserFactory.create(role=User.Role.ADMINISTRATOR), id="admin-not-staff"
        ),
    ],
)
def test_admin_refuses_everyone_but_staff_administrators(
    make_user: Callable[[World], User], world: World
) -> None:
    # given a signed-in user who is not an active staff administrator
    http = HttpClient()
    http.force_login(make_user(world))

    # when opening the admin index and a changelist
    index = http.get(reverse("admin:index"))
    changelist = http.get(_url(FollowUp, "changelist"))

    # then both send them to the admin login
    login = reverse("admin:login")
    assert index.status_code == 302
    assert index["Location"].startswith(login)
    assert changelist.status_code == 302
    assert changelist["Location"].startswith(login)


def test_staff_administrator_role_gets_in_without_being_superuser(world: World) -> None:
    # given a staff user whose role is administrator but who is not a superuser
    user = factories.UserFactory.create(role=User.Role.ADMINISTRATOR, is_staff=True)
    http = HttpClient()
    http.force_login(user)

    # when opening the admin index
    response = http.get(reverse("admin:index"))

    # then the site lets them in
    assert response.status_code == 200


def test_client_settings_refuse_a_holiday_region_of_another_country(
    world: World, admin_http: HttpClient
) -> None:
    # Given a UK client's settings in the admin
    client = world.client_a
    body = {"name": client.name, "time_zone": client.time_zone, "country": "GB", "holiday_subdivision": "BY"}

    # When a German Land is entered as its holiday region
    response = admin_http.post(_url(Client, "change", client.pk), body)

    # Then the form shows the field error naming the UK's regions, and nothing changes
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["holiday_subdivision"] == ["Not a region of GB; use one of ENG, NIR, SCT, WLS."]
    client.refresh_from_db()
    assert client.holiday_subdivision == ""


def test_client_settings_give_a_client_moved_to_the_uk_englands_holidays(
    world: World, admin_http: HttpClient
) -> None:
    # Given a German client without a holiday region
    client = world.client_a
    body = {"name": client.name, "time_zone": "Europe/London", "country": "GB", "holiday_subdivision": ""}

    # When its country is changed to GB without naming a region
    response = admin_http.post(_url(Client, "change", client.pk), body)

    # Then it gets England
    assert response.status_code == 302, response.content
    client.refresh_from_db()
    assert client.holiday_subdivision == "ENG"

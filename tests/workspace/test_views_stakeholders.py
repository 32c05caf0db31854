from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from communications.health import engagements_recompute_health
from communications.models import CheckIn, FollowUp
from communications.services import FollowUpSpec
from pmaas.concurrency import STALE_MESSAGE
from stakeholders.models import Stakeholder, StakeholderRole
from tests import factories
from workspace.forms.stakeholders import seen_version
from workspace.views.stakeholders import STAKEHOLDER_CHECK_INS_SHOWN, STAKEHOLDER_FOLLOW_UPS_SHOWN

HX = {"HTTP_HX_REQUEST": "true"}


def _register(engagement):
    return reverse("engagement_stakeholders", args=[engagement.pk])


def _role_post(role, **overrides):
    data = {
        "kind": role.kind,
        "influence": str(role.influence),
        "interest": str(role.interest),
        "current_level": role.current_level,
        "desired_level": role.desired_level,
        "relationship_owner": str(role.relationship_owner_id or ""),
        "notes": role.notes,
        "updated_at": seen_version(role.updated_at),
    }
    data.update(overrides)
    return data


def _person_post(stakeholder, **overrides):
    data = {
        "name": stakeholder.name,
        "email": stakeholder.email,
        "title": stakeholder.title,
        "department": stakeholder.department,
        "phone": stakeholder.phone,
        "time_zone": stakeholder.time_zone,
        "notes": stakeholder.notes,
        "updated_at": seen_version(stakeholder.updated_at),
    }
    data.update(overrides)
    return data


def _new_person_post(**overrides):
    data = {
        "stakeholder": "",
        "name": "Dana Whitfield",
        "email": "dana@northwind.test",
        "title": "CFO",
        "department": "Finance",
        "phone": "",
        "time_zone": "Europe/Berlin",
        "kind": "business_leader",
        "influence": "4",
        "interest": "2",
        "current_level": "neutral",
        "desired_level": "supportive",
        "relationship_owner": "",
        "notes": "",
    }
    data.update(overrides)
    return data


# The register: who sees it, what it shows


@pytest.mark.parametrize(
    ("role", "scope", "status"),
    [
        ("administrator", "other", 200),
        ("practice_lead", "other", 200),
        ("engagement_lead", "mine", 200),
        ("consultant", "mine", 200),
        ("client_pmo_lead", "mine", 200),
        ("client_pmo_lead", "sibling", 200),
        ("consultant", "sibling", 404),
        ("consultant", "other", 404),
        ("client_pmo_lead", "other", 404),
    ],
)
def test_register_is_shown_inside_scope_and_404_outside(client, world, role, scope, status):
    # Given a user of a role and an engagement
    client.force_login(world.users()[role])
    engagement = getattr(world, scope).engagement

    # When they open its stakeholders tab
    response = client.get(_register(engagement))

    # Then they see the register with the engagement's people, or nothing at all
    assert response.status_code == status
    if status == 200:
        body = response.content.decode()
        assert getattr(world, scope).stakeholder.name in body
        assert 'aria-current="page">Stakeholders' in body


def test_register_row_shows_the_role_last_contact_and_next_due(client, world):
    # Given the sponsor of my engagement, last met two days ago there and an hour ago on another engagement
    role = world.mine.role
    StakeholderRole.objects.filter(pk=role.pk).update(influence=5, interest=4)
    met = timezone.now() - dt.timedelta(days=2)
    factories.make_check_in(engagement=world.mine.engagement, attendees=[role.stakeholder], occurred_at=met)
    sibling_role = factories.make_role(engagement=world.sibling.engagement, stakeholder=role.stakeholder)
    factories.make_check_in(engagement=world.sibling.engagement, attendees=[sibling_role.stakeholder])
    client.force_login(world.consultant)

    # When the consultant opens the register
    response = client.get(_register(world.mine.engagement))

    # Then the row shows the role, the last contact on this engagement only, and the channel's next due
    row = response.context["roles"][0]
    assert row.pk == role.pk
    assert row.last_contact_at == max(met, world.mine.check_in.occurred_at)
    world.mine.channel.refresh_from_db()
    assert row.next_due_at == world.mine.channel.next_due_at
    body = response.content.decode()
    assert "Sponsor" in body
    assert "Very high" in body
    assert str(world.lead) in body


def test_register_shows_edit_controls_to_the_team_and_none_to_the_client(client, world):
    engagement = world.mine.engagement
    edit_url = reverse("stakeholder_role_edit", args=[world.mine.role.pk])
    add_url = reverse("stakeholder_role_create", args=[engagement.pk])

    # Given the consultant, then the register offers add, edit and remove
    client.force_login(world.consultant)
    body = client.get(_register(engagement)).content.decode()
    assert add_url in body
    assert edit_url in body

    # Given the client's PMO lead, then it offers none of them
    client.force_login(world.client_user)
    body = client.get(_register(engagement)).content.decode()
    assert add_url not in body
    assert edit_url not in body
    assert "Remove" not in body


def test_grid_draws_a_labelled_point_per_stakeholder_in_its_quadrant(client, world):
    # Given stakeholders placed in each quadrant, two of them in the same cell
    engagement = world.mine.engagement
    StakeholderRole.objects.filter(pk=world.mine.role.pk).update(influence=5, interest=5)
    placed = {
        "Ada High-High": (5, 5, "manage-closely"),
        "Ben High-Low": (4, 1, "keep-satisfied"),
        "Cy Low-High": (2, 4, "keep-informed"),
        "Di Low-Low": (3, 3, "monitor"),
    }
    for name, (influence, interest, _) in placed.items():
        stakeholder = factories.make_stakeholder(client=engagement.client, name=name)
        factories.make_role(
            engagement=engagement, stakeholder=stakeholder, influence=influence, interest=interest
        )
    client.force_login(world.consultant)

    # When the register is opened
    body = client.get(_register(engagement)).content.decode()

    # Then the SVG is an accessible image with a title and description
    grid = body.index("<svg", body.index("<main"))  # the header's bell is a drawing too
    svg = body[grid : body.index("</svg>", grid)]
    assert 'role="img"' in svg
    assert "<title" in svg
    assert "<desc" in svg
    # And each stakeholder is one point, labelled with their name, in the right quadrant
    points = re.findall(r'<g class="point" data-quadrant="([a-z-]+)">\s*<title>\d+\. ([^:]+):', svg)
    assert len(points) == 5
    by_name = {name: quadrant for quadrant, name in points}
    for name, (_, _, quadrant) in placed.items():
        assert by_name[name] == quadrant
    assert by_name[world.mine.stakeholder.name] == "manage-closely"
    # And the two sharing a cell do not sit on top of each other
    centres = re.findall(r'<circle cx="([\d.]+)" cy="([\d.]+)"', svg)
    assert len(set(centres)) == len(centres)
    # And the quadrant table behind the picture names them too
    assert "Keep satisfied" in body
    assert "Ben High-Low" in body[body.index("Who is in which quadrant") :]


def test_matrix_marks_current_and_desired_and_states_the_gap(client, world):
    # Given a stakeholder two steps short of the desired level
    StakeholderRole.objects.filter(pk=world.mine.role.pk).update(
        current_level="resistant", desired_level="supportive"
    )
    client.force_login(world.consultant)

    # When the register is opened
    body = client.get(_register(world.mine.engagement)).content.decode()

    # Then the matrix highlights the gap and says it in words
    matrix = body[body.index('class="table assessment-matrix"') :]
    assert 'class="has-gap"' in matrix
    assert "2 steps to go" in matrix
    assert matrix.count("level-cell gap") == 2
    assert '<span class="visually-hidden">current</span>' in matrix
    assert '<span class="visually-hidden">desired</span>' in matrix


@pytest.mark.parametrize("count", [5, 50])
def test_register_query_count_does_not_grow_with_stakeholders(client, db, django_assert_num_queries, count):
    # Given an engagement with some number of stakeholders, each met once and planned
    lead = factories.consultant()
    engagement = factories.make_engagement(lead=lead)
    for _ in range(count):
        role = factories.make_role(engagement=engagement, relationship_owner=lead)
        factories.make_channel(role=role, owner=lead)
        factories.make_check_in(engagement=engagement, attendees=[role.stakeholder])
    client.force_login(lead)

    # When the register is opened, then it costs the same number of queries at any size
    with django_assert_num_queries(7):
        response = client.get(_register(engagement))
    assert len(response.context["roles"]) == count


# Adding someone to the register


def test_adding_a_known_person_gives_them_a_role(client, world):
    # Given someone at the client who has a role on the sibling engagement only
    known = world.sibling.stakeholder
    client.force_login(world.consultant)

    # When the consultant picks them and sets their role
    response = client.post(
        reverse("stakeholder_role_create", args=[world.mine.engagement.pk]),
        _new_person_post(
            stakeholder=str(known.pk), name="", email="", relationship_owner=str(world.consultant.pk)
        ),
    )

    # Then they are on the register, owned by the consultant
    assert response.status_code == 302
    role = StakeholderRole.objects.get(engagement=world.mine.engagement, stakeholder=known)
    assert role.relationship_owner == world.consultant
    assert role.influence == 4


def test_adding_a_new_person_records_them_and_their_role_together(client, world):
    client.force_login(world.consultant)

    # When the consultant enters a new person without a time zone
    response = client.post(
        reverse("stakeholder_role_create", args=[world.mine.engagement.pk]), _new_person_post(time_zone="")
    )

    # Then the person exists at the engagement's client, in its time zone, with a role
    assert response.status_code == 302
    person = Stakeholder.objects.get(email="dana@northwind.test")
    assert person.client == world.client_a
    assert person.time_zone == world.client_a.time_zone
    assert person.roles.get().engagement == world.mine.engagement


def test_add_form_shows_errors_next_to_fields_and_keeps_what_was_typed(client, world):
    client.force_login(world.consultant)
    before = Stakeholder.objects.count()

    # When the consultant types a bad email and an unknown time zone
    response = client.post(
        reverse("stakeholder_role_create", args=[world.mine.engagement.pk]),
        _new_person_post(email="dana-at-northwind", time_zone="Mars/Olympus_Mons"),
    )

    # Then the form comes back with each error beside its field and the typed values kept
    assert response.status_code == 200
    body = response.content.decode()
    assert re.search(r'id="id_email_errors">.*Enter a valid email address', body, re.S)
    assert re.search(r'id="id_time_zone_errors">.*Select a valid choice', body, re.S)
    assert 'value="dana-at-northwind"' in body
    assert 'value="Dana Whitfield"' in body
    assert 'value="Finance"' in body
    # And nothing was saved
    assert Stakeholder.objects.count() == before


def test_time_zone_list_offers_places_and_utc_but_not_aliases_or_system_files(client, world):
    client.force_login(world.consultant)

    # When the consultant opens the add form
    body = client.get(reverse("stakeholder_role_create", args=[world.mine.engagement.pk])).content.decode()

    # Then the time zone list names places (and UTC), not the zone database's aliases and files
    options = set(
        re.findall(r'<option value="([^"]+)"', body.split('name="time_zone"', 1)[1].split("</select>", 1)[0])
    )
    assert {"Europe/Berlin", "America/Los_Angeles", "Asia/Tokyo", "UTC"} <= options
    assert not options & {"Factory", "localtime", "US/Eastern", "GMT+0", "Japan", "Etc/GMT+5", "Europe/Kiev"}


def test_add_form_refuses_a_relationship_owner_from_another_team(client, world):
    client.force_login(world.practice_lead)
    before = Stakeholder.objects.count()

    # When the owner picked is not on the engagement's team
    response = client.post(
        reverse("stakeholder_role_create", args=[world.mine.engagement.pk]),
        _new_person_post(relationship_owner=str(world.outsider_consultant.pk)),
    )

    # Then the owner field says so and no person or role is created
    assert response.status_code == 200
    assert re.search(
        r'id="id_relationship_owner_errors">.*Select a valid choice', response.content.decode(), re.S
    )
    assert Stakeholder.objects.count() == before


def test_a_second_role_for_the_same_person_is_refused_with_a_message(client, world):
    client.force_login(world.consultant)
    url = reverse("stakeholder_role_create", args=[world.mine.engagement.pk])

    # When the consultant picks someone already on the register
    response = client.post(
        url, _new_person_post(stakeholder=str(world.mine.stakeholder.pk), name="", email="")
    )

    # Then the pick is refused with a message saying why
    assert response.status_code == 200
    assert "already on this engagement&#x27;s register" in response.content.decode()
    assert StakeholderRole.objects.filter(stakeholder=world.mine.stakeholder).count() == 1

    # And when a new person is entered with the address of someone already at the client
    response = client.post(url, _new_person_post(email=world.mine.stakeholder.email.upper()))

    # Then the email field says so
    assert re.search(
        r'id="id_email_errors">.*already has this email address', response.content.decode(), re.S
    )


def test_add_form_needs_someone_picked_or_named(client, world):
    client.force_login(world.consultant)

    # When neither an existing person nor a new name is given
    response = client.post(
        reverse("stakeholder_role_create", args=[world.mine.engagement.pk]), _new_person_post(name="")
    )

    # Then the name field asks for one
    assert re.search(r'id="id_name_errors">.*Pick someone already known', response.content.decode(), re.S)


def test_add_form_offers_only_people_of_the_client_without_a_role(client, world):
    # Given a person at client A with no role on my engagement and the sibling's sponsor
    client.force_login(world.consultant)

    # When the consultant opens the add form
    form = client.get(reverse("stakeholder_role_create", args=[world.mine.engagement.pk])).context["form"]

    # Then it offers the sibling's sponsor, not my sponsor nor the other client's people
    offered = set(form.fields["stakeholder"].queryset)
    assert world.sibling.stakeholder in offered
    assert world.mine.stakeholder not in offered
    assert world.other.stakeholder not in offered
    assert set(form.fields["relationship_owner"].queryset) == {world.lead, world.consultant}


# Editing a role


def test_editing_a_role_without_javascript_saves_and_returns_to_the_register(client, world):
    role = world.mine.role
    client.force_login(world.consultant)

    # When the consultant saves new levels through the plain form
    response = client.post(
        reverse("stakeholder_role_edit", args=[role.pk]),
        _role_post(role, current_level="supportive", desired_level="leading", notes="Warming up"),
    )

    # Then the role changes and they are back on the register
    assert response.status_code == 302
    assert response["Location"] == _register(world.mine.engagement)
    role.refresh_from_db()
    assert (role.current_level, role.desired_level, role.notes) == ("supportive", "leading", "Warming up")


def test_a_stale_role_edit_is_refused_and_the_first_save_survives(client, world):
    # Given two people who opened the same role
    role = world.mine.role
    url = reverse("stakeholder_role_edit", args=[role.pk])
    client.force_login(world.consultant)

    # When the first saves, and then the second saves from the same original copy
    first = client.post(url, _role_post(role, influence="5"))
    second = client.post(url, _role_post(role, influence="1", notes="Second thoughts"))

    # Then the second is told, keeps what they typed, and the first's value stands
    assert first.status_code == 302
    assert second.status_code == 200
    body = second.content.decode()
    assert "Someone else changed this since you opened it" in body
    assert "Second thoughts" in body
    assert second.context["form"]["influence"].value() == "1"
    role.refresh_from_db()
    assert role.influence == 5
    assert role.notes == ""
    assert STALE_MESSAGE in second.context["form"].non_field_errors()


def test_htmx_edit_swaps_the_row_for_a_form_and_back(client, world):
    role = world.mine.role
    url = reverse("stakeholder_role_edit", args=[role.pk])
    client.force_login(world.consultant)

    # When htmx asks for the edit form, then it gets a table row holding the form, not a page
    form_row = client.get(url, **HX).content.decode()
    assert form_row.lstrip().startswith("<tr")
    assert "<html" not in form_row
    assert f'hx-post="{url}"' in form_row

    # When htmx posts the form, then it gets the updated register row
    saved = client.post(url, _role_post(role, kind="pmo_lead"), **HX).content.decode()
    assert saved.lstrip().startswith(f'<tr id="role-{role.pk}"')
    assert "PMO lead" in saved
    assert "<form" not in saved
    # And the grid and matrix the row feeds come along, out of band
    assert '<div id="stakeholder-charts" class="stakeholder-charts" hx-swap-oob="true">' in saved
    assert 'role="img"' in saved

    # When htmx cancels, then it gets the row back; without htmx the same link leads to the register
    row_url = reverse("stakeholder_role_row", args=[role.pk])
    assert client.get(row_url, **HX).content.decode().lstrip().startswith(f'<tr id="role-{role.pk}"')
    assert client.get(row_url)["Location"].startswith(_register(world.mine.engagement))


def test_htmx_edit_with_an_error_returns_the_form_row_with_the_message(client, world):
    role = world.mine.role
    client.force_login(world.consultant)

    # When htmx posts an owner from another team
    response = client.post(
        reverse("stakeholder_role_edit", args=[role.pk]),
        _role_post(role, relationship_owner=str(world.outsider_consultant.pk)),
        **HX,
    )

    # Then the inline form comes back with the error beside the owner field
    body = response.content.decode()
    assert body.lstrip().startswith("<tr")
    assert re.search(rf'id="role-{role.pk}-relationship_owner_errors">.*Select a valid choice', body, re.S)


# What a client PMO lead may not do


def test_client_user_gets_403_on_every_change(client, world):
    client.force_login(world.client_user)
    role = world.mine.role
    stakeholder = world.mine.stakeholder

    # When the client's PMO lead posts to any of the stakeholder forms, then each is forbidden
    assert (
        client.post(
            reverse("stakeholder_role_create", args=[role.engagement_id]), _new_person_post()
        ).status_code
        == 403
    )
    assert client.get(reverse("stakeholder_role_edit", args=[role.pk])).status_code == 403
    assert client.post(reverse("stakeholder_role_edit", args=[role.pk]), _role_post(role)).status_code == 403
    assert client.post(reverse("stakeholder_role_remove", args=[role.pk])).status_code == 403
    assert (
        client.post(reverse("stakeholder_edit", args=[stakeholder.pk]), _person_post(stakeholder)).status_code
        == 403
    )

    # And nothing changed
    assert StakeholderRole.objects.filter(pk=role.pk).exists()
    assert not Stakeholder.objects.filter(name="Dana Whitfield").exists()


# Removing someone from the register


def test_removing_someone_with_open_work_is_refused_with_what_to_do(client, world):
    # Given the sponsor, who owes an open follow-up and has an active channel
    role = world.mine.role
    client.force_login(world.consultant)

    # When the consultant confirms the removal
    response = client.post(reverse("stakeholder_role_remove", args=[role.pk]))

    # Then it is refused, saying what is open and what to do instead
    assert response.status_code == 409
    body = response.content.decode()
    assert "1 open follow-up and 1 active channel" in body
    assert "pause or remove their channels" in body
    assert StakeholderRole.objects.filter(pk=role.pk).exists()


def test_removing_someone_without_open_work_takes_them_off_the_register(client, world):
    # Given a business leader with no plan and no follow-ups
    role = factories.make_role(engagement=world.mine.engagement)
    client.force_login(world.consultant)
    url = reverse("stakeholder_role_remove", args=[role.pk])

    # When the consultant opens the confirmation and confirms
    assert "Remove " in client.get(url).content.decode()
    response = client.post(url)

    # Then the role is gone, the person stays on record
    assert response.status_code == 302
    assert not StakeholderRole.objects.filter(pk=role.pk).exists()
    assert Stakeholder.objects.filter(pk=role.stakeholder_id).exists()


# The stakeholder page


@pytest.mark.parametrize(
    ("role", "scope", "status"),
    [
        ("administrator", "other", 200),
        ("consultant", "mine", 200),
        ("consultant", "sibling", 200),
        ("client_pmo_lead", "mine", 200),
        ("consultant", "other", 404),
        ("client_pmo_lead", "other", 404),
    ],
)
def test_stakeholder_page_is_shown_inside_scope_and_404_outside(client, world, role, scope, status):
    client.force_login(world.users()[role])
    response = client.get(reverse("stakeholder_detail", args=[getattr(world, scope).stakeholder.pk]))
    assert response.status_code == status


def test_stakeholder_page_shows_only_roles_and_interactions_the_user_may_see(client, world):
    # Given my sponsor also has a role on the sibling engagement and met its team there
    person = world.mine.stakeholder
    factories.make_role(engagement=world.sibling.engagement, stakeholder=person)
    factories.make_check_in(
        engagement=world.sibling.engagement, attendees=[person], summary="Sibling secret roadmap talk"
    )

    # When the consultant (on my engagement only) opens the person's page
    client.force_login(world.consultant)
    response = client.get(reverse("stakeholder_detail", args=[person.pk]))

    # Then only my engagement's role and check-in show
    assert [role.engagement for role, _ in response.context["role_health"]] == [world.mine.engagement]
    body = response.content.decode()
    assert "Sibling secret roadmap talk" not in body
    assert world.mine.check_in.summary in body
    assert world.mine.follow_up.title in body

    # And a practice lead sees both
    client.force_login(world.practice_lead)
    response = client.get(reverse("stakeholder_detail", args=[person.pk]))
    assert len(response.context["role_health"]) == 2
    assert "Sibling secret roadmap talk" in response.content.decode()


def test_stakeholder_page_gives_relationship_health_with_reasons(client, world):
    # Given my sponsor owes two overdue follow-ups
    person = world.mine.stakeholder
    factories.make_check_in(
        engagement=world.mine.engagement,
        attendees=[person],
        follow_ups=[
            FollowUpSpec(
                title="Sign the budget",
                due_at=timezone.now() + dt.timedelta(days=1),
                owner_stakeholder=person,
            )
        ],
    )
    FollowUp.objects.filter(owner_stakeholder=person).update(due_at=timezone.now() - dt.timedelta(days=1))
    # And the sweep has run since they fell overdue
    swept = timezone.now()
    engagements_recompute_health(as_of=swept)
    client.force_login(world.consultant)

    # When the consultant opens their page
    response = client.get(reverse("stakeholder_detail", args=[person.pk]))

    # Then the relationship reads red because of them, as computed by the sweep, and says when
    ((_, health),) = response.context["role_health"]
    assert health.status == "red"
    assert "2 overdue follow-ups" in health.reasons
    body = response.content.decode()
    assert "2 overdue follow-ups" in body
    shown_at = swept.astimezone(ZoneInfo(world.consultant.time_zone))
    assert f"computed {shown_at:%-d %b %H:%M}" in body


def test_stakeholder_page_says_since_when_a_relationship_has_its_colour_and_its_limits_in_words(
    client, world
):
    # Given a business leader with no planned channel, last met 30 days ago, found amber by a sweep
    # two days ago, then met again today
    role = factories.make_role(engagement=world.mine.engagement, kind=StakeholderRole.Kind.BUSINESS_LEADER)
    person = role.stakeholder
    factories.make_check_in(
        engagement=world.mine.engagement,
        attendees=[person],
        occurred_at=timezone.now() - dt.timedelta(days=30),
    )
    found_amber = timezone.now() - dt.timedelta(days=2)
    engagements_recompute_health(as_of=found_amber)
    amber = StakeholderRole.objects.get(pk=role.pk)
    factories.make_check_in(engagement=world.mine.engagement, attendees=[person])
    met_again = timezone.now()
    engagements_recompute_health(as_of=met_again)
    client.force_login(world.consultant)

    # When the consultant opens their page
    body = client.get(reverse("stakeholder_detail", args=[person.pk])).content.decode()

    # Then the amber reason said how long and the limit in one unit; the page says green since today,
    # amber before, and gives the limits without a channel in the same words
    assert amber.relationship_health_factors[0]["detail"] == (
        "No contact for 4 weeks and no planned channel (limit: 3 weeks)"
    )
    today = met_again.astimezone(ZoneInfo(world.consultant.time_zone))
    assert f"green since {today.day} {today:%b}, amber before" in body
    assert " until " not in body
    assert "(45 days without a channel)" in body and "(3 weeks without a channel)" in body


def test_script_in_a_summary_or_notes_renders_as_text(client, world):
    # Given a check-in summary and a person's notes that carry a script
    person = world.mine.stakeholder
    factories.make_check_in(
        engagement=world.mine.engagement, attendees=[person], summary="Hi <script>alert('x')</script> there"
    )
    Stakeholder.objects.filter(pk=person.pk).update(notes="**VIP** <script>alert('y')</script>")
    client.force_login(world.consultant)

    # When the person's page is shown
    body = client.get(reverse("stakeholder_detail", args=[person.pk])).content.decode()

    # Then no script tag is in the page, the text is escaped, and Markdown still works
    assert "<script>alert" not in body
    assert "&lt;script&gt;alert(&#x27;x&#x27;)" in body or "&lt;script&gt;alert('x')" in body
    assert "<strong>VIP</strong>" in body


def test_stakeholder_page_shows_the_edit_link_only_to_who_may_edit(client, world):
    edit_url = reverse("stakeholder_edit", args=[world.mine.stakeholder.pk])
    client.force_login(world.consultant)
    assert (
        edit_url
        in client.get(reverse("stakeholder_detail", args=[world.mine.stakeholder.pk])).content.decode()
    )
    client.force_login(world.client_user)
    assert (
        edit_url
        not in client.get(reverse("stakeholder_detail", args=[world.mine.stakeholder.pk])).content.decode()
    )


@pytest.mark.parametrize("count", [5, 50])
def test_stakeholder_page_query_count_does_not_grow_with_interactions(
    client, db, django_assert_num_queries, count
):
    # Given a person with roles on several engagements and many check-ins and follow-ups
    lead = factories.consultant()
    shared_client = factories.make_client()
    person = factories.make_stakeholder(client=shared_client)
    engagements = [factories.make_engagement(client=shared_client, lead=lead) for _ in range(3)]
    for engagement in engagements:
        role = factories.make_role(engagement=engagement, stakeholder=person)
        factories.make_channel(role=role, owner=lead)
    for n in range(count):
        factories.make_check_in(
            engagement=engagements[n % 3],
            attendees=[person],
            follow_ups=[
                FollowUpSpec(
                    title=f"Item {n}", due_at=timezone.now() + dt.timedelta(days=2), owner_stakeholder=person
                )
            ],
        )
    client.force_login(lead)

    # When the page is opened, then the number of queries does not depend on how much there is
    # (three of them: which of the person's engagements the user may add a follow-up to, which
    # check-ins they attended, and the header's role)
    with django_assert_num_queries(11):
        response = client.get(reverse("stakeholder_detail", args=[person.pk]))

    # And the page shows the latest check-ins and the first follow-ups, with the way to the rest
    body = response.content.decode()
    shown_check_ins = min(count, STAKEHOLDER_CHECK_INS_SHOWN)
    assert len(response.context["check_ins"]) == shown_check_ins
    assert len(response.context["follow_ups"]) == min(count, STAKEHOLDER_FOLLOW_UPS_SHOWN)
    timeline_links = [
        f"{reverse('engagement_timeline', args=[engagement.pk])}?stakeholder={person.pk}"
        for engagement in engagements
    ]
    if count > STAKEHOLDER_CHECK_INS_SHOWN:
        assert f"The latest {shown_check_ins} are shown" in body
        assert all(link in body for link in timeline_links)
        newest = response.context["check_ins"][0]
        assert (
            newest.summary
            == max(CheckIn.objects.filter(attendees=person), key=lambda c: (c.occurred_at, c.pk)).summary
        )
    else:
        assert "are shown" not in body
        assert not any(link in body for link in timeline_links)


# Editing a person


def test_team_member_edits_a_person_and_returns_to_their_page(client, world):
    person = world.mine.stakeholder
    client.force_login(world.consultant)

    # When the consultant saves a new title and time zone
    response = client.post(
        reverse("stakeholder_edit", args=[person.pk]),
        _person_post(person, title="Chief Nursing Officer", time_zone="America/New_York"),
    )

    # Then the details change
    assert response.status_code == 302
    person.refresh_from_db()
    assert (person.title, person.time_zone) == ("Chief Nursing Officer", "America/New_York")


def test_person_edit_is_403_for_a_visible_person_of_another_team_and_404_for_another_client(client, world):
    client.force_login(world.consultant)

    # Given the sibling's sponsor (same client, other team), then the consultant may look but not edit
    assert client.get(reverse("stakeholder_detail", args=[world.sibling.stakeholder.pk])).status_code == 200
    assert client.get(reverse("stakeholder_edit", args=[world.sibling.stakeholder.pk])).status_code == 403

    # Given another client's person, then the page does not exist for them
    assert client.get(reverse("stakeholder_edit", args=[world.other.stakeholder.pk])).status_code == 404


def test_person_edit_shows_errors_beside_fields_and_refuses_a_stale_copy(client, world):
    person = world.mine.stakeholder
    url = reverse("stakeholder_edit", args=[person.pk])
    client.force_login(world.consultant)

    # When the time zone is unknown, then the field says so and keeps the rest
    response = client.post(url, _person_post(person, time_zone="Atlantis/Capital", title="Head of Care"))
    body = response.content.decode()
    assert re.search(r'id="id_time_zone_errors">.*Select a valid choice', body, re.S)
    assert 'value="Head of Care"' in body

    # When two saves start from the same copy, then the second is refused and the first stands
    assert client.post(url, _person_post(person, title="First title")).status_code == 302
    second = client.post(url, _person_post(person, title="Second title"))
    assert "Someone else changed this since you opened it" in second.content.decode()
    assert 'value="Second title"' in second.content.decode()
    person.refresh_from_db()
    assert person.title == "First title"

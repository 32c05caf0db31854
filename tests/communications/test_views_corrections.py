"""Pages for correcting check-ins and for one follow-up: who may, what they see, forms that keep input."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from communications import services
from communications.models import CheckIn, CheckInDeletion, FollowUp, FollowUpComment, RaidItem, Sentiment
from tests import factories
from tests.factories import World

pytestmark = pytest.mark.django_db


def _local(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def _edit_body(check_in: CheckIn, **changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "occurred_at": _local(check_in.occurred_at),
        "attendees": [s.pk for s in check_in.attendees.all()],
        "summary": check_in.summary,
        "decisions": check_in.decisions,
        "kind": check_in.kind,
        "sentiment": check_in.sentiment,
        "seen_updated_at": check_in.updated_at.isoformat(),
    }
    # As a browser posts the form: the box is sent only when ticked.
    if check_in.shared_with_client:
        body["shared_with_client"] = "on"
    body.update(changes)
    return body


def _consultants_check_in(world: World) -> CheckIn:
    return factories.make_check_in(
        engagement=world.mine.engagement,
        attendees=[world.mine.stakeholder],
        actor=world.consultant,
        summary="Reviewed the training plan.",
    )


def test_the_author_edits_a_check_in_and_the_timeline_marks_it_with_its_history(client, world):
    # Given a check-in the consultant logged
    check_in = _consultants_check_in(world)
    client.force_login(world.consultant)

    # When they correct its summary through the page
    response = client.post(
        reverse("check_in_edit", args=[check_in.pk]),
        _edit_body(check_in, summary="Reviewed the nurse training plan."),
    )

    # Then they land on its place on the timeline, which shows the new text marked edited
    assert response.status_code == 302
    assert response["Location"].endswith(f"#check-in-{check_in.pk}")
    timeline = client.get(reverse("engagement_timeline", args=[world.mine.engagement.pk])).content.decode()
    assert "Reviewed the nurse training plan." in timeline
    assert "edited" in timeline
    # And its history shows the version it replaced
    history = client.get(reverse("check_in_history", args=[check_in.pk])).content.decode()
    assert "Reviewed the training plan." in history
    assert str(world.consultant) in history


def test_the_history_shows_the_check_in_now_with_the_same_facts_as_its_earlier_versions(client, world):
    # Given a check-in with the sponsor and, from the team, the consultant, corrected to name the
    # lead as well
    check_in = factories.make_check_in(
        engagement=world.mine.engagement,
        attendees=[world.mine.stakeholder],
        team_attendees=[world.consultant],
        summary="Reviewed the training plan.",
    )
    services.check_in_edit(
        actor=world.lead,
        check_in=check_in,
        occurred_at=check_in.occurred_at,
        summary="Reviewed the nurse training plan.",
        attendees=[world.mine.stakeholder],
        team_attendees=[world.consultant, world.lead],
    )
    client.force_login(world.lead)

    # When the lead reads its history
    page = client.get(reverse("check_in_history", args=[check_in.pk])).content.decode()

    # Then the version now says when it was held and who took part, team included, as the earlier one does
    now, earlier = page.split("<h2>Now</h2>")[1].split("<h2>Earlier versions</h2>")
    when = r'<time datetime="[^"]+">\w{3} \d{1,2} \w{3} \d{4}, \d\d:\d\d</time>'
    held = r'<p class="muted">Meeting, held ' + when + " with "
    sponsor = escape(world.mine.stakeholder.name)
    team_now = escape(", ".join(sorted([str(world.consultant), str(world.lead)])))
    assert re.search(held + re.escape(f"{sponsor}; team: {team_now}</p>"), now)
    assert re.search(held + re.escape(f"{sponsor}; team: {escape(str(world.consultant))}</p>"), earlier)


def test_the_author_corrects_kind_and_sentiment_and_takes_a_check_in_back_from_the_client(client, world):
    # Given a check-in the consultant logged as negative and shared with the client, who reads it
    check_in = factories.make_check_in(
        engagement=world.mine.engagement,
        attendees=[world.mine.stakeholder],
        actor=world.consultant,
        summary="Sponsor unhappy with the pharmacy cutover.",
        decisions="Pharmacy joins wave 2",
        file_decisions=True,
        sentiment=Sentiment.NEGATIVE,
        shared_with_client=True,
    )
    client.force_login(world.client_user)
    assert "Sponsor unhappy with the pharmacy cutover." in client.get(reverse("home")).content.decode()
    client.force_login(world.consultant)

    # When they open its correction form
    form = client.get(reverse("check_in_edit", args=[check_in.pk])).content.decode()

    # Then it shows the sentiment and the sharing as they stand
    assert re.search(r'<input type="radio" name="sentiment" value="-1"[^>]* checked', form)
    assert re.search(r'<input type="checkbox" name="shared_with_client"[^>]* checked', form)

    # When they pick very negative, say it was a call, and untick the sharing
    body = _edit_body(check_in, sentiment=Sentiment.VERY_NEGATIVE, kind="call")
    del body["shared_with_client"]
    response = client.post(reverse("check_in_edit", args=[check_in.pk]), body, follow=True)

    # Then the entry the timeline opens at tells them the client no longer sees it, nor its decision
    entry = response.content.decode().split(f'id="check-in-{check_in.pk}"')[1].split("</li>")[0]
    assert "the client no longer sees it, nor 1 decision filed from it." in entry
    assert '<ul class="messages"' not in response.content.decode().split(f'id="check-in-{check_in.pk}"')[0]
    # And the history shows how the version it replaced went and who read it, beside the check-in now
    history = client.get(reverse("check_in_history", args=[check_in.pk])).content.decode()
    now, earlier = history.split("<h2>Now</h2>")[1].split("<h2>Earlier versions</h2>")
    assert "Sentiment: Very negative · internal, not shared with the client" in now
    assert "Sentiment: Negative · shared with the client" in earlier
    assert '<p class="muted">Call, held' in now and '<p class="muted">Meeting, held' in earlier
    # And the client's user reads it no more
    client.force_login(world.client_user)
    assert "pharmacy cutover" not in client.get(reverse("home")).content.decode()
    timeline = client.get(reverse("engagement_timeline", args=[world.mine.engagement.pk]))
    assert timeline.status_code == 200
    assert "pharmacy cutover" not in timeline.content.decode()

    # When the consultant shares it again
    client.force_login(world.consultant)
    check_in.refresh_from_db()
    body = _edit_body(check_in, shared_with_client="on")
    shared = client.post(reverse("check_in_edit", args=[check_in.pk]), body, follow=True).content.decode()

    # Then they are told its decision stays internal until shared in the RAID log
    told = "the client now sees it, though not 1 decision filed from it: share those in the RAID log."
    assert told in shared


def test_a_consultant_may_not_edit_someone_elses_check_in_and_an_outsider_finds_none(client, world):
    # Given the world's check-in, logged by someone else
    check_in = world.mine.check_in

    # When the consultant on the team opens its edit page, and an outsider does
    client.force_login(world.consultant)
    refused = client.get(reverse("check_in_edit", args=[check_in.pk]))
    timeline = client.get(reverse("engagement_timeline", args=[world.mine.engagement.pk])).content.decode()
    client.force_login(world.outsider_consultant)
    hidden = client.get(reverse("check_in_edit", args=[check_in.pk]))

    # Then the consultant is refused and offered no edit link; the outsider is told it does not exist
    assert refused.status_code == 403
    assert reverse("check_in_edit", args=[check_in.pk]) not in timeline
    assert hidden.status_code == 404


def test_an_edit_refused_keeps_what_was_typed(client, world):
    # Given the lead editing a check-in
    check_in = world.mine.check_in
    client.force_login(world.lead)

    # When they empty the summary, type a decision and pick another sentiment
    response = client.post(
        reverse("check_in_edit", args=[check_in.pk]),
        _edit_body(
            check_in,
            summary="",
            decisions="Pharmacy module deferred to phase two",
            sentiment=Sentiment.VERY_NEGATIVE,
        ),
    )

    # Then the form comes back with the summary's error, the decision still typed, the sentiment picked
    page = response.content.decode()
    assert response.status_code == 200
    assert "This field is required." in page or "Write a short summary." in page
    assert "Pharmacy module deferred to phase two" in page
    assert re.search(r'<input type="radio" name="sentiment" value="-2"[^>]* checked', page)
    check_in.refresh_from_db()
    assert check_in.edited_at is None


def test_the_edit_page_offers_to_file_decisions_ticked_once_some_were_filed(client, world):
    # Given a check-in without filed decisions, and one whose decisions were filed
    plain = _consultants_check_in(world)
    filed = factories.make_check_in(
        engagement=world.mine.engagement,
        attendees=[world.mine.stakeholder],
        actor=world.consultant,
        decisions="Go-live 1 June\nPharmacy joins wave 2",
        file_decisions=True,
    )
    client.force_login(world.consultant)

    # When the author opens both edit pages
    plain_page = client.get(reverse("check_in_edit", args=[plain.pk])).content.decode()
    filed_page = client.get(reverse("check_in_edit", args=[filed.pk])).content.decode()

    # Then both offer filing, unticked for the first; the second is ticked and says two are in the log
    assert "File them in the RAID log" in plain_page and "File them in the RAID log" in filed_page
    assert 'id="id_file_decisions">' in plain_page
    assert 'id="id_file_decisions" checked>' in filed_page
    assert "2 decisions of this check-in are in the" in filed_page
    assert "decisions of this check-in" not in plain_page


def test_an_edit_rewords_filed_decisions_files_new_lines_and_says_which_stay_behind(client, world):
    # Given a check-in whose three decisions were filed
    check_in = factories.make_check_in(
        engagement=world.mine.engagement,
        attendees=[world.mine.stakeholder],
        actor=world.consultant,
        decisions="Go-live 1 June\nPharmacy joins wave 2\nTraining in May",
        file_decisions=True,
    )
    client.force_login(world.consultant)

    # When the author rewords the first line, removes the second and adds one at the end, filing them
    response = client.post(
        reverse("check_in_edit", args=[check_in.pk]),
        _edit_body(
            check_in,
            decisions="Go-live 8 June\nTraining in May\nFreeze scope until go-live",
            file_decisions="on",
        ),
        follow=True,
    )

    # Then the log holds each decision once, the first reworded, the removed one kept
    titles = sorted(RaidItem.objects.filter(check_in=check_in).values_list("title", flat=True))
    assert titles == [
        "Freeze scope until go-live",
        "Go-live 8 June",
        "Pharmacy joins wave 2",
        "Training in May",
    ]
    # And the author is told what changed there, and which decision stays behind
    told = [str(m) for m in response.context["messages"]]
    assert told[0] == (
        "Check-in corrected; its earlier version is kept in its history; 1 decision filed in the RAID log; "
        "1 decision reworded in the RAID log to match."
    )
    assert "“Pharmacy joins wave 2” is no longer in this check-in but stays in the RAID log" in told[1]
    assert len(told) == 2


def test_only_the_lead_deletes_and_only_with_a_reason(client, world):
    # Given a check-in the consultant logged
    check_in = _consultants_check_in(world)
    url = reverse("check_in_delete", args=[check_in.pk])

    # When its author tries to delete it, then the lead without a reason, then with one
    client.force_login(world.consultant)
    by_author = client.post(url, {"reason": "Logged twice"})
    client.force_login(world.lead)
    without_reason = client.post(url, {"reason": "  "})
    with_reason = client.post(url, {"reason": "Logged twice"})

    # Then the author is refused, the reasonless delete is sent back with the question, the last one deletes
    assert by_author.status_code == 403
    assert without_reason.status_code == 200
    assert "Say why the check-in is deleted." in without_reason.content.decode()
    assert with_reason.status_code == 302
    assert not CheckIn.objects.filter(pk=check_in.pk).exists()
    assert CheckInDeletion.objects.get().reason == "Logged twice"
    timeline = client.get(reverse("engagement_timeline", args=[world.mine.engagement.pk])).content.decode()
    # It leaves the timeline's entries; the record of its deletion says why, without its notes
    assert "Reviewed the training plan." not in timeline
    assert "Deleted check-ins" in timeline
    assert "“Logged twice”" in timeline


def test_a_follow_up_page_shows_where_it_came_from_its_re_dates_and_comments(client, world):
    # Given the world's follow-up, from its check-in, re-dated once and commented on
    follow_up = world.mine.follow_up
    services.follow_up_redate(
        actor=world.lead, follow_up=follow_up, due_at=follow_up.due_at + dt.timedelta(days=7)
    )
    services.follow_up_comment_add(actor=world.lead, follow_up=follow_up, body="Chased by phone, internal.")
    client.force_login(world.lead)

    # When the lead opens it
    page = client.get(reverse("follow_up_detail", args=[follow_up.pk])).content.decode()

    # Then it names its owner, links its check-in, lists the re-date and both comments
    assert follow_up.title in page
    assert world.mine.stakeholder.name in page
    assert f"#check-in-{world.mine.check_in.pk}" in page
    assert "Never re-dated." not in page
    assert "On it." in page
    assert "Chased by phone, internal." in page


def test_a_client_sees_only_shared_comments_and_no_re_dates(client, world):
    # Given an internal and a shared team comment on what her colleague owes
    follow_up = world.mine.follow_up
    services.follow_up_comment_add(actor=world.lead, follow_up=follow_up, body="Chased by phone, internal.")
    services.follow_up_redate(
        actor=world.lead, follow_up=follow_up, due_at=follow_up.due_at + dt.timedelta(days=7)
    )
    client.force_login(world.client_user)

    # When the client PMO lead opens it
    page = client.get(reverse("follow_up_detail", args=[follow_up.pk])).content.decode()

    # Then she reads the shared comment, not the internal one, and no re-date history
    assert "On it." in page
    assert "Chased by phone, internal." not in page
    assert "Re-dates" not in page


def test_a_comment_is_added_and_an_empty_one_is_refused_with_the_form_kept(client, world):
    # Given the client PMO lead on what she owes
    follow_up = world.mine.follow_up
    client.force_login(world.client_user)
    url = reverse("follow_up_comment", args=[follow_up.pk])

    # When she sends an empty comment, then a real one
    empty = client.post(url, {"body": "   "})
    added = client.post(url, {"body": "Signed off by the board today."})

    # Then the first is sent back with the error, the second is saved, shared because she is the client
    assert empty.status_code == 200
    assert "Write a comment." in empty.content.decode()
    assert added.status_code == 302
    comment = FollowUpComment.objects.get(body="Signed off by the board today.")
    assert comment.shared_with_client is True


def test_someone_who_may_only_read_a_follow_up_cannot_comment(client, world):
    # Given a team item shared with the client, which the client PMO lead may read but not change
    item = factories.make_follow_up(
        engagement=world.mine.engagement, owner_user=world.lead, shared_with_client=True
    )
    client.force_login(world.client_user)

    # When she comments on it
    response = client.post(reverse("follow_up_comment", args=[item.pk]), {"body": "When?"})

    # Then she is refused
    assert response.status_code == 403
    assert not FollowUpComment.objects.filter(follow_up=item).exists()


def test_a_follow_up_is_created_from_a_stakeholders_page_about_them(client, world):
    # Given the lead on the sponsor's page
    client.force_login(world.lead)
    stakeholder = world.mine.stakeholder
    person_page = client.get(reverse("stakeholder_detail", args=[stakeholder.pk])).content.decode()
    create_url = reverse("follow_up_create", args=[world.mine.engagement.pk])
    assert f"{create_url}?stakeholder={stakeholder.pk}" in person_page

    # When they send the form once without an owner, then complete
    body = {
        "title": "Send the sponsor the revised budget",
        "owner": "",
        "due": "2026-09-01",
        "stakeholder": stakeholder.pk,
        "next": reverse("stakeholder_detail", args=[stakeholder.pk]),
    }
    refused = client.post(f"{create_url}?stakeholder={stakeholder.pk}", body)
    body["owner"] = f"user:{world.lead.pk}"
    saved = client.post(f"{create_url}?stakeholder={stakeholder.pk}", body)

    # Then the first keeps the title with the owner's error; the second records it, internal, concerning them
    assert refused.status_code == 200
    assert "Choose who owns it." in refused.content.decode()
    assert "Send the sponsor the revised budget" in refused.content.decode()
    assert saved.status_code == 302
    assert saved["Location"] == reverse("stakeholder_detail", args=[stakeholder.pk])
    item = FollowUp.objects.get(title="Send the sponsor the revised budget")
    assert (item.owner_user, item.stakeholder, item.shared_with_client) == (world.lead, stakeholder, False)
    person_page = client.get(reverse("stakeholder_detail", args=[stakeholder.pk])).content.decode()
    assert "Send the sponsor the revised budget" in person_page


def test_the_follow_ups_tab_offers_a_new_follow_up_to_the_team_only(client, world):
    # Given the follow-ups tab
    url = reverse("engagement_follow_ups", args=[world.mine.engagement.pk])
    create_url = reverse("follow_up_create", args=[world.mine.engagement.pk])

    # When the consultant and the client PMO lead open it
    client.force_login(world.consultant)
    team_page = client.get(url).content.decode()
    client.force_login(world.client_user)
    client_page = client.get(url).content.decode()

    # Then only the team is offered to add one, and the client is refused the form
    assert create_url in team_page
    assert create_url not in client_page
    assert client.get(create_url).status_code == 403


def test_my_week_names_each_follow_ups_engagement_and_links_activity_to_the_timeline(client, world):
    # Given a follow-up of the lead due tomorrow
    factories.make_follow_up(
        engagement=world.mine.engagement, owner_user=world.lead, due_at=timezone.now() + dt.timedelta(days=1)
    )
    client.force_login(world.lead)

    # When the lead opens My week
    page = client.get(reverse("home")).content.decode()

    # Then the follow-up row names the engagement, and the recent check-in links to its timeline entry
    follow_ups_tab = reverse("engagement_follow_ups", args=[world.mine.engagement.pk])
    assert f'<td data-label="Engagement"><a href="{follow_ups_tab}">EHR-A</a>' in page
    check_in = world.mine.check_in
    timeline = reverse("engagement_timeline", args=[world.mine.engagement.pk])
    assert f"{timeline}?check_in={check_in.pk}#check-in-{check_in.pk}" in page


def test_a_timeline_link_to_an_older_check_in_opens_the_page_holding_it(client, world):
    # Given thirty check-ins after the world's own
    for hours in range(30):
        factories.make_check_in(
            engagement=world.mine.engagement,
            attendees=[world.mine.stakeholder],
            occurred_at=timezone.now() - dt.timedelta(minutes=30 - hours),
            summary=f"Stand-up {hours}",
        )
    client.force_login(world.lead)

    # When the lead follows a link to the world's check-in, now the oldest
    page = client.get(
        reverse("engagement_timeline", args=[world.mine.engagement.pk]), {"check_in": world.mine.check_in.pk}
    ).content.decode()

    # Then the second page opens, with it
    assert "Page 2 of 2" in page
    assert f'id="check-in-{world.mine.check_in.pk}"' in page


@pytest.mark.parametrize("size", [2, 12])
def test_follow_up_and_history_pages_cost_the_same_whatever_their_length(
    client, world, django_assert_num_queries, size
):
    # Given a follow-up with ``size`` comments and re-dates, and a check-in edited ``size`` times
    follow_up = world.mine.follow_up
    for n in range(size):
        services.follow_up_comment_add(actor=world.lead, follow_up=follow_up, body=f"Note {n}")
        services.follow_up_redate(
            actor=world.lead, follow_up=follow_up, due_at=follow_up.due_at + dt.timedelta(days=n + 1)
        )
    check_in = world.mine.check_in
    for n in range(size):
        check_in = services.check_in_edit(
            actor=world.lead,
            check_in=check_in,
            occurred_at=check_in.occurred_at,
            summary=f"Version {n}",
            attendees=[world.mine.stakeholder],
        )
    client.force_login(world.lead)

    # Then each page costs a fixed number of queries (one of them the header's role)
    with django_assert_num_queries(7):
        assert client.get(reverse("follow_up_detail", args=[follow_up.pk])).status_code == 200
    with django_assert_num_queries(8):
        assert client.get(reverse("check_in_history", args=[check_in.pk])).status_code == 200

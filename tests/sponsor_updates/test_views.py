"""The update by real SMTP, its headers and signed links, and the team's pages."""

from __future__ import annotations

import datetime as dt
import re
from email.message import EmailMessage

import pytest
import time_machine
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse

from communications.models import Delivery, SponsorSubscription
from notifications.models import OutboxMessage
from sponsor_updates import services
from sponsor_updates.links import LinkTarget, Purpose, link_read, link_url
from tests import smtp_fixtures
from tests.smtp_fixtures import SmtpServer
from tests.sponsor_updates.conftest import AS_OF, INTERNAL

smtp_server = smtp_fixtures.smtp_server
smtp = smtp_fixtures.smtp


@pytest.fixture
def smtp_mail(settings, smtp: SmtpServer) -> SmtpServer:
    """Django's SMTP backend pointed at the loopback aiosmtpd server."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp.port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    return smtp


@pytest.fixture
def due_monday(sponsored):
    """Every subscription's next update is the one of Monday 9 March, 08:00 Berlin (due at AS_OF)."""
    SponsorSubscription.objects.update(next_send_at=dt.datetime(2026, 3, 9, 7, tzinfo=dt.UTC))
    sponsored.subscription.refresh_from_db()
    return sponsored


def _sweep(capture) -> None:
    with capture(execute=True):
        services.updates_sweep(as_of=AS_OF)


def _path(url: str) -> str:
    assert url.startswith(django_settings.SITE_URL + "/"), url
    return url[len(django_settings.SITE_URL) :]


def test_the_update_arrives_by_smtp_with_both_parts_list_headers_and_working_links(
    due_monday, smtp_mail, eager_tasks, django_capture_on_commit_callbacks
):
    # When the sweep writes the update and the outbox sends it to the SMTP server
    _sweep(django_capture_on_commit_callbacks)

    # Then the server received one message, plain text with an HTML alternative
    [message] = smtp_mail.messages
    assert isinstance(message, EmailMessage)
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    text_part, html_part = message.get_body(("plain",)), message.get_body(("html",))
    assert text_part is not None and html_part is not None
    text, html = text_part.get_content(), html_part.get_content()
    assert "Agreed the cut-over weekend." in text and "Agreed the cut-over weekend." in html
    assert INTERNAL not in text + html
    # Inline styles, no style sheet, no script, no remote image
    assert 'style="' in html and "<style" not in html
    assert "<script" not in html.lower() and "<img" not in html.lower()

    # And the list headers of RFC 2369 and 8058
    assert re.fullmatch(r"<[0-9a-f]{32}@[^>]+>", str(message["Message-ID"]))
    assert str(message["List-Id"]).endswith("<ehr-26.updates.127.0.0.1>")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = re.findall(r"<([^>]+)>", str(message["List-Unsubscribe"]))
    assert [u.split(":")[0] for u in unsubscribe] == ["mailto", "http"]

    # And every link is absolute to the site
    links = re.findall(r'href="([^"]+)"', html)
    assert links and all(link.startswith(django_settings.SITE_URL + "/") for link in links)

    # And the one-click POST unsubscribes with no session and no CSRF token
    browser = Client(enforce_csrf_checks=True)
    response = browser.post(
        _path(unsubscribe[1]), "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    subscription = SponsorSubscription.objects.get()
    assert (subscription.is_active, subscription.stopped_by) == (False, "recipient")

    # And "view online" shows that delivery's update, read-only, without a login
    online = next(link for link in links if "/updates/online/" in link)
    page = browser.get(_path(online))
    assert page.status_code == 200
    assert b"Agreed the cut-over weekend." in page.content
    assert INTERNAL.encode() not in page.content
    assert b'style="' not in page.content and b"<script>" not in page.content


def test_a_mail_server_refusing_twice_still_delivers_the_update_once(
    sponsored, flaky_mail, eager_tasks, django_capture_on_commit_callbacks
):
    from django.core import mail

    flaky_mail.fail_next(2)
    _sweep(django_capture_on_commit_callbacks)
    services.updates_sweep(as_of=AS_OF)

    assert flaky_mail.refused == 2
    assert len(mail.outbox) == 1
    message = OutboxMessage.objects.get()
    assert (message.status, message.attempts) == (OutboxMessage.Status.SENT, 3)
    assert Delivery.objects.count() == 1


def test_get_of_the_unsubscribe_link_asks_and_never_unsubscribes(sponsored, client):
    url = link_url(Purpose.UNSUBSCRIBE, LinkTarget(subscription_id=sponsored.subscription.pk))
    response = client.get(_path(url))
    assert response.status_code == 200
    assert b"Stop the status updates" in response.content
    assert SponsorSubscription.objects.get().is_active


def test_a_link_for_one_subscription_shows_nothing_of_another(sponsored, client):
    from tests import factories

    other = factories.make_role(engagement=factories.make_engagement(name="Secret merger"), kind="sponsor")
    services.subscriptions_ensure_for_sponsors(as_of=AS_OF)
    SponsorSubscription.objects.update(next_send_at=dt.datetime(2026, 3, 9, 7, tzinfo=dt.UTC))
    url = link_url(Purpose.PREFERENCES, LinkTarget(subscription_id=sponsored.subscription.pk))
    response = client.get(_path(url))
    assert response.status_code == 200
    assert b"EHR &lt;&amp;&gt; rollout" in response.content
    assert b"Secret merger" not in response.content
    assert other.stakeholder.name.encode() not in response.content
    # A view-online link signed for one subscription cannot name another's delivery
    services.updates_sweep(as_of=AS_OF)
    foreign = Delivery.objects.exclude(subscription=sponsored.subscription).first()
    assert foreign is not None
    forged = link_url(
        Purpose.VIEW, LinkTarget(subscription_id=sponsored.subscription.pk, delivery_id=foreign.pk)
    )
    assert client.get(_path(forged)).status_code == 410


def test_tampered_expired_and_revoked_links_get_a_page_offering_a_new_link(sponsored, client):
    target = LinkTarget(subscription_id=sponsored.subscription.pk)
    url = _path(link_url(Purpose.PREFERENCES, target))
    # Tampered: 400, with the form to ask for a new link
    tampered = client.get(url[:-4] + "AAAA/")
    assert tampered.status_code == 400
    assert b"This link does not work" in tampered.content and b"Send me a new link" in tampered.content
    # Signed for another purpose: refused too
    assert client.post(url.replace("/preferences/", "/unsubscribe/")).status_code == 400
    assert SponsorSubscription.objects.get().is_active
    # Expired: 410
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=91), tick=False):
        expired = client.get(url)
    assert expired.status_code == 410
    assert b"expired" in expired.content
    # Revoked (the subscription is gone): 410
    SponsorSubscription.objects.all().delete()
    assert client.get(url).status_code == 410


def test_asking_for_a_new_link_answers_the_same_and_mails_only_a_known_address(sponsored, client):
    new_link = reverse("sponsor_update_new_link")
    known = client.post(new_link, {"email": "ana@client.test"})
    unknown = client.post(new_link, {"email": "nobody@client.test"})
    assert known.status_code == unknown.status_code == 200
    assert b"If that address receives status updates" in known.content
    assert b"If that address receives status updates" in unknown.content
    [message] = OutboxMessage.objects.all()
    assert message.to_address.endswith("<ana@client.test>")
    assert "/updates/preferences/" in message.body_text


def test_the_recipient_changes_day_and_time_through_preferences_and_errors_keep_the_input(sponsored, client):
    url = _path(link_url(Purpose.PREFERENCES, LinkTarget(subscription_id=sponsored.subscription.pk)))
    bad = client.post(
        url, {"cadence": "weekly", "weekday": "2", "local_time": "25:99", "time_zone": "Asia/Tokyo"}
    )
    assert bad.status_code == 400
    assert b"25:99" in bad.content
    good = client.post(
        url, {"cadence": "monthly", "weekday": "2", "local_time": "09:30", "time_zone": "Asia/Tokyo"}
    )
    assert good.status_code == 302
    subscription = SponsorSubscription.objects.get()
    assert (subscription.cadence, subscription.weekday, subscription.local_time) == (
        "monthly",
        2,
        dt.time(9, 30),
    )
    assert subscription.time_zone == "Asia/Tokyo"


def test_the_team_lists_adds_and_previews_updates_and_a_client_user_gets_404(sponsored, due_monday, client):
    from tests import factories

    engagement = sponsored.engagement
    client.force_login(sponsored.lead)
    page = client.get(reverse("engagement_updates", args=[engagement.pk]))
    assert page.status_code == 200
    assert b"Ana Ruiz" in page.content and b"Status updates" in page.content

    # Adding with a bad time keeps the input and shows the error beside the field
    other = factories.make_role(engagement=engagement, kind="business_leader").stakeholder
    form = {"stakeholder": other.pk, "cadence": "weekly", "weekday": 0, "time_zone": "Europe/Berlin"}
    bad = client.post(reverse("subscription_add", args=[engagement.pk]), {**form, "local_time": "nope"})
    assert bad.status_code == 400 and b'value="nope"' in bad.content
    good = client.post(reverse("subscription_add", args=[engagement.pk]), {**form, "local_time": "08:00"})
    assert good.status_code == 302
    assert SponsorSubscription.objects.filter(stakeholder=other).exists()

    # The preview shows the same content as the mail, and "send now" writes one update
    with time_machine.travel(AS_OF, tick=False):
        preview = client.get(reverse("subscription_preview", args=[engagement.pk, sponsored.subscription.pk]))
    assert preview.status_code == 200 and b"Agreed the cut-over weekend." in preview.content
    # (The team's own header may show internal facts; the update itself holds none.)
    body = preview.content.decode().split('class="update-preview"')[1].split("</section>")[0]
    assert "Agreed the cut-over weekend." in body and INTERNAL not in body
    assert (
        'exactly what "Send now" mails: the last week up to and including today' in preview.content.decode()
    )
    send = reverse("subscription_send_now", args=[engagement.pk, sponsored.subscription.pk])
    assert client.post(send, {"request_key": "k1"}).status_code == 302
    assert client.post(send, {"request_key": "k1"}).status_code == 302
    assert Delivery.objects.filter(ad_hoc_key="k1").count() == 1

    # A client user of the same client sees nothing of it
    client.force_login(factories.client_user(engagement.client))
    assert client.get(reverse("engagement_updates", args=[engagement.pk])).status_code == 404


def test_the_next_update_shows_the_recipients_wall_clock_time_whatever_the_viewers_zone(sponsored, client):
    # Given a Wednesday 10:15 Berlin schedule whose next update is Wed 9 Dec 2026, 09:15 UTC
    SponsorSubscription.objects.update(
        weekday=2, local_time=dt.time(10, 15), next_send_at=dt.datetime(2026, 12, 9, 9, 15, tzinfo=dt.UTC)
    )
    # When the recipient opens preferences (no login, UTC active)
    url = _path(link_url(Purpose.PREFERENCES, LinkTarget(subscription_id=sponsored.subscription.pk)))
    page = client.get(url).content.decode()
    # Then the time is Berlin's, labelled Berlin
    assert "Wed 9 Dec 2026 10:15 (Europe/Berlin)" in page

    # And a London viewer of the team's table and preview sees the same Berlin time
    sponsored.lead.time_zone = "Europe/London"
    sponsored.lead.save()
    client.force_login(sponsored.lead)
    table = client.get(reverse("engagement_updates", args=[sponsored.engagement.pk])).content.decode()
    assert "Wed 9 Dec 2026 10:15 (Europe/Berlin)" in table
    preview = client.get(
        reverse("subscription_preview", args=[sponsored.engagement.pk, sponsored.subscription.pk])
    ).content.decode()
    assert "Wed 9 Dec 2026 10:15 (Europe/Berlin)" in preview


def _site_css() -> str:
    from pathlib import Path

    base = (Path(django_settings.BASE_DIR) / "templates" / "base.html").read_text()
    sheets = re.findall(r"static 'css/([\w.-]+\.css)'", base)
    return "".join((Path(django_settings.BASE_DIR) / "static" / "css" / s).read_text() for s in sheets)


def test_the_web_versions_of_the_update_are_styled_by_the_sites_css_like_the_mail():
    # Every class the update's body uses has a rule in a style sheet the site's pages load (no inline styles)
    from pathlib import Path

    body = (
        Path(django_settings.BASE_DIR) / "templates" / "sponsor_updates" / "_update_body.html"
    ).read_text()
    classes = {c for attr in re.findall(r'class="([^"{]+)', body) for c in attr.split()}
    css = _site_css()
    assert classes
    missing = {c for c in classes if not re.search(rf"\.{re.escape(c)}\b[^{{]*\{{", css)}
    assert not missing
    # Health carries its colour in each of its states
    for state in ("green", "amber", "red"):
        assert f".update-health-{state}" in css


def test_send_now_stands_apart_from_the_plain_text_toggle(sponsored, client):
    client.force_login(sponsored.lead)
    with time_machine.travel(AS_OF, tick=False):
        page = client.get(
            reverse("subscription_preview", args=[sponsored.engagement.pk, sponsored.subscription.pk])
        ).content.decode()
    [send_form] = re.findall(r"<form[^>]*/send-now/[^>]*>", page)
    assert 'class="send-now"' in send_form
    assert re.search(r"\.send-now\s*\{[^}]*margin-top", _site_css())


def test_a_pause_that_ended_in_the_past_is_refused_beside_the_field_keeping_the_input(sponsored, client):
    form = {"cadence": "weekly", "weekday": "0", "local_time": "08:00", "time_zone": "Europe/Berlin"}
    with time_machine.travel(AS_OF, tick=False):
        # By the recipient, through preferences
        url = _path(link_url(Purpose.PREFERENCES, LinkTarget(subscription_id=sponsored.subscription.pk)))
        refused = client.post(url, {**form, "paused_until": "2020-01-01"})
        assert refused.status_code == 400
        assert b"Choose today or a later day" in refused.content and b"2020-01-01" in refused.content
        # By the team, on the subscription's form
        client.force_login(sponsored.lead)
        edit = reverse("subscription_edit", args=[sponsored.engagement.pk, sponsored.subscription.pk])
        refused = client.post(edit, {**form, "is_active": "on", "paused_until": "2026-03-08"})
        assert refused.status_code == 400
        assert b"Choose today or a later day" in refused.content and b"2026-03-08" in refused.content
        assert SponsorSubscription.objects.get().paused_until is None
        # Today in Berlin is accepted
        assert client.post(edit, {**form, "is_active": "on", "paused_until": "2026-03-09"}).status_code == 302
    assert SponsorSubscription.objects.get().paused_until == dt.date(2026, 3, 9)


def _acknowledge_url(message: OutboxMessage) -> tuple[str, str]:
    [in_text] = re.findall(r"(http\S+/updates/acknowledge/\S+/)", message.body_text)
    [in_html] = re.findall(r'href="([^"]+/updates/acknowledge/[^"]+)"', message.body_html)
    return in_text, in_html


def test_the_sponsor_acknowledges_an_update_once_through_its_link_and_the_lead_is_told(due_monday):
    from notifications.models import Notification

    # Given the sent update, whose text and HTML parts both carry the signed "Acknowledge" link
    services.updates_sweep(as_of=AS_OF)
    in_text, in_html = _acknowledge_url(OutboxMessage.objects.get())
    assert in_text == in_html.replace("&amp;", "&")
    url = _path(in_text)
    browser = Client(enforce_csrf_checks=True)

    # When the sponsor opens it (no login), nothing is recorded yet: a mail scanner may follow links
    page = browser.get(url)
    assert page.status_code == 200 and b"I have read it" in page.content
    assert Delivery.objects.get().acknowledged_at is None
    # And a post without the page's CSRF token is refused
    assert browser.post(url, {"comment": "x"}).status_code == 403

    # When they send the form with a comment and a request for a call
    token = page.cookies["csrftoken"].value
    form = {"comment": "Looks good.\nCall me about the pharmacy module.", "wants_call": "on"}
    with time_machine.travel(AS_OF + dt.timedelta(hours=2), tick=False):
        done = browser.post(url, {**form, "csrfmiddlewaretoken": token})
        assert done.status_code == 302
        # And again, the same answer (a double click, a reload)
        browser.post(url, {**form, "csrfmiddlewaretoken": token})

    # Then the delivery records the first answer, once
    delivery = Delivery.objects.get()
    assert delivery.acknowledged_at == AS_OF + dt.timedelta(hours=2)
    assert (delivery.comment, delivery.wants_call) == (form["comment"], True)
    # And the page says so, in the sponsor's time
    shown = browser.get(url).content.decode()
    assert "you acknowledged it on Mon 9 Mar 2026 10:30 (Europe/Berlin)" in shown
    assert "I have read it" not in shown and "Save my answer" in shown
    # And the lead is told once, in the app
    [notice] = Notification.objects.filter(event="update_acknowledged")
    assert notice.recipient_id == due_monday.lead.pk and notice.in_app and not notice.email
    assert "Ana Ruiz read the status update" in notice.message and "would like a call" in notice.message


def test_the_sponsor_changes_their_answer_later_and_the_lead_is_told_once_per_change(due_monday):
    from notifications.models import Notification

    # Given an update the sponsor acknowledged without a comment
    services.updates_sweep(as_of=AS_OF)
    url = _path(_acknowledge_url(OutboxMessage.objects.get())[0])
    browser = Client(enforce_csrf_checks=True)
    token = browser.get(url).cookies["csrftoken"].value
    with time_machine.travel(AS_OF + dt.timedelta(hours=2), tick=False):
        assert browser.post(url, {"csrfmiddlewaretoken": token}).status_code == 302

    # When, a day later, they open the same link: the form shows their answer, to change
    page = browser.get(url).content.decode()
    assert "Change your answer" in page and "Save my answer" in page

    # And they add a comment and ask for a call, submitting it twice
    changed = {"comment": "On second thoughts: call me.", "wants_call": "on", "csrfmiddlewaretoken": token}
    with time_machine.travel(AS_OF + dt.timedelta(days=1), tick=False):
        first = browser.post(url, changed, follow=True)
        second = browser.post(url, changed, follow=True)

    # Then the answer is changed, the first acknowledgement's time kept, and the page says so
    delivery = Delivery.objects.get()
    assert (delivery.comment, delivery.wants_call) == ("On second thoughts: call me.", True)
    assert delivery.acknowledged_at == AS_OF + dt.timedelta(hours=2)
    assert "Your answer is changed" in first.content.decode()
    assert "already recorded as it is" in second.content.decode()
    assert "call me." in second.content.decode() and "You asked for a call" in second.content.decode()
    # And the lead is told of the acknowledgement once and of the change once
    notices = list(Notification.objects.filter(event="update_acknowledged").order_by("created_at"))
    assert [n.recipient_id for n in notices] == [due_monday.lead.pk] * 2
    assert "changed their answer" in notices[1].message and "would like a call" in notices[1].message
    assert "On second thoughts" in notices[1].message

    # When they later take the call back, that is one more change, told once
    with time_machine.travel(AS_OF + dt.timedelta(days=2), tick=False):
        browser.post(url, {"comment": "All clear now.", "csrfmiddlewaretoken": token})
    assert Delivery.objects.get().wants_call is False
    last = Notification.objects.filter(event="update_acknowledged").order_by("-created_at").first()
    assert last is not None and "no call needed" in last.message
    assert Notification.objects.filter(event="update_acknowledged").count() == 3


def test_an_acknowledge_link_names_one_delivery_of_one_subscription(due_monday, client):
    services.updates_sweep(as_of=AS_OF)
    delivery = Delivery.objects.get()
    other = LinkTarget(subscription_id=due_monday.subscription.pk + 1, delivery_id=delivery.pk)
    assert client.get(_path(link_url(Purpose.ACKNOWLEDGE, other))).status_code == 410
    view_link = _path(link_url(Purpose.VIEW, LinkTarget(due_monday.subscription.pk, delivery.pk)))
    assert client.get(view_link.replace("/online/", "/acknowledge/")).status_code == 400


def _send_now(sponsored, key: str, days: int) -> Delivery:
    return services.update_send_now(
        actor=sponsored.lead,
        subscription=sponsored.subscription,
        request_key=key,
        as_of=AS_OF + dt.timedelta(days=days),
    )


def test_the_history_lists_every_update_newest_first_with_its_state_and_acknowledgement(
    sponsored, client, monkeypatch
):
    from sponsor_updates import views

    # Given three updates: one sent and acknowledged, one failed after its last retry, one pending
    acknowledged, failed, pending = (
        _send_now(sponsored, key, days) for key, days in (("a", 0), ("b", 7), ("c", 14))
    )
    OutboxMessage.objects.filter(delivery=acknowledged).update(
        status="sent", sent_at=dt.datetime(2026, 3, 9, 8, 1, tzinfo=dt.UTC)
    )
    services.delivery_acknowledge(
        delivery=acknowledged,
        comment="Call me <please>",
        wants_call=True,
        as_of=AS_OF + dt.timedelta(hours=3),
    )
    OutboxMessage.objects.filter(delivery=failed).update(
        status="failed", attempts=5, last_error="550 mailbox unavailable"
    )
    client.force_login(sponsored.lead)
    url = reverse("engagement_update_history", args=[sponsored.engagement.pk])

    # When the team opens the history
    page = client.get(url).content.decode()

    # Then newest first, each with its state in the recipient's time, and the acknowledgement
    assert page.index(f"delivery-{pending.pk}") < page.index(f"delivery-{failed.pk}")
    assert page.index(f"delivery-{failed.pk}") < page.index(f"delivery-{acknowledged.pk}")
    assert "Failed</strong>: 550 mailbox unavailable" in page
    assert "Sent Mon 9 Mar 2026 09:01" in page
    assert "Mon 9 Mar 2026 11:30" in page and "wants a call" in page and "Call me &lt;please&gt;" in page
    assert "Pending" in page

    # And a sent update nobody acknowledged shows "not yet", and is counted on the updates page
    OutboxMessage.objects.filter(delivery=pending).update(
        status="sent", sent_at=dt.datetime(2026, 3, 23, 8, tzinfo=dt.UTC)
    )
    assert "not yet" in client.get(url).content.decode()
    updates = client.get(reverse("engagement_updates", args=[sponsored.engagement.pk])).content.decode()
    assert "1 sent update not yet acknowledged" in updates

    # And it pages, two to a page here, with no page beyond the last
    monkeypatch.setattr(views, "HISTORY_PAGE_SIZE", 2)
    first, second = client.get(url).content.decode(), client.get(url, {"page": 2}).content.decode()
    assert f"delivery-{acknowledged.pk}" not in first and 'rel="next"' in first
    assert f"delivery-{acknowledged.pk}" in second and 'rel="next"' not in second


def test_the_history_reads_a_fixed_number_of_queries_and_no_count_of_the_deliveries(
    sponsored, client, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(sponsored.lead)
    url = reverse("engagement_update_history", args=[sponsored.engagement.pk])
    budgets = []
    for key, days in (("a", 0), ("b", 7), ("c", 14), ("d", 21), ("e", 28)):
        _send_now(sponsored, key, days)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        budgets.append(len(queries))
        reads = [q["sql"] for q in queries.captured_queries if '"communications_delivery"' in q["sql"]]
        assert not any("COUNT" in sql and "acknowledged_at" not in sql for sql in reads)
    assert len(set(budgets)) == 1


def test_a_sent_update_and_its_acknowledgement_are_contact_on_the_timeline_not_meetings(
    due_monday, client, eager_tasks, django_capture_on_commit_callbacks
):
    from communications import compliance, silence
    from communications.models import CheckIn, Occurrence, SilenceFlag

    engagement = due_monday.engagement
    later = AS_OF + dt.timedelta(days=30)
    window = compliance.ComplianceWindow.last_days(days=60, as_of=later)

    def counted() -> tuple[object, ...]:
        total = compliance.compliance_total(user=due_monday.lead, window=window, engagement=engagement)
        return (
            total,
            CheckIn.objects.count(),
            list(Occurrence.objects.values_list("pk", "status")),
            silence.silences_flag(as_of=later),
            list(SilenceFlag.objects.values_list("engagement_id", "stakeholder_id", "last_contact_at")),
        )

    # Given compliance and silence before any update
    before = counted()
    SilenceFlag.objects.all().delete()

    # When the sweep sends the update and the sponsor acknowledges it with a comment
    with time_machine.travel(AS_OF, tick=False):
        _sweep(django_capture_on_commit_callbacks)
    delivery = Delivery.objects.get()
    assert delivery.outbox_message is not None and delivery.outbox_message.status == "sent"
    services.delivery_acknowledge(
        delivery=delivery, comment="Thanks, all clear.", wants_call=False, as_of=AS_OF + dt.timedelta(hours=1)
    )

    # Then the timeline shows both as contact by email with that sponsor, newest first
    client.force_login(due_monday.lead)
    page = client.get(reverse("engagement_timeline", args=[engagement.pk])).content.decode()
    assert "Status update sent to Ana Ruiz" in page and "Outbound contact by email, not a meeting" in page
    assert "the update covering 2–8 Mar 2026" in page
    assert "Ana Ruiz acknowledged a status update" in page and "Thanks, all clear." in page
    assert page.index(f"update-acknowledged-{delivery.pk}") < page.index(f"update-sent-{delivery.pk}")
    # And a filter by meeting kind leaves them out; a filter by the sponsor keeps them
    assert (
        "Status update sent"
        not in client.get(
            reverse("engagement_timeline", args=[engagement.pk]), {"kind": "meeting"}
        ).content.decode()
    )
    by_sponsor = client.get(
        reverse("engagement_timeline", args=[engagement.pk]), {"stakeholder": due_monday.sponsor.pk}
    ).content.decode()
    assert "Status update sent to Ana Ruiz" in by_sponsor

    # And neither is a meeting: compliance, check-ins, occurrences and silence are as before
    assert counted() == before

    # And a client user of the same client sees neither on the timeline
    from tests import factories

    client.force_login(factories.client_user(engagement.client))
    assert (
        "Status update sent"
        not in client.get(reverse("engagement_timeline", args=[engagement.pk])).content.decode()
    )


def test_each_update_contact_shows_on_the_one_timeline_page_whose_check_ins_it_falls_between(
    sponsored, client, monkeypatch
):
    from communications.models import CheckIn
    from communications.views import timeline
    from tests import factories

    # Given check-ins on 1, 5 and 9 March (beside the fixture's), one a page
    CheckIn.objects.all().delete()
    for day in (1, 5, 9):
        factories.make_check_in(
            engagement=sponsored.engagement,
            attendees=[sponsored.sponsor],
            occurred_at=dt.datetime(2026, 3, day, 12, tzinfo=dt.UTC),
            summary=f"Check-in of {day} March",
        )
    # And an update sent on 7 March, acknowledged on 3 March (an older one, late)
    delivery = _send_now(sponsored, "x", -5)
    OutboxMessage.objects.filter(delivery=delivery).update(
        status="sent", sent_at=dt.datetime(2026, 3, 7, 12, tzinfo=dt.UTC)
    )
    Delivery.objects.filter(pk=delivery.pk).update(acknowledged_at=dt.datetime(2026, 3, 3, 12, tzinfo=dt.UTC))
    monkeypatch.setattr(timeline, "TIMELINE_PAGE_SIZE", 1)
    client.force_login(sponsored.lead)
    url = reverse("engagement_timeline", args=[sponsored.engagement.pk])

    # When each page is opened
    pages = [client.get(url, {"page": n}).content.decode() for n in (1, 2, 3)]

    # Then the sent update is on the page of 9 March, the acknowledgement on that of 5 March, each once
    sent, acknowledged = f"update-sent-{delivery.pk}", f"update-acknowledged-{delivery.pk}"
    assert [sent in page for page in pages] == [True, False, False]
    assert [acknowledged in page for page in pages] == [False, True, False]


def test_an_update_refused_for_good_is_flagged_on_the_updates_page_and_the_lead_is_told_once(
    due_monday, client, smtp_mail, eager_tasks, django_capture_on_commit_callbacks
):
    from notifications.models import Notification

    # Given the sponsor's mail server refuses their address for good
    smtp_mail.handler.refuse("ana@client.test")

    # When the sweep writes Monday's update and the outbox tries to send it
    _sweep(django_capture_on_commit_callbacks)

    # Then it is failed at once, with the reason in words
    message = OutboxMessage.objects.get()
    assert message.status == OutboxMessage.Status.FAILED and message.attempts == 1
    assert smtp_mail.messages == []

    # And the next sweeps tell the engagement's lead once, in the app, with the reason
    later = AS_OF + dt.timedelta(minutes=5)
    assert services.delivery_failures_report(as_of=later) == 1
    assert services.updates_sweep(as_of=later + dt.timedelta(minutes=5)) == 0
    [notice] = Notification.objects.filter(event="update_failed")
    assert notice.recipient_id == due_monday.lead.pk and notice.in_app and not notice.email
    assert "to Ana Ruiz could not be delivered" in notice.message
    assert "refused the address (550 5.1.1 Mailbox unavailable)" in notice.message
    assert notice.url == reverse("engagement_updates", args=[due_monday.engagement.pk])

    # And the updates page flags it without a look at the history: who, when, why, what to do
    client.force_login(due_monday.lead)
    updates = reverse("engagement_updates", args=[due_monday.engagement.pk])
    page = client.get(updates).content.decode()
    assert "Updates that did not reach their recipient" in page
    flagged = page[page.index("Not delivered:") :]
    assert "to Ana Ruiz, due Mon 9 Mar 2026 08:00 (Europe/Berlin), after 1 attempt." in flagged
    assert "The recipient&#x27;s mail server refused the address (550 5.1.1 Mailbox unavailable)." in flagged
    assert "Check the address" in flagged

    # When the address is put right and the team sends the update again
    smtp_mail.handler.reset()
    with django_capture_on_commit_callbacks(execute=True):
        services.update_send_now(
            actor=due_monday.lead, subscription=due_monday.subscription, request_key="again", as_of=later
        )

    # Then it arrives, and the page no longer flags the old failure
    assert len(smtp_mail.messages) == 1
    assert "Updates that did not reach their recipient" not in client.get(updates).content.decode()


def test_an_update_the_outbox_is_still_retrying_is_flagged_with_its_last_error(sponsored, client):
    # Given an update whose attempts failed so far while the mail server was out of reach
    delivery = _send_now(sponsored, "a", 0)
    OutboxMessage.objects.filter(delivery=delivery).update(
        attempts=3,
        last_error="The mail server could not be reached (TimeoutError: timed out); it is tried again.",
    )

    # When the team opens the updates page
    client.force_login(sponsored.lead)
    page = client.get(reverse("engagement_updates", args=[sponsored.engagement.pk])).content.decode()

    # Then it is flagged as still being tried, with the reason
    assert "Not delivered yet, still trying:" in page and "after 3 attempts." in page
    assert "could not be reached (TimeoutError: timed out)" in page
    assert "Check the address" not in page


def test_the_updates_page_reads_a_fixed_number_of_queries_with_flagged_updates(sponsored, client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(sponsored.lead)
    url = reverse("engagement_updates", args=[sponsored.engagement.pk])
    budgets = []
    for key, days in (("a", 0), ("b", 7), ("c", 14)):
        delivery = _send_now(sponsored, key, days)
        OutboxMessage.objects.filter(delivery=delivery).update(status="failed", last_error="refused")
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        budgets.append(len(queries))
    assert len(set(budgets)) == 1


def test_the_team_form_shows_an_ended_pause_empty_and_saves_without_it(sponsored, client):
    from django.utils import timezone

    # Given a subscription paused until a day that has passed, and another paused until next week
    today = timezone.localdate(timezone=dt.UTC)
    SponsorSubscription.objects.filter(pk=sponsored.subscription.pk).update(
        paused_until=today - dt.timedelta(days=10)
    )
    client.force_login(sponsored.lead)
    edit = reverse("subscription_edit", args=[sponsored.engagement.pk, sponsored.subscription.pk])
    updates = reverse("engagement_updates", args=[sponsored.engagement.pk])

    # When the team opens the list and the form
    listed, form = client.get(updates).content.decode(), client.get(edit).content.decode()

    # Then the ended pause is shown as over: the state is "On" and the date field is empty
    assert "Paused until" not in listed and ">On<" in listed
    field = re.search(r'<input type="date" name="paused_until"[^>]*>', form)
    assert field is not None and "value=" not in field.group(0)

    # And saving the form as it was shown succeeds and clears the old pause
    posted = {
        "cadence": "weekly",
        "weekday": "0",
        "local_time": "08:00",
        "time_zone": "Europe/Berlin",
        "paused_until": "",
        "is_active": "on",
    }
    assert client.post(edit, posted).status_code == 302
    assert SponsorSubscription.objects.get().paused_until is None

    # And a pause still in force is shown and kept
    in_force = today + dt.timedelta(days=7)
    SponsorSubscription.objects.update(paused_until=in_force)
    assert f'value="{in_force:%Y-%m-%d}"' in client.get(edit).content.decode()
    assert f"Paused until {in_force.day} " in client.get(updates).content.decode()


def test_the_online_page_lets_the_sponsor_acknowledge_and_open_preferences(due_monday, client):
    # Given an update sent and its "view online" link
    services.updates_sweep(as_of=AS_OF)
    delivery = Delivery.objects.get()
    target = LinkTarget(due_monday.subscription.pk, delivery.pk)

    # When the sponsor reads it online
    body = client.get(_path(link_url(Purpose.VIEW, target))).content.decode()

    # Then the page offers this update's acknowledge link and the subscription's preferences, and both open
    found = re.findall(r'href="([^"]+/updates/(acknowledge|preferences)/[^"]+)"', body)
    assert {purpose for _, purpose in found} == {"acknowledge", "preferences"}
    links = [link for link, _ in found]
    for link in links:
        assert client.get(_path(link)).status_code == 200


@pytest.mark.parametrize("purpose", list(Purpose))
def test_a_signed_link_is_its_purposes_route_on_the_site_url(purpose: Purpose):
    # Given a link for a delivery of a subscription
    target = LinkTarget(subscription_id=7, delivery_id=11)

    # When it is built for mail
    url = link_url(purpose, target)

    # Then it is the purpose's route with the signed token, on SITE_URL, and it opens that target
    token = _path(url).rstrip("/").rpartition("/")[2]
    route = {
        Purpose.VIEW: "sponsor_update_online",
        Purpose.PREFERENCES: "sponsor_update_preferences",
        Purpose.UNSUBSCRIBE: "sponsor_update_unsubscribe",
        Purpose.ACKNOWLEDGE: "sponsor_update_acknowledge",
    }[purpose]
    assert url == django_settings.SITE_URL + reverse(route, kwargs={"token": token})
    assert link_read(purpose, token) == target


def test_the_timeline_names_the_days_a_sent_now_update_covered(sponsored, client):
    # Given the team sent the update now on Monday 9 March (covering the week up to that day)
    services.update_send_now(
        actor=sponsored.lead, subscription=sponsored.subscription, request_key="k", as_of=AS_OF
    )
    OutboxMessage.objects.update(status=OutboxMessage.Status.SENT, sent_at=AS_OF)

    # When the lead opens the timeline
    client.force_login(sponsored.lead)
    page = client.get(reverse("engagement_timeline", args=[sponsored.engagement.pk])).content.decode()

    # Then it says the update was sent on request and covered 3–9 March, not "due" a day later
    assert "the update covering 3–9 Mar 2026, sent on request" in page
    assert "10 Mar" not in page


def test_the_preview_shows_times_as_the_sponsor_reads_them_not_in_the_viewers_zone(sponsored, client):
    # Given a sponsor who reads their updates in Auckland, and a lead who works in Berlin
    SponsorSubscription.objects.filter(pk=sponsored.subscription.pk).update(time_zone="Pacific/Auckland")
    type(sponsored.lead).objects.filter(pk=sponsored.lead.pk).update(time_zone="Europe/Berlin")
    client.force_login(sponsored.lead)

    # When the lead previews the update
    with time_machine.travel(AS_OF, tick=False):
        preview = client.get(
            reverse("subscription_preview", args=[sponsored.engagement.pk, sponsored.subscription.pk])
        )

    # Then the meeting of 4 March, 10:00 UTC reads at Auckland's 23:00, as the mail will say
    body = preview.content.decode().split('class="update-preview"')[1].split("</section>")[0]
    assert "Wed 4 Mar 2026 23:00" in body
    assert "Wed 4 Mar 2026 11:00" not in body

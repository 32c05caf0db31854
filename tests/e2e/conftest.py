"""Browser journeys: Debian's headless Chromium driven by Playwright against a live server.

Each pytest-xdist worker starts its own live server on 127.0.0.1 (a free port)
and its own test database, so the journeys run in parallel like any other test.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from accounts.models import User
from tests import factories

# Playwright's sync API runs an event loop in the test's thread, and Django
# refuses ORM calls from a thread with a running loop. Tests only: setting up
# data and checking rows happens in between browser steps, never concurrently.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

# Long enough for a cold first page on a busy two-core machine, short enough to fail fast.
expect.set_options(timeout=10_000)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail(
            "Chromium is not installed: the browser journeys need Debian's chromium "
            "(apt-get install -y chromium; .ci/run does this). Playwright's own download is not used."
        )
    return {**browser_type_launch_args, "executable_path": executable, "args": CHROMIUM_ARGS}


@pytest.fixture
def site(live_server: Any, transactional_db: None) -> str:
    """The live server's address, with a database that the server's thread sees committed."""
    return str(live_server.url)


LogIn = Callable[[Page, User], Page]


@pytest.fixture
def log_in(site: str) -> LogIn:
    """Log a user in through the real login form, as a person would."""

    def do(page: Page, user: User) -> Page:
        page.goto(f"{site}/accounts/login/")
        page.get_by_label("Username").fill(user.username)
        page.get_by_label("Password").fill(factories.PASSWORD)
        page.get_by_role("button", name="Log in").click()
        # Log out sits in the account menu, closed until asked for: logged in, it is on the page.
        expect(page.get_by_role("button", name="Log out", include_hidden=True)).to_be_attached()
        return page

    return do


@pytest.fixture
def no_js_context(browser: Browser, browser_context_args: dict[str, Any]) -> Iterator[BrowserContext]:
    """A browser with JavaScript switched off: htmx never loads, plain forms must do the work."""
    context = browser.new_context(**browser_context_args, java_script_enabled=False)
    yield context
    context.close()


PHONE_SCREEN = {"width": 375, "height": 667}


@pytest.fixture
def phone_context(browser: Browser, browser_context_args: dict[str, Any]) -> Iterator[BrowserContext]:
    """A 375 × 667 viewport, the narrowest phone the pages are laid out for."""
    context = browser.new_context(**{**browser_context_args, "viewport": PHONE_SCREEN})
    yield context
    context.close()


@pytest.fixture
def no_js_phone_context(browser: Browser, browser_context_args: dict[str, Any]) -> Iterator[BrowserContext]:
    """The same phone with JavaScript switched off."""
    context = browser.new_context(
        **{**browser_context_args, "viewport": PHONE_SCREEN}, java_script_enabled=False
    )
    yield context
    context.close()

"""Two-factor sign-in in a real browser (headless Debian Chromium through Playwright): a doctor
turns it on by typing the key shown next to the QR code into "their app" (the test computes
the code, RFC 6238), saves the recovery codes, logs out, and signs in with a fresh code."""

from __future__ import annotations

import time
from base64 import b32decode

import pytest

from accounts.testing import TEST_PASSWORD, add_member, create_clinic

from .two_factor_helpers import totp_code

pytestmark = pytest.mark.browser


@pytest.fixture
def lotus_doctor(live_db):
    clinic = create_clinic("Lotus Eye Clinic", owner_email="latha@lotus.example")
    add_member(clinic, email="meera@lotus.example", role="doctor")
    return "meera@lotus.example"


def follow(page, locator) -> None:
    with page.expect_navigation():
        locator.click()


def test_a_doctor_turns_on_two_factor_and_signs_in_with_a_code(
    lotus_doctor, browser_page, screenshot
):
    page = browser_page
    page.goto("/login/")
    page.get_by_label("E-mail").fill(lotus_doctor)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    follow(page, page.get_by_role("button", name="Log in"))
    page.wait_for_url("**/clinic/")

    page.goto("/account/")
    follow(page, page.get_by_role("link", name="Manage two-factor sign-in"))
    follow(page, page.get_by_role("link", name="Set up two-factor sign-in"))
    assert page.get_by_role("img", name="QR code").is_visible()
    screenshot("two-factor-setup")
    key = b32decode(page.locator("#totp-secret").inner_text().replace(" ", "")).hex()
    page.get_by_label("Code").fill(totp_code(key))
    follow(page, page.get_by_role("button", name="Turn on two-factor sign-in"))
    codes = page.get_by_role("list", name="Recovery codes").locator("li").all_inner_texts()
    assert len(codes) == 10
    screenshot("two-factor-recovery-codes")
    follow(page, page.get_by_role("link", name="I have saved them, continue"))
    assert "Recovery codes left: 10" in page.content().replace("<strong>", "").replace(
        "</strong>", ""
    )

    follow(page, page.get_by_role("button", name="Log out"))
    page.goto("/login/")
    page.get_by_label("E-mail").fill(lotus_doctor)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    follow(page, page.get_by_role("button", name="Log in"))
    page.wait_for_url("**/login/two-factor/")
    assert page.get_by_role("heading", name="Enter your code").is_visible()
    screenshot("two-factor-login-code")
    # The code of the next time step: the one used to turn it on is spent (django-otp accepts
    # each step once), and the device tolerates one step of clock drift.
    page.get_by_label("Code").fill(totp_code(key, at=time.time() + 30))
    follow(page, page.get_by_role("button", name="Verify"))
    page.wait_for_url("**/clinic/")
    assert page.get_by_role("heading", level=1).is_visible()

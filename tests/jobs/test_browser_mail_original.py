"""In Chromium: an advisor opens from the inbox an email that forwarded a distress message
and could not all be decoded, sees it marked, and clicks through to the original."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

RAW = (b"From: Lies Dierckx <lies@example.be>\nTo: cellule@fund.test\n"
       b"Date: Tue, 10 Mar 2026 10:00:00 +0100\nSubject: Fwd: bericht\n"
       b'Content-Type: multipart/mixed; boundary="F"\n\n'
       b"--F\nContent-Type: text/plain; charset=shift_jis\n\nMijn broer stuurde me dit \x82\n"
       b"--F\nContent-Type: message/rfc822\n\nFrom: Koen <koen@example.be>\n"
       b"Subject: Ik kan niet meer\n\nIk heb zelfmoordgedachten.\n--F--\n")


def test_an_advisor_reads_a_lossy_email_and_its_attached_message_by_clicking(
    app, page, make_user, browser_login, click_nav, tmp_path
):
    path = tmp_path / "fwd.eml"
    path.write_bytes(RAW)
    assert app.test_cli_runner().invoke(args=["mail", "import", str(path)]).exit_code == 0

    browser_login(make_user("advisor"))
    click_nav("Inbox")
    page.get_by_role("link", name="Fwd: bericht").click()
    main = page.locator("#main")
    expect(main).to_contain_text("decoded with losses")
    expect(page.get_by_role("alert")).to_contain_text("zelfmoordgedachten")
    expect(page.get_by_role("alert")).to_contain_text("in an attached message")
    expect(main).to_contain_text("Mijn broer stuurde me dit")

    page.get_by_role("link", name="Original message").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Original message")
    expect(page.get_by_role("heading", name="Attached message: Ik kan niet meer")).to_be_visible()
    expect(main).to_contain_text("Ik heb zelfmoordgedachten.")
    expect(main).to_contain_text("charset=shift_jis")
    page.get_by_role("link", name="Back to the contact").click()
    expect(page.get_by_role("heading", name="Fwd: bericht")).to_be_visible()

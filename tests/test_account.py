"""The account page: display name, password change (other sessions end), courses, throttling."""
from __future__ import annotations

import re

import pytest

from tests.support.factories import PASSWORD, ROLE_INSTRUCTOR, ROLE_TA, Factory, login
from core.extensions import db
from models import User
from tests.support.panel import PanelCast

NEW_PASSWORD = "a brand new passphrase"
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
HEADER = re.compile(r'<header class="site-header">.*?</header>', re.S)


def name_change(name: str) -> dict:
    return {"name-display_name": name, "name-submit": "y"}


def password_change(current=PASSWORD, new=NEW_PASSWORD, repeat=None) -> dict:
    return {
        "password-current": current,
        "password-password": new,
        "password-confirm": new if repeat is None else repeat,
        "password-submit": "y",
    }


def fresh(user: User) -> User:
    return db.session.get(User, user.id, populate_existing=True)


def header(resp) -> str:
    return HEADER.search(resp.get_data(as_text=True)).group(0)


def logs_in(app, email: str, password: str) -> bool:
    resp = app.test_client().post("/login", data={"email": email, "password": password})
    return resp.status_code == 302


def is_signed_out(client) -> bool:
    resp = client.get("/")
    return resp.status_code == 302 and resp.headers["Location"].startswith("/login")


# --------------------------------------------------------------------------- page and name


def test_anonymous_is_sent_to_login(client):
    for resp in (client.get("/account"), client.post("/account", data=password_change())):
        assert resp.status_code == 302 and resp.headers["Location"].startswith("/login?next=%2Faccount")


def test_header_name_links_to_the_account_page(make, login_as):
    c = login_as(make.user("Nora Name"))
    top = header(c.get("/"))
    assert re.search(r'<a class="who" href="/account">Nora Name<', top)


def test_name_change_persists_and_shows_in_the_header(make, login_as):
    user = make.user("Old Name")
    c = login_as(user)
    resp = c.post("/account", data=name_change("  New Name  "))
    assert resp.status_code == 302 and resp.headers["Location"] == "/account"
    assert fresh(user).display_name == "New Name"
    page = c.get("/account")
    assert "Your name was saved." in page.get_data(as_text=True)
    assert "New Name" in header(page) and "Old Name" not in header(page)
    assert 'value="New Name"' in page.get_data(as_text=True)
    assert "New Name" in header(c.get("/"))


@pytest.mark.parametrize(
    "name, message", [("   ", "Enter your name."), ("x" * 121, "Use at most 120 characters.")]
)
def test_bad_name_is_refused_and_the_input_kept(make, login_as, name, message):
    user = make.user("Kept Name")
    c = login_as(user)
    resp = c.post("/account", data=name_change(name))
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and message in body
    assert fresh(user).display_name == "Kept Name"
    if name.strip():
        assert f'value="{name}"' in body


def test_name_of_exactly_120_characters_is_accepted(make, login_as):
    user = make.user()
    assert login_as(user).post("/account", data=name_change("y" * 120)).status_code == 302
    assert fresh(user).display_name == "y" * 120


def test_script_in_display_name_is_escaped(make, login_as):
    user = make.user()
    c = login_as(user)
    payload = '<img src=x onerror=alert(1)><script>alert(2)</script>'
    assert c.post("/account", data=name_change(payload)).status_code == 302
    body = c.get("/account").get_data(as_text=True)
    assert payload not in body and "<img src=x" not in body and "<script>alert" not in body
    assert "&lt;img src=x onerror=alert(1)&gt;&lt;script&gt;alert(2)&lt;/script&gt;" in body


def test_page_has_no_inline_scripts_or_styles(make, login_as):
    resp = login_as(make.user()).get("/account")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "unsafe-inline" not in resp.headers["Content-Security-Policy"]
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", body, re.I)
    assert not re.search(r"<style\b|<[^>]+\sstyle\s*=", body, re.I)
    assert not re.search(r"<[^>]+\son[a-z]+\s*=", body, re.I)


def test_page_lists_courses_with_roles_and_links_the_calendar(make, login_as):
    user = make.user()
    taught = make.course(code="CS100", title="Alpha seminar")
    assisted = make.course(code="CS200", title="Beta seminar")
    taken = make.course(code="CS300", title="Gamma seminar")
    make.course(code="CS400", title="Not mine")
    make.enroll(user, taught, ROLE_INSTRUCTOR)
    make.enroll(user, assisted, ROLE_TA)
    make.enroll(user, taken)
    body = login_as(user).get("/account").get_data(as_text=True)
    rows = re.findall(r"<tr>\s*<td><a href=\"/courses/(\d+)\">([^<]*)</a></td>\s*<td>[^<]*</td>\s*<td>([^<]*)</td>", body)
    assert [(int(cid), role) for cid, _, role in rows] == [
        (taught.id, "Instructor"), (assisted.id, "TA"), (taken.id, "Student")
    ]
    assert "Not mine" not in body
    assert 'href="/calendar"' in body


def test_page_without_courses_offers_to_join(make, login_as):
    body = login_as(make.user()).get("/account").get_data(as_text=True)
    assert "not enrolled in any course" in body and 'href="/join"' in body


# --------------------------------------------------------------------------- password


def test_password_change_replaces_the_password(app, make, login_as):
    user = make.user()
    c = login_as(user)
    resp = c.post("/account", data=password_change())
    assert resp.status_code == 302 and resp.headers["Location"] == "/account"
    page = c.get("/account")
    assert page.status_code == 200
    assert "Password changed; other sessions were signed out." in page.get_data(as_text=True)
    assert not logs_in(app, user.email, PASSWORD)
    assert logs_in(app, user.email, NEW_PASSWORD)


def test_other_sessions_are_signed_out_and_this_one_stays(app, make, login_as):
    user = make.user()
    changing, other = login_as(user), login_as(user)
    assert other.get("/").status_code == 200
    assert changing.post("/account", data=password_change()).status_code == 302
    assert is_signed_out(other)
    assert changing.get("/").status_code == 200
    assert changing.get("/account").status_code == 200


def test_remembered_browser_keeps_a_working_remember_cookie(app, make):
    user = make.user()
    c = app.test_client()
    c.post("/login", data={"email": user.email, "password": PASSWORD, "remember": "y"})
    old_cookie = c.get_cookie("remember_token").value
    assert c.post("/account", data=password_change()).status_code == 302
    new_cookie = c.get_cookie("remember_token").value
    assert new_cookie != old_cookie

    def only_remember_cookie(value):
        browser = app.test_client()
        browser.set_cookie("remember_token", value)
        return browser

    assert only_remember_cookie(new_cookie).get("/").status_code == 200
    assert is_signed_out(only_remember_cookie(old_cookie))


def test_wrong_current_password_is_a_field_error_and_changes_nothing(app, make, login_as):
    user = make.user("Still Here")
    before = fresh(user).password_hash, fresh(user).session_token
    c, other = login_as(user), login_as(user)
    resp = c.post("/account", data=password_change(current="not my password"))
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert re.search(r'id="password-current-err">This is not your current password.<', body)
    assert 'class="flash' not in body
    assert 'value="Still Here"' in body  # the other form keeps its data
    assert "not my password" not in body and NEW_PASSWORD not in body  # password fields are not echoed
    assert (fresh(user).password_hash, fresh(user).session_token) == before
    assert other.get("/").status_code == 200
    assert logs_in(app, user.email, PASSWORD)


@pytest.mark.parametrize(
    "data, field, message",
    [
        (password_change(new="too short", repeat="too short"), "password", "Use 10 to 200 characters."),
        (password_change(new="x" * 201), "password", "Use 10 to 200 characters."),
        (password_change(repeat="something else"), "confirm", "The passwords differ."),
        (password_change(new=PASSWORD), "password", "Choose a password different from the current one."),
        (password_change(current=""), "current", "Enter your current password."),
    ],
)
def test_bad_new_password_is_refused(app, make, login_as, data, field, message):
    user = make.user()
    before = fresh(user).password_hash
    resp = login_as(user).post("/account", data=data)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert re.search(rf'id="password-{field}-err">{re.escape(message)}<', body)
    assert fresh(user).password_hash == before
    assert logs_in(app, user.email, PASSWORD)


def test_password_change_closes_open_panel_sockets_of_other_sessions(app, make, clock):
    app.config["PANEL_PRESENCE_DELAY"] = 0
    cast = PanelCast(app, make)
    critic = cast.critics[0]
    sock = cast.sock(critic)
    sock.received()
    changing = app.test_client()
    login(changing, critic)
    assert changing.post("/account", data=password_change()).status_code == 302
    assert [m["name"] for m in sock.received()] == ["forced_logout"]
    assert not sock.connected


# --------------------------------------------------------------------------- throttling and CSRF


def test_password_attempts_are_throttled_but_name_changes_are_not(make_app):
    throttled = make_app(LOGIN_RATE_LIMIT="3 per minute")
    with throttled.app_context():
        email = Factory().user().email
    c = throttled.test_client()
    assert c.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
    for _ in range(3):
        assert c.post("/account", data=password_change(current="guess guess")).status_code == 200
    blocked = c.post("/account", data=password_change())
    assert blocked.status_code == 429
    assert b"Too many attempts" in blocked.data
    for n in range(4):
        assert c.post("/account", data=name_change(f"Name {n}")).status_code == 302
    assert c.get("/account").status_code == 200
    assert logs_in(throttled, email, PASSWORD)


@pytest.mark.parametrize("data", [name_change("With Token"), password_change()])
def test_each_form_works_with_csrf_on(make_app, data):
    secured = make_app(WTF_CSRF_ENABLED=True)
    with secured.app_context():
        email = Factory().user().email
    c = secured.test_client()
    token = CSRF_META.search(c.get("/login").get_data(as_text=True)).group(1)
    assert c.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token}).status_code == 302
    page = c.get("/account").get_data(as_text=True)
    prefix = "name" if "name-submit" in data else "password"
    token = re.search(rf'name="{prefix}-csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert c.post("/account", data=data).status_code == 400
    assert c.post("/account", data={**data, f"{prefix}-csrf_token": token}).status_code == 302

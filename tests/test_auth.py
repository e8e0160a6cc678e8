"""Accounts: login, no user enumeration, throttling, logout invalidation, registration, redirects."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from tests.support.factories import PASSWORD, ROLE_STUDENT, Factory
from core.extensions import db
from models import Enrollment, User

CSRF_TOKEN = re.compile(r'(name="csrf[-_]token"\s+(?:content|value)=")[^"]*(")')


def without_csrf(body: bytes) -> bytes:
    """The page with its CSRF tokens blanked (they differ per session by design)."""
    return CSRF_TOKEN.sub(r"\1\2", body.decode()).encode()


def test_login_ok(client, make):
    user = make.user("Lena Login")
    resp = client.post("/login", data={"email": user.email.upper(), "password": PASSWORD})
    assert resp.status_code == 302 and resp.headers["Location"] == "/"
    page = client.get("/")
    assert page.status_code == 200 and b"Lena Login" in page.data


def test_unknown_user_and_wrong_password_answer_byte_for_byte_the_same(app, make):
    email = "someone@example.edu"
    unknown = app.test_client().post("/login", data={"email": email, "password": "wrong password"})
    make.user(email=email)
    wrong = app.test_client().post("/login", data={"email": email, "password": "wrong password"})
    assert unknown.status_code == wrong.status_code == 200
    assert b"Email or password is incorrect." in unknown.data
    assert without_csrf(unknown.data) == without_csrf(wrong.data)
    assert sorted(unknown.headers.keys()) == sorted(wrong.headers.keys())


def test_csrf_token_stripping_only_touches_tokens():
    body = b'<meta name="csrf-token" content="abc.def"><input name="csrf_token" value="xyz"><p>same</p>'
    assert without_csrf(body) == b'<meta name="csrf-token" content=""><input name="csrf_token" value=""><p>same</p>'


def test_login_is_throttled_after_the_limit(make_app):
    throttled = make_app(LOGIN_RATE_LIMIT="3 per minute")
    with throttled.app_context():
        Factory().user(email="t@example.edu")
    c = throttled.test_client()
    for _ in range(3):
        assert c.post("/login", data={"email": "t@example.edu", "password": "guess"}).status_code == 200
    blocked = c.post("/login", data={"email": "t@example.edu", "password": PASSWORD})
    assert blocked.status_code == 429
    assert b"Too many attempts" in blocked.data
    assert c.get("/login").status_code == 200  # only attempts count, not looking at the form


@pytest.mark.parametrize("remember", [False, True])
def test_cookies_captured_before_logout_are_refused_after_logout(app, make, remember):
    user = make.user()
    c = app.test_client()
    c.post("/login", data={"email": user.email, "password": PASSWORD, "remember": "y" if remember else ""})
    names = ["session", "remember_token"] if remember else ["session"]
    stolen = {name: c.get_cookie(name).value for name in names}

    def replay(only: str):
        thief = app.test_client()
        thief.set_cookie(only, stolen[only])
        return thief.get("/")

    for name in names:
        assert replay(name).status_code == 200, f"{name} works before logout"
    assert c.post("/logout").status_code == 302
    for name in names:
        resp = replay(name)
        assert resp.status_code == 302 and "/login" in resp.headers["Location"], name


def test_logout_needs_post(app, make, login_as):
    c = login_as(make.user())
    assert c.get("/logout").status_code == 405
    assert c.get("/").status_code == 200


def test_register_with_join_code_creates_a_student(client, make):
    course = make.course(title="Seminar on Serving")
    resp = client.post(
        "/register",
        data={
            "join_code": course.join_code.lower(),
            "display_name": "Rita Register",
            "email": "Rita@Example.edu",
            "password": "long enough pass",
            "confirm": "long enough pass",
            "role": "instructor",
            "course_id": "999",
        },
    )
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/courses/{course.id}")
    user = db.session.scalar(select(User).where(User.email == "rita@example.edu"))
    assert user is not None and user.password_hash != "long enough pass"
    enrollment = db.session.scalar(select(Enrollment).where(Enrollment.user_id == user.id))
    assert (enrollment.course_id, enrollment.role) == (course.id, ROLE_STUDENT)
    assert b"Seminar on Serving" in client.get(f"/courses/{course.id}").data


@pytest.mark.parametrize(
    "change, message",
    [
        ({"join_code": "NOPE2345"}, "No course has this join code"),
        ({"join_code": "DISABLED"}, "No course has this join code"),
        ({"email": "taken@example.edu"}, "already has an account"),
        ({"confirm": "something else!"}, "The passwords differ"),
        ({"password": "short", "confirm": "short"}, "Use at least 10 characters"),
    ],
)
def test_register_errors(client, make, change, message):
    course = make.course()
    make.course(join_code="DISABLED", join_enabled=False)
    make.user(email="taken@example.edu")
    data = {
        "join_code": course.join_code,
        "display_name": "Rita",
        "email": "new@example.edu",
        "password": "long enough pass",
        "confirm": "long enough pass",
        **change,
    }
    resp = client.post("/register", data=data)
    assert resp.status_code == 200
    assert message in resp.get_data(as_text=True)
    assert db.session.scalar(select(User).where(User.email == "new@example.edu")) is None


def stays_on_site(location: str) -> bool:
    """Whether a browser following this Location stays here (browsers read \\ as /)."""
    url = urlsplit(location.replace("\\", "/"))
    return not url.scheme and not url.netloc and not url.path.startswith("//")


@pytest.mark.parametrize(
    "target",
    ["//evil.example/", "https://evil.example/", "\\\\evil.example", "javascript:alert(1)", "///evil.example"],
)
def test_login_refuses_open_redirects(client, make, target):
    user = make.user()
    resp = client.post("/login", query_string={"next": target}, data={"email": user.email, "password": PASSWORD})
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/"


def test_login_next_with_a_backslash_stays_on_site(client, make):
    user = make.user()
    resp = client.post("/login", query_string={"next": "/\\evil.example"}, data={"email": user.email, "password": PASSWORD})
    assert stays_on_site(resp.headers["Location"])


def test_login_follows_a_local_next(client, make):
    user = make.user()
    resp = client.post("/login?next=/join", data={"email": user.email, "password": PASSWORD})
    assert resp.headers["Location"] == "/join"


def test_login_page_redirects_when_logged_in(login_as, make):
    c = login_as(make.user())
    assert c.get("/login").status_code == 302

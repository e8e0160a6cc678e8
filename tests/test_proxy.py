"""Behind trusted proxies: the real client address, scheme and host (TRUSTED_PROXIES and
ProxyFix), the login limiter keyed on address and account, Secure cookies behind TLS, the
Socket.IO same-origin check, and a clear answer where a Secure cookie cannot travel."""
from __future__ import annotations

import pytest

from core.proxy import INSECURE_TRANSPORT_MESSAGE
from tests.support.factories import PASSWORD, Factory

INSECURE_HINT = "only accepts logins over HTTPS"
HANDSHAKE = "/socket.io/?EIO=4&transport=polling"


def _users(app, count: int) -> list[str]:
    with app.app_context():
        return [Factory().user().email for _ in range(count)]


def _login(client, email: str, password: str = PASSWORD, **headers):
    return client.post("/login", data={"email": email, "password": password}, headers=headers)


def test_a_class_behind_one_address_logs_in_within_a_minute(make_app):
    throttled = make_app(LOGIN_RATE_LIMIT="3 per minute", TRUSTED_PROXIES=1)
    emails = _users(throttled, 30)
    nat = {"X-Forwarded-For": "198.51.100.7"}
    # each student's browser is its own client, all behind the campus NAT's one address
    answers = [_login(throttled.test_client(), email, **nat).status_code for email in emails]
    assert answers == [302] * 30


def test_guessing_one_account_is_stopped_and_unknown_accounts_answer_the_same(make_app):
    throttled = make_app(LOGIN_RATE_LIMIT="3 per minute")
    known, other = _users(throttled, 2)
    for email in (known, "nobody@example.edu"):
        client = throttled.test_client()
        assert [_login(client, email, "guess guess").status_code for _ in range(3)] == [200] * 3
        assert _login(client, email).status_code == 429  # even the right password, now
    assert _login(throttled.test_client(), other).status_code == 302  # another student is not locked out


def test_forwarded_headers_are_ignored_without_trusted_proxies(make_app):
    throttled = make_app(LOGIN_RATE_LIMIT="3 per minute")  # TRUSTED_PROXIES defaults to 0
    [email] = _users(throttled, 1)
    client = throttled.test_client()
    for n in range(3):
        assert _login(client, email, "guess guess", **{"X-Forwarded-For": f"203.0.113.{n}"}).status_code == 200
    assert _login(client, email, **{"X-Forwarded-For": "203.0.113.99"}).status_code == 429


def test_trusted_proxy_passes_the_client_address_to_the_limiter(make_app):
    throttled = make_app(LOGIN_RATE_LIMIT="3 per minute", TRUSTED_PROXIES=1)
    [email] = _users(throttled, 1)
    client = throttled.test_client()
    for _ in range(3):
        _login(client, email, "guess guess", **{"X-Forwarded-For": "203.0.113.1"})
    assert _login(client, email, **{"X-Forwarded-For": "203.0.113.1"}).status_code == 429
    # one more hop in front (the client's own header) changes nothing: only the last one counts
    assert _login(client, email, **{"X-Forwarded-For": "10.9.9.9, 203.0.113.1"}).status_code == 429
    assert _login(client, email, **{"X-Forwarded-For": "203.0.113.2"}).status_code == 302


def test_one_address_trying_many_accounts_is_stopped(make_app):
    throttled = make_app(LOGIN_ADDRESS_RATE_LIMIT="5 per minute")
    emails = _users(throttled, 6)
    answers = [_login(throttled.test_client(), email, "guess guess").status_code for email in emails]
    assert answers == [200] * 5 + [429]


@pytest.fixture
def secure_app(make_app):
    """Production's cookies: Secure session and remember-me cookies, one trusted proxy."""
    return make_app(SESSION_COOKIE_SECURE=True, REMEMBER_COOKIE_SECURE=True, TRUSTED_PROXIES=1)


def test_behind_a_tls_proxy_cookies_are_secure_and_login_works(secure_app):
    [email] = _users(secure_app, 1)
    client = secure_app.test_client()
    tls = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "colloquy.example.edu"}
    page = client.get("/login", headers=tls)
    assert INSECURE_HINT not in page.get_data(as_text=True)
    resp = client.post("/login", data={"email": email, "password": PASSWORD, "remember": "y"}, headers=tls)
    assert resp.status_code == 302
    assert resp.headers["Location"].startswith("/")  # relative: the forwarded host is never needed
    cookies = resp.headers.getlist("Set-Cookie")
    assert cookies and all("Secure" in c for c in cookies), cookies


def test_over_plain_http_the_login_page_says_why_login_cannot_work(secure_app, make_app):
    page = secure_app.test_client().get("/login").get_data(as_text=True)
    assert INSECURE_HINT in page and "TRUSTED_PROXIES" in page
    # a client's own X-Forwarded-Proto is not believed without a trusted proxy
    untrusted = make_app(SESSION_COOKIE_SECURE=True)
    spoofed = untrusted.test_client().get("/login", headers={"X-Forwarded-Proto": "https"})
    assert INSECURE_HINT in spoofed.get_data(as_text=True)
    # with ordinary development cookies, no warning
    assert INSECURE_HINT not in make_app().test_client().get("/login").get_data(as_text=True)


def test_the_refused_post_over_plain_http_explains_instead_of_a_bare_400(make_app):
    secured = make_app(SESSION_COOKIE_SECURE=True, WTF_CSRF_ENABLED=True)
    resp = secured.test_client().post("/login", data={"email": "a@example.edu", "password": "x"})
    assert resp.status_code == 400
    assert INSECURE_TRANSPORT_MESSAGE.split(",")[0] in resp.get_data(as_text=True)


@pytest.mark.parametrize("trusted,origin,accepted", [
    (1, "https://colloquy.example.edu", True),    # the page's own origin, as the proxy forwards it
    (1, "http://internal:5000", False),           # the address behind the proxy is not the page's
    (1, "https://evil.example", False),
    (0, "https://colloquy.example.edu", False),   # forwarded headers not believed without a proxy
    (0, "http://internal:5000", True),
    (0, "https://evil.example", False),
])
def test_socket_origin_check_follows_the_forwarded_scheme_and_host(make_app, trusted, origin, accepted):
    app = make_app(TRUSTED_PROXIES=trusted)
    resp = app.test_client().get(HANDSHAKE, base_url="http://internal:5000", headers={
        "Origin": origin, "X-Forwarded-Proto": "https", "X-Forwarded-Host": "colloquy.example.edu"})
    assert (resp.status_code == 200) is accepted, (resp.status_code, resp.get_data(as_text=True)[:200])
    if not accepted:
        assert resp.status_code == 400


def test_the_allowlist_still_admits_its_origins(make_app):
    app = make_app(SOCKETIO_ALLOWED_ORIGINS=["https://slides.example.edu"])
    resp = app.test_client().get(HANDSHAKE, headers={"Origin": "https://slides.example.edu"})
    assert resp.status_code == 200

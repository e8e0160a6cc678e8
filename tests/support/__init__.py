"""Code the tests share: factories and the test app, the panel cast, live servers, PostgreSQL."""

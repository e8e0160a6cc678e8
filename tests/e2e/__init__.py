"""Real-browser end-to-end tests (Playwright driving Chromium against a server subprocess)."""

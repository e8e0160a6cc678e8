"""One error handler per status, answering HTML or JSON by what the client wants."""
from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from core import proxy
from core.extensions import db


def wants_json() -> bool:
    """True when the client asked for JSON (API paths and fetch calls)."""
    if request.path.startswith("/api/") or request.is_json:
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def error_response(status: int, title: str, message: str):
    """Render one error, in the format the client expects."""
    if wants_json():
        return jsonify(error=title, message=message), status
    return render_template("error.html", status=status, title=title, message=message), status


def init_app(app: Flask) -> None:
    """Register handlers for HTTP errors and for unexpected exceptions."""

    @app.errorhandler(HTTPException)
    def handle_http(exc: HTTPException):
        messages = {
            404: "There is nothing here. Check the address, or go back to your courses.",
            403: "You do not have access to this page.",
            429: "Too many attempts. Wait a minute and try again.",
            413: "That upload is too large.",
        }
        message = messages.get(exc.code, exc.description or "")
        if exc.code == 400 and "CSRF" in (exc.description or ""):
            message = "Your form expired or came from another site. Reload the page and try again."
            if proxy.cookie_cannot_travel(app):
                message = proxy.INSECURE_TRANSPORT_MESSAGE
        return error_response(exc.code or 500, exc.name, message)

    @app.errorhandler(Exception)
    def handle_unexpected(exc: Exception):
        db.session.rollback()
        app.logger.exception("unhandled error")
        return error_response(500, "Internal Server Error", "Something went wrong on our side.")

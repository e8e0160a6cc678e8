"""Log in, log out, register with a course join code; change one's name and password."""
from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from sqlalchemy.orm import contains_eager
from wtforms import BooleanField, EmailField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, EqualTo, Length, ValidationError

from blueprints.panel.fanout import end_user_sockets
from core.extensions import db, limiter
from core.proxy import INSECURE_TRANSPORT_MESSAGE, cookie_cannot_travel
from core.passwords import hash_password, needs_rehash, verify_password
from domain import accounts
from domain.accounts import find_user_by_email
from models import Course, Enrollment, User

bp = Blueprint("auth", __name__)

BAD_LOGIN = "Email or password is incorrect."


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])
    remember = BooleanField("Keep me logged in on this computer")


class RegisterForm(FlaskForm):
    join_code = StringField(
        "Course join code",
        validators=[DataRequired(), Length(max=16)],
        description="Your instructor gives you this code.",
    )
    display_name = StringField("Your name", validators=[DataRequired(), Length(max=120)])
    email = EmailField("Email", validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)])
    password = PasswordField(
        "Password",
        validators=[DataRequired(), Length(min=10, max=200, message="Use at least 10 characters.")],
    )
    confirm = PasswordField(
        "Repeat the password", validators=[DataRequired(), EqualTo("password", message="The passwords differ.")]
    )


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class NameForm(FlaskForm):
    display_name = StringField(
        "Display name",
        filters=[_strip],
        validators=[DataRequired("Enter your name."), Length(max=120, message="Use at most 120 characters.")],
        description="Shown to your courses' members.",
    )
    submit = SubmitField("Save name")


class PasswordForm(FlaskForm):
    current = PasswordField(
        "Current password", validators=[DataRequired("Enter your current password."), Length(max=200)]
    )
    password = PasswordField(
        "New password",
        validators=[DataRequired("Enter a new password."), Length(min=10, max=200, message="Use 10 to 200 characters.")],
    )
    confirm = PasswordField(
        "Repeat the new password",
        validators=[DataRequired("Repeat the new password."), EqualTo("password", message="The passwords differ.")],
    )
    submit = SubmitField("Change password")

    def validate_password(self, field):
        if field.data == self.current.data:
            raise ValidationError("Choose a password different from the current one.")


NAME_PREFIX = "name"
PASSWORD_PREFIX = "password"


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths are followed after login."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("courses.dashboard")


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _address_limit() -> str:
    return current_app.config["LOGIN_ADDRESS_RATE_LIMIT"]


def _address_and_account() -> str:
    """The login limiter's key: the client's real address (ProxyFix) and the account tried (the
    form's e-mail, or the signed-in user), so a class behind one NAT has a bucket per student
    while guesses at one account stay counted; the same whether or not the account exists."""
    if current_user.is_authenticated:
        account = f"user:{current_user.id}"
    else:
        email = (request.form.get("email") or "").strip().lower()[:254]
        account = "email:" + hashlib.sha256(email.encode("utf-8", "replace")).hexdigest()[:32]
    return f"{get_remote_address()}|{account}"


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], key_func=_address_and_account)
@limiter.limit(_address_limit, methods=["POST"])
def login():
    """Show the login form and sign the user in; one answer for unknown user and wrong password."""
    if current_user.is_authenticated:
        return redirect(url_for("courses.dashboard"))
    if cookie_cannot_travel(current_app):
        flash(INSECURE_TRANSPORT_MESSAGE, "error")
    form = LoginForm()
    if form.validate_on_submit():
        user = find_user_by_email(form.email.data)
        if verify_password(user.password_hash if user else None, form.password.data):
            if needs_rehash(user.password_hash):
                user.password_hash = hash_password(form.password.data)
                db.session.commit()
            login_user(user, remember=form.remember.data)
            return redirect(_safe_next(request.args.get("next")))
        flash(BAD_LOGIN, "error")
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """End every session of this user: the session token is rotated, so old cookies stop working."""
    user_id = current_user.id
    current_user.rotate_session_token()
    db.session.commit()
    logout_user()
    end_user_sockets(user_id)
    flash("You are logged out.", "success")
    return redirect(url_for("auth.login"))


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], key_func=_address_and_account)
@limiter.limit(_address_limit, methods=["POST"])
def register():
    """Create a student account with a course's join code."""
    if current_user.is_authenticated:
        return redirect(url_for("courses.join"))
    form = RegisterForm()
    if form.validate_on_submit():
        course = accounts.course_by_join_code(form.join_code.data, enabled_only=True)
        if course is None:
            form.join_code.errors.append("No course has this join code. Check it with your instructor.")
        elif find_user_by_email(form.email.data) is not None:
            form.email.errors.append(
                "This email already has an account: log in, then join the course with the code."
            )
        else:
            user = accounts.new_user(form.email.data, form.display_name.data, form.password.data)
            accounts.enrol_student(user, course)
            db.session.commit()
            login_user(user)
            flash(f"Welcome to {course.title}.", "success")
            return redirect(url_for("courses.home", course_id=course.id))
    return render_template("auth/register.html", form=form)


# --------------------------------------------------------------------------- account


def _not_changing_password() -> bool:
    """Only password-change attempts count against the login rate limit."""
    return f"{PASSWORD_PREFIX}-submit" not in request.form


def _my_enrollments() -> list[Enrollment]:
    """The current user's enrollments with their courses, by course title."""
    return db.session.scalars(
        select(Enrollment)
        .join(Enrollment.course)
        .options(contains_eager(Enrollment.course))
        .where(Enrollment.user_id == current_user.id)
        .order_by(Course.title)
    ).all()


def _set_password(user: User, password: str) -> None:
    """Store the new password and end every other session and socket of the user."""
    remembered = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies
    accounts.set_password(user, password)
    db.session.commit()
    # The old token is gone: sign this browser in again with the new one.
    login_user(user, remember=remembered)
    # This browser's own sockets hold the old token too; they reconnect with a page reload.
    end_user_sockets(user.id)


@bp.route("/account", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], key_func=_address_and_account, exempt_when=_not_changing_password)
@login_required
def account():
    """Change one's display name or password; list one's courses."""
    user = current_user._get_current_object()
    name_form = NameForm(prefix=NAME_PREFIX, obj=user)
    password_form = PasswordForm(prefix=PASSWORD_PREFIX)
    if name_form.submit.data and name_form.validate_on_submit():
        user.display_name = name_form.display_name.data
        db.session.commit()
        flash("Your name was saved.", "success")
        return redirect(url_for("auth.account"))
    if password_form.submit.data and password_form.validate_on_submit():
        if verify_password(user.password_hash, password_form.current.data):
            _set_password(user, password_form.password.data)
            flash("Password changed; other sessions were signed out.", "success")
            return redirect(url_for("auth.account"))
        password_form.current.errors.append("This is not your current password.")
    return render_template(
        "auth/account.html", name_form=name_form, password_form=password_form, enrollments=_my_enrollments()
    )

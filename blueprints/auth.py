"""Log in, log out, register with a course join code."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from blueprints.panel.fanout import end_user_sockets
from extensions import db, limiter
from models import ROLE_STUDENT, Course, Enrollment, User
from passwords import hash_password, needs_rehash, verify_password

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


def normalise_email(email: str) -> str:
    """E-mail addresses compare case-insensitively and without surrounding spaces."""
    return (email or "").strip().lower()


def find_user_by_email(email: str) -> User | None:
    """The account with this e-mail address, if any."""
    return db.session.scalar(select(User).where(func.lower(User.email) == normalise_email(email)))


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths are followed after login."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("courses.dashboard")


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    """Show the login form and sign the user in; one answer for unknown user and wrong password."""
    if current_user.is_authenticated:
        return redirect(url_for("courses.dashboard"))
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
@limiter.limit(_login_limit, methods=["POST"])
def register():
    """Create a student account with a course's join code."""
    if current_user.is_authenticated:
        return redirect(url_for("courses.join"))
    form = RegisterForm()
    if form.validate_on_submit():
        course = db.session.scalar(
            select(Course).where(
                Course.join_code == form.join_code.data.strip().upper(), Course.join_enabled.is_(True)
            )
        )
        if course is None:
            form.join_code.errors.append("No course has this join code. Check it with your instructor.")
        elif find_user_by_email(form.email.data) is not None:
            form.email.errors.append(
                "This email already has an account: log in, then join the course with the code."
            )
        else:
            user = User(
                email=normalise_email(form.email.data),
                display_name=form.display_name.data.strip(),
                password_hash=hash_password(form.password.data),
            )
            db.session.add(user)
            db.session.add(Enrollment(user=user, course=course, role=ROLE_STUDENT))
            db.session.commit()
            login_user(user)
            flash(f"Welcome to {course.title}.", "success")
            return redirect(url_for("courses.home", course_id=course.id))
    return render_template("auth/register.html", form=form)

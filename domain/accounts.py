"""Accounts and course join codes: finding, creating and signing up users, the site-level
instructor permission, and temporary passwords (SPEC §1).

Operations add to the session and flush where an id is needed; the request commits.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Optional

from sqlalchemy import bindparam, delete, func, select

from core import reads
from core.extensions import db
from core.passwords import hash_password
from domain.errors import Conflict, NotFound
from models import ROLE_STUDENT, Course, Enrollment, IssuedCredential, User, new_join_code

_USER_BY_TOKEN = select(User).where(User.session_token == bindparam("token"))
_USERS = User.__table__
_SESSION_USER_BY_TOKEN = select(
    _USERS.c.id, _USERS.c.session_token, _USERS.c.display_name, _USERS.c.is_instructor
).where(_USERS.c.session_token == bindparam("token"))

NO_SUCH_ACCOUNT = "No account has this email address."
ACCOUNT_EXISTS = "An account with this email address already exists."


def normalise_email(email: str) -> str:
    """E-mail addresses compare case-insensitively and without surrounding spaces."""
    return (email or "").strip().lower()


def find_user_by_email(email: str) -> Optional[User]:
    """The account with this e-mail address, if any."""
    return db.session.scalar(select(User).where(func.lower(User.email) == normalise_email(email)))


def user_by_session_token(token: str) -> Optional[User]:
    """The user whose current session token this is (tokens rotate on logout)."""
    return db.session.scalar(_USER_BY_TOKEN, {"token": token})


@dataclass(frozen=True)
class SessionUser:
    """The logged-in user of one Socket.IO event: the account's identity, read without building
    an ORM entity (a join is the panel's most frequent event). Read-only; it answers the login
    manager's questions as a ``User`` does, and the policy asks only for ``id``."""

    id: int
    session_token: str
    display_name: str
    is_instructor: bool

    is_authenticated: ClassVar[bool] = True
    is_active: ClassVar[bool] = True
    is_anonymous: ClassVar[bool] = False

    def get_id(self) -> str:
        """The login manager's identity, as ``User.get_id``: the session token."""
        return self.session_token


def session_user_by_token(token: str) -> Optional[SessionUser]:
    """``user_by_session_token`` for a socket event: the identity only, in one Core read."""
    row = reads.first_row(_SESSION_USER_BY_TOKEN, {"token": token})
    return None if row is None else SessionUser(row.id, row.session_token, row.display_name, bool(row.is_instructor))


def new_user(email: str, display_name: str, password: str, temporary: bool = False) -> User:
    """A new account with an argon2id hash of its password, added to the session.

    The site's first account may create courses; a ``temporary`` password must be replaced at
    the first login.
    """
    first = db.session.scalar(select(User.id).limit(1)) is None
    user = User(
        email=normalise_email(email),
        display_name=display_name.strip(),
        password_hash=hash_password(password),
        is_instructor=first,
        must_change_password=temporary,
    )
    db.session.add(user)
    return user


def create_instructor(email: str, display_name: str, password: str) -> User:
    """A new account that may create courses; Conflict when the address has an account."""
    if find_user_by_email(email) is not None:
        raise Conflict(ACCOUNT_EXISTS)
    user = new_user(email, display_name, password)
    user.is_instructor = True
    db.session.flush()
    return user


def grant_instructor(email: str) -> User:
    """Let an existing account create courses; NotFound when no account has the address."""
    user = find_user_by_email(email)
    if user is None:
        raise NotFound(NO_SUCH_ACCOUNT)
    user.is_instructor = True
    db.session.flush()
    return user


def set_password(user: User, password: str) -> None:
    """Store a new password and end every session of the user (their token rotates); a
    temporary password and its undownloaded credentials are gone with it."""
    user.password_hash = hash_password(password)
    user.must_change_password = False
    user.rotate_session_token()
    db.session.execute(delete(IssuedCredential).where(IssuedCredential.user_id == user.id))


def course_by_join_code(code: str, enabled_only: bool = False) -> Optional[Course]:
    """The course with this join code (typed in any case), if any."""
    statement = select(Course).where(Course.join_code == (code or "").strip().upper())
    if enabled_only:
        statement = statement.where(Course.join_enabled.is_(True))
    return db.session.scalar(statement)


def enrol_student(user: User, course: Course) -> Enrollment:
    """Enrol the user in the course as a student (the database refuses a second enrolment)."""
    enrollment = Enrollment(user=user, course=course, role=ROLE_STUDENT)
    db.session.add(enrollment)
    return enrollment


def regenerate_join_code(course: Course) -> str:
    """Give the course a new join code no other course holds; the old one stops working."""
    code = new_join_code()
    while db.session.scalar(select(Course.id).where(Course.join_code == code)) is not None:
        code = new_join_code()
    course.join_code = code
    return code

"""Course roster operations: enrolling people one by one, from a CSV file or with the join
code, changing roles and removing members, and the rule that a course keeps an instructor.

Nothing here commits: callers commit once, so a CSV import is all-or-nothing.
"""
from __future__ import annotations

import csv
import io
import secrets
from dataclasses import dataclass, field
from typing import Optional

from defusedcsv import csv as safe_csv
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import selectinload

from core.extensions import db
from domain import audit, policy
from domain.accounts import find_user_by_email, new_user, normalise_email
from domain.errors import Conflict
from models import ROLE_INSTRUCTOR, ROLE_STUDENT, ROLES, Course, Enrollment, IssuedCredential, User

MAX_CSV_BYTES = 200_000
MAX_CSV_ROWS = 1000
MAX_NAME = 120
MAX_EMAIL = 254
COLUMNS = ("name", "email", "role")


@dataclass
class RosterRow:
    """One person of an uploaded roster, with what is wrong with the row (if anything)."""

    line: int
    name: str
    email: str
    role: str
    errors: list[str] = field(default_factory=list)
    existing: Optional[User] = None

    @property
    def ok(self) -> bool:
        return not self.errors


def temporary_password() -> str:
    """A random first password the instructor hands over once."""
    return secrets.token_urlsafe(12)


def email_problem(email: str, allow_special_use: bool = False) -> Optional[str]:
    """Why an e-mail address cannot be used, or None when it is fine; the message says what is
    wrong with it. ``allow_special_use`` accepts the special-use ``.test`` domains (such as the
    demo's ``@colloquy.test``), as development and test sites are configured to."""
    if not email:
        return "Email is missing."
    if len(email) > MAX_EMAIL:
        return f"Email is longer than {MAX_EMAIL} characters."
    try:
        validate_email(email, check_deliverability=False, test_environment=allow_special_use)
    except EmailNotValidError as exc:
        return f"“{email}” is not a valid email address: {exc}"
    return None


def role_label(role: str) -> str:
    """How a role is named on pages."""
    return "TA" if role == "ta" else role.capitalize()


def enrollment_of(course_id: int, user_id: int) -> Optional[Enrollment]:
    """The user's enrollment in the course, if any."""
    return db.session.scalar(
        select(Enrollment).where(Enrollment.course_id == course_id, Enrollment.user_id == user_id)
    )


def is_last_instructor(enrollment: Enrollment) -> bool:
    """True when this enrollment is the course's only instructor (who must stay)."""
    if enrollment.role != ROLE_INSTRUCTOR:
        return False
    count = db.session.scalar(
        select(func.count(Enrollment.id)).where(
            Enrollment.course_id == enrollment.course_id, Enrollment.role == ROLE_INSTRUCTOR
        )
    )
    return count <= 1


def enroll_person(
    course: Course, name: str, email: str, role: str, issued_by_id: Optional[int] = None
) -> tuple[Enrollment, Optional[str]]:
    """Enroll the account with this e-mail, creating it first when new.

    Returns the enrollment and, for a new account, its temporary password (shown once, kept
    for one download of the course's credentials, and to be changed at the first login).
    An existing account keeps its own display name.
    """
    user = find_user_by_email(email)
    password = None
    if user is None:
        password = temporary_password()
        user = new_user(email, name, password, temporary=True)
        db.session.add(IssuedCredential(course_id=course.id, user=user, password=password, issued_by_id=issued_by_id))
    enrollment = Enrollment(user=user, course=course, role=role)
    db.session.add(enrollment)
    return enrollment, password


# --------------------------------------------------------------------------- CSV upload


def decode_upload(data: bytes) -> tuple[str, Optional[str]]:
    """The uploaded file as text, or an error when it is not UTF-8 or too large."""
    if len(data) > MAX_CSV_BYTES:
        return "", f"The file is too large (at most {MAX_CSV_BYTES // 1000} kB)."
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return "", "The file is not UTF-8 text. Save it as “CSV UTF-8” and upload it again."
    return text, None


def read_roster_csv(course: Course, text: str, allow_special_use: bool = False) -> tuple[list[RosterRow], list[str]]:
    """Parse and check an uploaded roster; returns ``(rows, file_errors)``.

    Columns are ``name,email[,role]``; a first row naming the columns (with ``email`` in it)
    is a header and may order them differently. Every row is checked, so the preview can
    list every problem at once.
    """
    if len(text.encode("utf-8")) > MAX_CSV_BYTES:
        return [], [f"The file is too large (at most {MAX_CSV_BYTES // 1000} kB)."]
    try:
        records = [(n, cells) for n, cells in enumerate(csv.reader(io.StringIO(text)), 1)]
    except csv.Error as exc:
        return [], [f"The file could not be read as CSV: {exc}."]
    records = [(n, cells) for n, cells in records if any(c.strip() for c in cells)]
    columns, records, errors = _columns(records)
    if errors:
        return [], errors
    if not records:
        return [], ["The file has no people in it."]
    if len(records) > MAX_CSV_ROWS:
        return [], [f"The file has {len(records)} rows; upload at most {MAX_CSV_ROWS} at a time."]
    rows = [_row(n, cells, columns, allow_special_use) for n, cells in records]
    _check_against_course(course, rows)
    return rows, []


def _columns(records: list[tuple[int, list[str]]]) -> tuple[tuple[str, ...], list, list[str]]:
    """The column order (from a header row if there is one) and the remaining records."""
    if not records:
        return COLUMNS, records, []
    header = [c.strip().lower() for c in records[0][1]]
    if "email" not in header:
        return COLUMNS, records, []
    unknown = [c for c in header if c not in COLUMNS]
    if unknown or "name" not in header or len(set(header)) != len(header):
        return COLUMNS, [], [
            "The header row must name the columns name, email and (optionally) role, each once."
        ]
    return tuple(header), records[1:], []


def _row(line: int, cells: list[str], columns: tuple[str, ...], allow_special_use: bool) -> RosterRow:
    """One record as a row, with the problems that show within the row itself."""
    values = dict(zip(columns, (c.strip() for c in cells)))
    row = RosterRow(
        line=line,
        name=values.get("name", ""),
        email=normalise_email(values.get("email", "")),
        role=(values.get("role") or ROLE_STUDENT).lower(),
    )
    if len(cells) > len(columns) and any(c.strip() for c in cells[len(columns):]):
        row.errors.append(f"Too many columns (expected {', '.join(columns)}).")
    if not row.name:
        row.errors.append("Name is missing.")
    elif len(row.name) > MAX_NAME:
        row.errors.append(f"Name is longer than {MAX_NAME} characters.")
    problem = email_problem(row.email, allow_special_use)
    if problem:
        row.errors.append(problem)
    if row.role not in ROLES:
        row.errors.append(f"Unknown role “{values.get('role')}” (use student, ta or instructor).")
    return row


def _check_against_course(course: Course, rows: list[RosterRow]) -> None:
    """Mark duplicates within the file and people already enrolled; note existing accounts."""
    emails = {r.email for r in rows if r.email}
    users = {
        u.email.lower(): u
        for u in db.session.scalars(select(User).where(func.lower(User.email).in_(emails)))
    }
    enrolled = dict(
        db.session.execute(
            select(Enrollment.user_id, Enrollment.role).where(Enrollment.course_id == course.id)
        ).all()
    )
    first_line: dict[str, int] = {}
    for row in rows:
        if not row.email:
            continue
        if row.email in first_line:
            row.errors.append(f"Duplicate: the same email is on row {first_line[row.email]}.")
        else:
            first_line[row.email] = row.line
        row.existing = users.get(row.email)
        if row.existing is not None and row.existing.id in enrolled:
            role = role_label(enrolled[row.existing.id])
            row.errors.append(f"Already enrolled in this course (as {role}).")


def import_rows(
    course: Course, rows: list[RosterRow], issued_by_id: Optional[int] = None
) -> list[tuple[Enrollment, Optional[str]]]:
    """Enroll every row (all must be ok); returns each enrollment with its temporary password, if new."""
    if not all(row.ok for row in rows):
        raise ValueError("a roster with errors cannot be imported")
    return [enroll_person(course, row.name, row.email, row.role, issued_by_id) for row in rows]


# --------------------------------------------------------------------------- one-time credentials

CREDENTIAL_COLUMNS = ("name", "email", "temporary_password")


def _pending_credentials(course: Course):
    return (
        select(IssuedCredential)
        .join(User, User.id == IssuedCredential.user_id)
        .where(IssuedCredential.course_id == course.id, User.must_change_password.is_(True))
    )


def pending_credential_count(course: Course) -> int:
    """How many temporary passwords of the course still wait for their one download."""
    return db.session.scalar(select(func.count()).select_from(_pending_credentials(course).subquery()))


def take_credentials(course: Course, actor_id: int) -> str:
    """The course's waiting temporary passwords as CSV (formula-safe), removed as they are read:
    a second download finds none. The download is audited (without the passwords)."""
    issued = list(
        db.session.scalars(
            _pending_credentials(course).options(selectinload(IssuedCredential.user)).order_by(
                func.lower(User.display_name), User.id
            )
        )
    )
    out = io.StringIO()
    writer = safe_csv.writer(out)
    writer.writerow(CREDENTIAL_COLUMNS)
    for credential in issued:
        writer.writerow((credential.user.display_name, credential.user.email, credential.password))
    db.session.execute(delete(IssuedCredential).where(IssuedCredential.course_id == course.id))
    audit.record("roster.credentials_downloaded", course.id, actor_id, accounts=len(issued))
    db.session.flush()
    return out.getvalue()


# --------------------------------------------------------------------------- the roster page and changes

LAST_INSTRUCTOR_DEMOTED = "A course needs an instructor: make someone else instructor first."
LAST_INSTRUCTOR_REMOVED = "A course needs an instructor: the last instructor cannot be removed."


def members_query(course: Course, role: str = "", text: str = ""):
    """The course's enrollments by name, narrowed to a role and to text in the name or e-mail."""
    query = (
        select(Enrollment)
        .join(User, User.id == Enrollment.user_id)
        .where(Enrollment.course_id == course.id)
        .options(selectinload(Enrollment.user))
        .order_by(func.lower(User.display_name), User.id)
    )
    if role in ROLES:
        query = query.where(Enrollment.role == role)
    if text:
        pattern = f"%{text.lower()}%"
        query = query.where(or_(func.lower(User.display_name).like(pattern), func.lower(User.email).like(pattern)))
    return query


def is_enrolled_email(course: Course, email: str) -> bool:
    """Someone with this e-mail address is already enrolled in the course."""
    user = find_user_by_email(email)
    return user is not None and enrollment_of(course.id, user.id) is not None


def change_role(enrollment: Enrollment, role: str, actor_id: int) -> bool:
    """Give the member a new role (audited); False when it is the same role.

    Raises Conflict when the course's last instructor would lose the role.
    """
    if role == enrollment.role:
        return False
    if is_last_instructor(enrollment):
        raise Conflict(LAST_INSTRUCTOR_DEMOTED)
    audit.record(
        "roster.role_change", enrollment.course_id, actor_id, subject_id=enrollment.user_id,
        old=enrollment.role, new=role,
    )
    enrollment.role = role
    db.session.flush()
    return True


def remove(enrollment: Enrollment, actor_id: int) -> None:
    """Take the member out of the course (audited); raises Conflict for the last instructor."""
    if is_last_instructor(enrollment):
        raise Conflict(LAST_INSTRUCTOR_REMOVED)
    audit.record(
        "roster.remove", enrollment.course_id, actor_id, subject_id=enrollment.user_id, role=enrollment.role
    )
    db.session.delete(enrollment)
    db.session.flush()


# --------------------------------------------------------------------------- joining with the code


def join_problem(course: Optional[Course], user) -> Optional[str]:
    """Why the user cannot join this course (found by its join code) as a student, or None."""
    if course is None:
        return "No course has this join code. Check it with your instructor."
    if not course.join_enabled:
        return "This course is not accepting students with its join code right now. Ask your instructor."
    if policy.is_member(user, course.id):
        return f"You are already enrolled in {course.title}."
    return None


def join_as_student(course: Course, user) -> Enrollment:
    """Enroll the user as a student of a course whose code they gave (check ``join_problem`` first)."""
    enrollment = Enrollment(user_id=user.id, course_id=course.id, role=ROLE_STUDENT)
    db.session.add(enrollment)
    return enrollment

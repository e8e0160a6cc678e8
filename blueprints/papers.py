"""Papers: the course's paper list, staff editing, and student proposals (SPEC §2.1)."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload, selectinload
from wtforms import Form, IntegerField, SearchField, SelectField, StringField, TextAreaField, URLField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from domain import policy
from blueprints.common import course_or_404, delete_unless, http_url, of_course_or_404
from core.extensions import db
from models import PAPER_APPROVED, PAPER_PROPOSED, PAPER_REJECTED, Course, Paper, Presentation, PresentationMember
from domain.signup import paper_taken

bp = Blueprint("papers", __name__)

PER_PAGE = 25
DECISIONS = {"approve": PAPER_APPROVED, "reject": PAPER_REJECTED}


class PaperForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired("Give the paper's title."), Length(max=300)])
    authors = StringField("Authors", validators=[Length(max=500)], description="As listed on the paper.")
    venue = StringField("Venue", validators=[Length(max=120)], description="For example OSDI, SOSP, NSDI.")
    year = IntegerField(
        "Year",
        validators=[Optional(), NumberRange(1950, 2100, "Give a year between 1950 and 2100.")],
    )
    url = URLField("Link", validators=[Length(max=500), http_url], description="An http:// or https:// address.")
    topic = StringField("Topic", validators=[Length(max=120)], description="Pick an existing topic or type a new one.")
    abstract = TextAreaField("Abstract", validators=[Length(max=10000)])


class DecisionForm(FlaskForm):
    note = TextAreaField(
        "Note to the proposer",
        validators=[Length(max=500)],
        description="Required when rejecting; the student sees it.",
    )


class PaperFilterForm(Form):
    q = SearchField("Search title or authors", validators=[Length(max=200)])
    topic = SelectField("Topic", choices=[], validate_choice=False)


# --------------------------------------------------------------------------- queries


def topics(course: Course) -> list[str]:
    """The distinct topics of the course's approved papers."""
    return list(
        db.session.scalars(
            select(Paper.topic)
            .where(Paper.course_id == course.id, Paper.status == PAPER_APPROVED, Paper.topic != "")
            .distinct()
            .order_by(Paper.topic)
        )
    )


def approved_papers_query(course: Course, text: str = "", topic: str = ""):
    """Approved papers of the course, filtered by topic and by text in title or authors."""
    stmt = select(Paper).where(Paper.course_id == course.id, Paper.status == PAPER_APPROVED)
    if topic:
        stmt = stmt.where(Paper.topic == topic)
    if text:
        needle = text.strip().lower()
        stmt = stmt.where(
            or_(
                func.lower(Paper.title).contains(needle, autoescape=True),
                func.lower(Paper.authors).contains(needle, autoescape=True),
            )
        )
    return stmt.order_by(Paper.topic, Paper.title, Paper.id)


def presentations_by_paper(course: Course, paper_ids: list[int]) -> dict[int, Presentation]:
    """The scheduled presentation of each listed paper, with its session and presenters loaded."""
    if not paper_ids:
        return {}
    rows = db.session.scalars(
        select(Presentation)
        .where(Presentation.course_id == course.id, Presentation.paper_id.in_(paper_ids))
        .options(
            joinedload(Presentation.session),
            selectinload(Presentation.members).joinedload(PresentationMember.user),
        )
    )
    return {p.paper_id: p for p in rows}


def proposals_for(course: Course) -> list[Paper]:
    """Staff see proposals awaiting a decision; a student sees their own proposals."""
    stmt = select(Paper).where(Paper.course_id == course.id).options(joinedload(Paper.proposed_by))
    if policy.is_staff(current_user, course.id):
        stmt = stmt.where(Paper.status == PAPER_PROPOSED)
    else:
        stmt = stmt.where(Paper.proposed_by_id == current_user.id)
    return list(db.session.scalars(stmt.order_by(Paper.created_at.desc(), Paper.id.desc())))


# --------------------------------------------------------------------------- views


@bp.route("/courses/<int:course_id>/papers")
@login_required
def index(course_id):
    """The approved paper list with filters and paging, and the proposals the viewer may see."""
    course = course_or_404(course_id)
    filters = PaperFilterForm(request.args)
    filters.topic.choices = [("", "All topics")] + [(t, t) for t in topics(course)]
    page = db.paginate(
        approved_papers_query(course, filters.q.data or "", filters.topic.data or ""),
        per_page=PER_PAGE,
        error_out=False,
    )
    return render_template(
        "papers/index.html",
        course=course,
        filters=filters,
        page=page,
        scheduled=presentations_by_paper(course, [p.id for p in page.items]),
        proposals=proposals_for(course),
        is_staff=policy.can_edit_schedule(current_user, course.id),
        is_student=policy.is_student(current_user, course.id),
    )


@bp.route("/courses/<int:course_id>/papers/new", methods=["GET", "POST"])
@login_required
def new(course_id):
    """Staff add an approved paper to the list."""
    course = course_or_404(course_id, need="staff")
    return _save_paper_form(course, Paper(course_id=course.id, status=PAPER_APPROVED), "Add a paper", "Paper added.")


@bp.route("/courses/<int:course_id>/papers/propose", methods=["GET", "POST"])
@login_required
def propose(course_id):
    """A student proposes a paper that is not on the list; staff approve or reject it."""
    course = course_or_404(course_id)
    if not policy.is_student(current_user, course.id):
        return redirect(url_for("papers.new", course_id=course.id))
    paper = Paper(course_id=course.id, status=PAPER_PROPOSED, proposed_by_id=current_user.id)
    return _save_paper_form(
        course, paper, "Propose a paper", "Your proposal was sent; the instructor will approve or reject it."
    )


@bp.route("/courses/<int:course_id>/papers/<int:paper_id>/edit", methods=["GET", "POST"])
@login_required
def edit(course_id, paper_id):
    """Staff edit a paper's details."""
    course = course_or_404(course_id, need="staff")
    paper = of_course_or_404(Paper, course, paper_id)
    return _save_paper_form(course, paper, "Edit paper", "Paper saved.")


def _save_paper_form(course: Course, paper: Paper, heading: str, done: str):
    """Show the paper form; on valid input save the paper and go back to the list."""
    form = PaperForm(obj=paper)
    form.topic.render_kw = {"list": "topic-options"}
    if form.validate_on_submit():
        form.populate_obj(paper)
        db.session.add(paper)
        db.session.commit()
        flash(done, "success")
        return redirect(url_for("papers.index", course_id=course.id))
    return render_template("papers/form.html", course=course, form=form, heading=heading, topics=topics(course))


@bp.route("/courses/<int:course_id>/papers/<int:paper_id>/delete", methods=["POST"])
@login_required
def delete(course_id, paper_id):
    """Staff delete a paper, unless a presentation of it is scheduled."""
    course = course_or_404(course_id, need="staff")
    paper = of_course_or_404(Paper, course, paper_id)
    scheduled = paper_taken(course.id, paper.id)
    delete_unless(
        paper,
        f"“{paper.title}” is scheduled for a presentation; remove that first." if scheduled else None,
        f"Deleted “{paper.title}”.",
    )
    return redirect(url_for("papers.index", course_id=course.id))


@bp.route("/courses/<int:course_id>/papers/<int:paper_id>/decide", methods=["GET", "POST"])
@login_required
def decide(course_id, paper_id):
    """Staff approve a proposed paper, or reject it with a note to the proposer."""
    course = course_or_404(course_id, need="staff")
    paper = of_course_or_404(Paper, course, paper_id)
    if paper.status != PAPER_PROPOSED:
        flash("That proposal has already been decided.", "info")
        return redirect(url_for("papers.index", course_id=course.id))
    form = DecisionForm()
    if form.validate_on_submit():
        decision = DECISIONS.get(request.form.get("decision", ""))
        if decision is None:
            form.note.errors.append("Choose Approve or Reject.")
        elif decision == PAPER_REJECTED and not (form.note.data or "").strip():
            form.note.errors.append("Say why the paper is rejected; the student sees this note.")
        else:
            paper.status = decision
            paper.decision_note = (form.note.data or "").strip()
            db.session.commit()
            flash(f"“{paper.title}” was {decision}.", "success")
            return redirect(url_for("papers.index", course_id=course.id))
    return render_template("papers/decide.html", course=course, paper=paper, form=form)


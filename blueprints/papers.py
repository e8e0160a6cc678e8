"""Papers: the course's paper list, staff editing, and student proposals (SPEC §2.1)."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import Form, IntegerField, SearchField, SelectField, StringField, TextAreaField, URLField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from blueprints.common import course_or_404, delete_unless, http_url, of_course_or_404
from core.extensions import db
from domain import papers, policy
from domain.errors import Invalid
from models import Course, Paper

bp = Blueprint("papers", __name__)

PER_PAGE = 25


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


# --------------------------------------------------------------------------- views


@bp.route("/courses/<int:course_id>/papers")
@login_required
def index(course_id):
    """The approved paper list with filters and paging, and the proposals the viewer may see."""
    course = course_or_404(course_id)
    filters = PaperFilterForm(request.args)
    filters.topic.choices = [("", "All topics")] + [(t, t) for t in papers.topics(course)]
    page = db.paginate(
        papers.approved_papers_query(course, filters.q.data or "", filters.topic.data or ""),
        per_page=PER_PAGE,
        error_out=False,
    )
    return render_template(
        "papers/index.html",
        course=course,
        filters=filters,
        page=page,
        scheduled=papers.presentations_by_paper(course, [p.id for p in page.items]),
        proposals=papers.proposals_for(
            course, current_user.id, sees_all=policy.can_decide_proposals(current_user, course.id)
        ),
        is_staff=policy.can_edit_schedule(current_user, course.id),
        is_student=policy.is_student(current_user, course.id),
    )


@bp.route("/courses/<int:course_id>/papers/new", methods=["GET", "POST"])
@login_required
def new(course_id):
    """Staff add an approved paper to the list."""
    course = course_or_404(course_id, need="staff")
    return _save_paper_form(course, papers.new_paper(course), "Add a paper", "Paper added.")


@bp.route("/courses/<int:course_id>/papers/propose", methods=["GET", "POST"])
@login_required
def propose(course_id):
    """A student proposes a paper that is not on the list; staff approve or reject it."""
    course = course_or_404(course_id)
    if not policy.can_propose_paper(current_user, course.id):
        return redirect(url_for("papers.new", course_id=course.id))
    return _save_paper_form(
        course,
        papers.new_proposal(course, current_user.id),
        "Propose a paper",
        "Your proposal was sent; the instructor will approve or reject it.",
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
        papers.save(paper)
        db.session.commit()
        flash(done, "success")
        return redirect(url_for("papers.index", course_id=course.id))
    return render_template("papers/form.html", course=course, form=form, heading=heading, topics=papers.topics(course))


@bp.route("/courses/<int:course_id>/papers/<int:paper_id>/delete", methods=["POST"])
@login_required
def delete(course_id, paper_id):
    """Staff delete a paper, unless a presentation of it is scheduled."""
    course = course_or_404(course_id, need="staff")
    paper = of_course_or_404(Paper, course, paper_id)
    if delete_unless(paper, papers.delete_blocker(paper), f"Deleted “{paper.title}”."):
        db.session.commit()
    return redirect(url_for("papers.index", course_id=course.id))


@bp.route("/courses/<int:course_id>/papers/<int:paper_id>/decide", methods=["GET", "POST"])
@login_required
def decide(course_id, paper_id):
    """Staff approve a proposed paper, or reject it with a note to the proposer."""
    course = course_or_404(course_id, need="staff")
    paper = of_course_or_404(Paper, course, paper_id)
    if papers.is_decided(paper):
        flash(papers.ALREADY_DECIDED, "info")
        return redirect(url_for("papers.index", course_id=course.id))
    form = DecisionForm()
    if form.validate_on_submit():
        try:
            status = papers.decide(paper, request.form.get("decision", ""), form.note.data)
        except Invalid as exc:
            form.note.errors.append(exc.message)
        else:
            db.session.commit()
            flash(f"“{paper.title}” was {status}.", "success")
            return redirect(url_for("papers.index", course_id=course.id))
    return render_template("papers/decide.html", course=course, paper=paper, form=form)

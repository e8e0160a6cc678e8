"""A presentation's page with its slides and summary, and the staff form that places it."""
from __future__ import annotations

import os

from flask import current_app, flash, redirect, render_template, request, send_from_directory, url_for
from flask_login import current_user, login_required

from blueprints.common import (
    committed,
    course_or_404,
    delete_unless,
    found_or_404,
    permitted_or_403,
    presentation_or_404,
)
from blueprints.schedule import bp
from blueprints.schedule.forms import PresentationForm, SlidesForm, SummaryForm, placement_value, to_form_local
from core.extensions import db
from core.timeutil import format_local, now_utc
from domain import policy, reviewing, schedule, signup, slides
from models import MEMBER_PRESENTING, MEMBER_SUMMARY, Course, Presentation

# Room for the other form fields, so a file just over the limit gets a clear message, not a 413.
SLIDES_REQUEST_LIMIT = slides.MAX_SLIDES_BYTES + 256 * 1024


def uploads_root() -> str:
    """The configured uploads folder (by default ``uploads`` in the instance folder)."""
    return current_app.config.get("UPLOAD_FOLDER") or os.path.join(current_app.instance_path, "uploads")


def _to_presentation(course: Course, presentation: Presentation):
    return redirect(url_for("schedule.presentation", course_id=course.id, presentation_id=presentation.id))


# --------------------------------------------------------------------------- staff form


@bp.route("/courses/<int:course_id>/presentations/new", methods=["GET", "POST"])
@login_required
def presentation_new(course_id):
    """Staff schedule a presentation: paper, slot, both groups, deadlines and timing."""
    course = course_or_404(course_id, need="staff")
    return _save_presentation_form(course, schedule.new_presentation(course), "Schedule a presentation")


@bp.route("/courses/<int:course_id>/presentations/<int:presentation_id>/edit", methods=["GET", "POST"])
@login_required
def presentation_edit(course_id, presentation_id):
    """Staff edit or move a presentation and change its groups and deadlines."""
    course = course_or_404(course_id, need="staff")
    presentation = presentation_or_404(course, presentation_id)
    return _save_presentation_form(course, presentation, "Edit presentation")


def _presentation_form(course: Course, presentation: Presentation) -> PresentationForm:
    """The staff form, prefilled from the presentation, with every paper, slot and student."""
    # Keyword data only: with obj=, WTForms would show the stored UTC deadlines instead.
    form = PresentationForm(
        paper_id=presentation.paper_id,
        talk_minutes=presentation.talk_minutes,
        qa_minutes=presentation.qa_minutes,
        placement=placement_value(presentation.session, presentation.slot) if presentation.session else "",
        presenters=[u.id for u in schedule.group_members(presentation, MEMBER_PRESENTING)],
        summarizers=[u.id for u in schedule.group_members(presentation, MEMBER_SUMMARY)],
        review_deadline=to_form_local(presentation.review_deadline, course),
        summary_deadline=to_form_local(presentation.summary_deadline, course),
    )
    form.paper_id.choices = [(p.id, p.title) for p in schedule.approved_papers(course)]
    form.placement.choices = [
        (placement_value(s, n), f"{schedule.session_label(s, course)} — slot {n}")
        for s in schedule.course_sessions(course)
        for n in range(1, s.slots + 1)
    ]
    students = [(u.id, u.display_name) for u in schedule.enrolled_students(course)]
    form.presenters.choices = students
    form.summarizers.choices = students
    return form


def _save_presentation_form(course: Course, presentation: Presentation, heading: str):
    """Show the staff form; save a valid presentation, or explain what clashes."""
    form = _presentation_form(course, presentation)
    if form.validate_on_submit():
        plan = form.plan(course)
        problems = schedule.presentation_problems(course, presentation, plan)
        if not problems:
            notes = schedule.hidden_review_notes(presentation, plan.presenters + plan.summarizers)
            if committed(lambda: schedule.save_presentation(course, presentation, plan, current_user.id, now_utc())):
                flash("Presentation saved; the class sees the change now.", "success")
                for note in notes:
                    flash(note, "warning")
                return _to_presentation(course, presentation)
            problems = schedule.presentation_problems(course, presentation, plan) or {
                "placement": signup.CHANGED_MEANWHILE
            }
        for name, message in problems.items():
            getattr(form, name).errors.append(message)
    return render_template(
        "schedule/presentation_form.html", course=course, form=form, heading=heading, presentation=presentation
    )


@bp.route("/courses/<int:course_id>/presentations/<int:presentation_id>/delete", methods=["POST"])
@login_required
def presentation_delete(course_id, presentation_id):
    """Staff delete a presentation nobody has written a review of yet."""
    course = course_or_404(course_id, need="staff")
    presentation = presentation_or_404(course, presentation_id)
    upload = presentation.slides_file
    if delete_unless(
        presentation,
        schedule.presentation_delete_blocker(presentation),
        "Presentation deleted; its paper and slot are free again.",
    ):
        db.session.commit()
        slides.remove_file(uploads_root(), presentation, upload)
        return redirect(url_for("schedule.index", course_id=course.id))
    return _to_presentation(course, presentation)


# --------------------------------------------------------------------------- presentation page


@bp.route("/courses/<int:course_id>/presentations/<int:presentation_id>")
@login_required
def presentation(course_id, presentation_id):
    """A presentation: paper, groups, deadlines, slides, summary, reviews and panel."""
    course = course_or_404(course_id)
    return _render_presentation(course, presentation_or_404(course, presentation_id), now_utc())


def _render_presentation(course, presentation, now, slides_form=None, summary_form=None, status=200):
    """The presentation page, with the slides and summary forms its viewer may use at ``now``."""
    if slides_form is None and policy.can_edit_slides(current_user, presentation):
        slides_form = SlidesForm(obj=presentation, formdata=None)
    if summary_form is None and policy.can_write_summary(current_user, presentation, now):
        summary_form = SummaryForm(text=presentation.summary_text, formdata=None)
    own_deadline = None
    if policy.must_review(current_user, presentation):
        own_deadline = policy.personal_deadline(current_user.id, presentation)
    return (
        render_template(
            "schedule/presentation.html",
            course=course,
            presentation=presentation,
            slides_form=slides_form,
            summary_form=summary_form,
            in_summary_group=policy.is_summary_writer(current_user, presentation),
            own_deadline=own_deadline,
            show_summary=policy.can_view_summary(current_user, presentation),
            is_staff=policy.can_edit_schedule(current_user, course.id),
            review_box=reviewing.review_box(current_user, presentation, now),
            panel_role=policy.room_role(current_user, presentation),
        ),
        status,
    )


@bp.route("/courses/<int:course_id>/presentations/<int:presentation_id>/slides", methods=["POST"], endpoint="slides")
@login_required
def slides_save(course_id, presentation_id):
    """The presenting group attaches slides by link or upload, stating their origin if reused."""
    request.max_content_length = SLIDES_REQUEST_LIMIT
    course = course_or_404(course_id)
    presentation = presentation_or_404(course, presentation_id)
    permitted_or_403(policy.can_edit_slides(current_user, presentation))
    form = SlidesForm()
    if form.validate_on_submit():
        url = form.slides_url.data or ""
        problem = slides.choice_problem(presentation, url, form.upload_bytes is not None)
        if problem:
            form.slides_url.errors.append(problem)
        else:
            replaced = slides.save(
                presentation,
                uploads_root(),
                url=url,
                upload=form.uploaded(),
                reused=form.slides_reused.data,
                attribution=form.slides_attribution.data,
            )
            db.session.commit()
            slides.remove_file(uploads_root(), presentation, replaced)
            flash("Slides saved.", "success")
            return _to_presentation(course, presentation)
    return _render_presentation(course, presentation, now_utc(), slides_form=form, status=400)


@bp.route("/courses/<int:course_id>/presentations/<int:presentation_id>/slides/file")
@login_required
def slides_file(course_id, presentation_id):
    """Uploaded slides, to members of the course only, always as a download."""
    course = course_or_404(course_id)
    presentation = found_or_404(presentation_or_404(course, presentation_id), lambda p: bool(p.slides_file))
    return send_from_directory(
        slides.folder(uploads_root(), presentation),
        presentation.slides_file,
        as_attachment=True,
        download_name=slides.download_name(course.code, presentation),
    )


@bp.route("/courses/<int:course_id>/presentations/<int:presentation_id>/summary", methods=["POST"])
@login_required
def summary(course_id, presentation_id):
    """The summary-writing group submits or updates the summary before its deadline."""
    course = course_or_404(course_id)
    presentation = presentation_or_404(course, presentation_id)
    permitted_or_403(policy.is_summary_writer(current_user, presentation))
    now = now_utc()
    form = SummaryForm()
    if form.validate_on_submit():
        if not policy.can_write_summary(current_user, presentation, now):
            deadline = format_local(presentation.summary_deadline, course.timezone)
            form.text.errors.append(f"The summary deadline ({deadline}) has passed; it can no longer be changed.")
        else:
            schedule.submit_summary(presentation, form.text.data, now)
            db.session.commit()
            flash("Summary submitted; the class can read it now.", "success")
            return _to_presentation(course, presentation)
    return _render_presentation(course, presentation, now, summary_form=form, status=400)

"""A group's milestone submissions with their PDF, and the documents' one download path
(SPEC §5.2). Documents are checked before anything is stored and served only to the group and
staff; to anyone else a document answers like a missing one (F7)."""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy.exc import IntegrityError

from blueprints.common import course_or_404, found_or_404, of_course_or_404
from blueprints.project import bp
from core.extensions import db
from core.security import no_store
from core.timeutil import now_utc
from domain import policy
from domain.errors import Forbidden, Invalid
from domain.project import documents, milestones, proposals
from models import MILESTONE_KINDS, ProjectDocument

# Room for the form's other fields around the largest PDF a course allows.
_FORM_OVERHEAD = 256 * 1024


def _milestone_or_404(course, kind):
    if kind not in MILESTONE_KINDS:
        abort(404)
    return found_or_404(policy.milestone_of(course.id, kind))


def _page(course, milestone, group, now, status=200):
    return render_template(
        "project/submit.html",
        course=course,
        milestone=milestone,
        group=group,
        confirmations=milestones.confirmations_for(course, milestone.kind),
        block=policy.milestone_block(current_user, group, milestone, now),
        window=policy.milestone_window(milestone, group, now) if group else None,
        deadline=policy.group_deadline(milestone, group) if group else milestone.deadline,
        versions=milestones.versions(group, milestone) if group else [],
        graded=milestones.graded_version(group, milestone) if group else None,
        decisions=proposals.decisions_of(group) if group and milestone.kind == "proposal" else [],
        form=request.form,
        sizes={"limit_mb": course.project_upload_mb, "pages": course.project_page_limit},
        megabytes=documents.megabytes,
    ), status


@bp.route("/courses/<int:course_id>/project/milestones/<kind>", methods=["GET", "POST"])
@login_required
def submit(course_id, kind):
    """The milestone's page for the group: its versions, and the form for the next one."""
    course = course_or_404(course_id)
    milestone = _milestone_or_404(course, kind)
    if policy.is_staff(current_user, course.id):
        return redirect(url_for("project.overview", course_id=course.id))
    group = policy.group_of(current_user, course.id)
    now = now_utc()
    if request.method == "GET":
        return _page(course, milestone, group, now)
    request.max_content_length = course.project_upload_mb * 1024 * 1024 + _FORM_OVERHEAD
    if not FlaskForm().validate_on_submit():
        abort(400)
    block = policy.milestone_block(current_user, group, milestone, now)
    if block:
        flash(block, "error")
        return _page(course, milestone, group, now, 403)
    upload = request.files.get("document")
    storage_dir = current_app.config["PROJECT_STORAGE_DIR"]
    document = None
    try:
        checked = documents.check_pdf(course, upload.read() if upload else b"", upload.filename if upload else "")
        data = milestones.SubmissionInput(
            title=request.form.get("title", ""),
            abstract=request.form.get("abstract", ""),
            notes=request.form.get("notes", ""),
            confirmations={key: request.form.get(key) == "1" for key, _ in milestones.confirmations_for(course, kind)},
        )
        # The form is checked before the file is written, so a refused form stores nothing.
        milestones.check_input(course, kind, data)
        document = documents.store(storage_dir, course, group, checked, current_user.id, now)
        data.document = document
        submission = milestones.submit(group, milestone, current_user, data, now)
        db.session.commit()
    except (Invalid, Forbidden) as exc:
        db.session.rollback()
        if document is not None:
            documents.discard(storage_dir, document)
        flash(exc.message, "error")
        return _page(course, milestone, group, now, 422)
    except IntegrityError:
        db.session.rollback()
        if document is not None:
            documents.discard(storage_dir, document)
        flash(milestones.SUBMITTED_TWICE, "error")
        return _page(course, milestone, group, now, 409)
    flash(f"Version {submission.version} submitted{' (late)' if submission.late else ''}.", "success")
    return redirect(url_for("project.submit", course_id=course.id, kind=kind))


@bp.route("/courses/<int:course_id>/project/documents/<int:document_id>")
@login_required
def document(course_id, document_id):
    """A project document, to its group and staff only, always as a download, never cached."""
    course = course_or_404(course_id)
    doc = found_or_404(of_course_or_404(ProjectDocument, course, document_id),
                       lambda d: policy.can_view_document(current_user, d))
    path = documents.path_of(current_app.config["PROJECT_STORAGE_DIR"], doc)
    try:
        response = send_file(path, mimetype="application/pdf", as_attachment=True,
                             download_name=documents.download_name(course, doc), conditional=False, max_age=0)
    except FileNotFoundError:
        abort(404)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return no_store(response)

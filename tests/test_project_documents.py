"""Project documents through the upload view: a real PDF within the limits is stored and served
to its group and staff only (attachment, nosniff, no-store); every attack is refused with a
clear message and leaves no row and no file."""
from __future__ import annotations

import io
import os

import pytest
from pypdf import PdfWriter
from sqlalchemy import func, select

from core.extensions import db
from domain.project import groups
from models import MILESTONE_PROPOSAL, MilestoneSubmission, ProjectDocument
from test_project_groups import pair, project_world


def pdf_bytes(pages: int = 1) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=200, height=200)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.fixture
def w(app, make, tmp_path, clock):
    app.config["PROJECT_STORAGE_DIR"] = str(tmp_path / "documents")
    world = project_world(make)
    world.course.project_page_limit = 3
    world.course.project_upload_mb = 1
    world.group = pair(world)
    world.storage = tmp_path / "documents"
    db.session.commit()
    return world


def upload(client, w, data: bytes, name: str = "proposal.pdf", **fields):
    form = {"title": "Paged caches for long contexts", "abstract": "We measure.", "on_area": "1", "original": "1",
            "not_survey": "1", **fields}
    form["document"] = (io.BytesIO(data), name)
    return client.post(f"/courses/{w.course.id}/project/milestones/{MILESTONE_PROPOSAL}", data=form,
                       content_type="multipart/form-data")


def stored(w) -> tuple[int, int, list[str]]:
    files = sorted(os.listdir(w.storage)) if w.storage.exists() else []
    docs = db.session.scalar(select(func.count()).select_from(ProjectDocument))
    subs = db.session.scalar(select(func.count()).select_from(MilestoneSubmission))
    return docs, subs, files


def test_a_pdf_within_the_limits_is_stored_under_a_generated_name_and_served_safely(w, login_as):
    client = login_as(w.students[0])
    resp = upload(client, w, pdf_bytes(2), name="Our proposal.pdf")
    assert resp.status_code == 302
    docs, subs, files = stored(w)
    assert (docs, subs, len(files)) == (1, 1, 1)
    doc = db.session.scalar(select(ProjectDocument))
    assert files == [doc.stored_name] and "proposal" not in doc.stored_name and doc.page_count == 2
    page = client.get(f"/courses/{w.course.id}/project/milestones/{MILESTONE_PROPOSAL}").get_data(as_text=True)
    assert "2 pages" in page and "KB" in page
    got = client.get(f"/courses/{w.course.id}/project/documents/{doc.id}")
    assert got.status_code == 200 and got.data.startswith(b"%PDF-")
    assert got.headers["Content-Disposition"].startswith("attachment; filename=")
    assert "Our_proposal" in got.headers["Content-Disposition"] or "Our proposal" in got.headers["Content-Disposition"]
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    assert got.headers["Cache-Control"] == "no-store"
    assert login_as(w.instructor).get(f"/courses/{w.course.id}/project/documents/{doc.id}").status_code == 200


def test_a_document_is_hidden_from_everyone_else_exactly_like_a_missing_one(w, login_as):
    upload(login_as(w.students[0]), w, pdf_bytes())
    doc = db.session.scalar(select(ProjectDocument))
    for viewer in (w.students[2], w.stranger):
        client = login_as(viewer)
        hidden = client.get(f"/courses/{w.course.id}/project/documents/{doc.id}")
        missing = client.get(f"/courses/{w.course.id}/project/documents/{doc.id + 999}")
        assert hidden.status_code == missing.status_code == 404
        assert hidden.data == missing.data


ATTACKS = {
    "not a pdf renamed": (b"<html><script>alert(1)</script></html>", "paper.pdf", "not a PDF"),
    "html before a pdf": (b"<html><body>hi</body></html>\n" + pdf_bytes(), "paper.pdf", "not a PDF"),
    "html after a pdf": (pdf_bytes() + b"\n<html><script>alert(1)</script></html>", "paper.pdf", "not a PDF"),
    "broken pdf": (b"%PDF-1.7\nthis is not really a pdf\n%%EOF", "paper.pdf", "does not open as a PDF"),
    "over the page limit": (pdf_bytes(4), "paper.pdf", "has 4 pages; the limit is 3"),
    "oversized": (pdf_bytes() + b"%" + b"x" * (1024 * 1024) + b"\n%%EOF", "paper.pdf", "the limit is 1 MB"),
    "path and markup in the name": (pdf_bytes(), "../../<script>x</script>.pdf", "no folders and no markup"),
    "not a pdf name": (pdf_bytes(), "paper.html", "Upload a PDF file"),
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_upload_attacks_are_refused_with_a_message_and_nothing_stored(w, login_as, attack):
    data, name, message = ATTACKS[attack]
    resp = upload(login_as(w.students[0]), w, data, name=name)
    assert resp.status_code == 422
    assert message in resp.get_data(as_text=True)
    assert stored(w) == (0, 0, [])


def test_a_form_missing_a_confirmation_stores_no_file(w, login_as):
    resp = upload(login_as(w.students[0]), w, pdf_bytes(), not_survey="")
    assert resp.status_code == 422 and "Tick every confirmation" in resp.get_data(as_text=True)
    assert stored(w) == (0, 0, [])


def test_a_student_without_a_group_or_of_another_course_cannot_upload(w, login_as):
    assert upload(login_as(w.students[3]), w, pdf_bytes()).status_code == 403
    assert upload(login_as(w.stranger), w, pdf_bytes()).status_code == 404
    assert stored(w) == (0, 0, [])
    assert groups.group_of(w.students[3], w.course.id) is None

"""Project documents (SPEC §5.2): PDFs checked on arrival, stored outside static/ under
generated names, read back only for a viewer the policy lets see them.

A file is refused, with nothing stored, unless it is a PDF from its first byte to its last
``%%EOF`` (so neither HTML before a PDF nor HTML appended after one passes), opens with pypdf,
has at most ``Course.project_page_limit`` pages and ``Course.project_upload_mb`` megabytes, and
its name is a plain file name (no folders, no markup).
"""
from __future__ import annotations

import hashlib
import io
import os
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pypdf import PdfReader
from pypdf.errors import PdfReadError

from core.extensions import db
from domain.errors import Invalid
from models import Course, ProjectDocument, ProjectGroup

PDF_MAGIC = b"%PDF-"
PDF_END = b"%%EOF"
_UNSAFE_NAME = re.compile(r"[/\\<>\"'&`\x00-\x1f\x7f]|\.\.")
_DOWNLOAD_SAFE = re.compile(r"[^A-Za-z0-9._ -]+")


@dataclass(frozen=True)
class CheckedPdf:
    """What the arrival check learnt of an upload."""

    data: bytes
    original_name: str
    page_count: int


def megabytes(size_bytes: int) -> str:
    """A size as people read it: '1.4 MB', '220 KB'."""
    if size_bytes >= 1024 * 1024:
        return f"{size_bytes / (1024 * 1024):.1f} MB"
    return f"{max(1, round(size_bytes / 1024))} KB"


def check_pdf(course: Course, data: bytes, filename: str) -> CheckedPdf:
    """The upload as a checked PDF, or ``Invalid`` with a message saying what is wrong."""
    name = (filename or "").strip()
    if not name or not data:
        raise Invalid("Choose a PDF file to upload.")
    if _UNSAFE_NAME.search(name) or len(name) > 200:
        raise Invalid(
            "The file name may contain only letters, digits, spaces, dots and dashes "
            "(no folders and no markup); rename the file and upload it again."
        )
    if not name.lower().endswith(".pdf"):
        raise Invalid("Upload a PDF file (its name ends in .pdf).")
    limit = course.project_upload_mb * 1024 * 1024
    if len(data) > limit:
        raise Invalid(f"The file is {megabytes(len(data))}; the limit is {course.project_upload_mb} MB.")
    if not data.startswith(PDF_MAGIC) or not data.rstrip().endswith(PDF_END):
        raise Invalid("The file is not a PDF (or has something else joined to it); export it again as a PDF.")
    try:
        reader = PdfReader(io.BytesIO(data), strict=True)
        if reader.is_encrypted:
            raise Invalid("The PDF is password-protected; upload it without a password.")
        pages = len(reader.pages)
    except Invalid:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError, OSError) as exc:
        raise Invalid("The file does not open as a PDF; export it again as a PDF.") from exc
    if pages < 1:
        raise Invalid("The PDF has no pages.")
    if pages > course.project_page_limit:
        raise Invalid(f"The PDF has {pages} pages; the limit is {course.project_page_limit}.")
    return CheckedPdf(data=data, original_name=name, page_count=pages)


def store(storage_dir: str, course: Course, group: ProjectGroup, checked: CheckedPdf, uploader_id: int, now: datetime) -> ProjectDocument:
    """Write the checked PDF under a generated name and add its row (the caller commits, and
    removes the file with ``discard`` if the commit fails)."""
    folder = Path(storage_dir)
    folder.mkdir(parents=True, exist_ok=True)
    stored_name = f"{secrets.token_hex(16)}.pdf"
    (folder / stored_name).write_bytes(checked.data)
    document = ProjectDocument(
        course_id=course.id,
        group_id=group.id,
        stored_name=stored_name,
        original_name=checked.original_name,
        size_bytes=len(checked.data),
        page_count=checked.page_count,
        sha256=hashlib.sha256(checked.data).hexdigest(),
        uploaded_by_id=uploader_id,
        uploaded_at=now,
    )
    db.session.add(document)
    db.session.flush()
    return document


def discard(storage_dir: str, document: ProjectDocument) -> None:
    """Remove a stored file whose row was not committed."""
    try:
        os.remove(path_of(storage_dir, document))
    except FileNotFoundError:
        pass


def path_of(storage_dir: str, document: ProjectDocument) -> str:
    """Where the document's bytes are (the generated name never leaves the folder)."""
    return os.path.join(storage_dir, os.path.basename(document.stored_name))


def download_name(course: Course, document: ProjectDocument) -> str:
    """The file name offered on download: the course code, the document id and a sanitised
    form of the uploaded name."""
    stem = _DOWNLOAD_SAFE.sub("_", document.original_name.rsplit(".", 1)[0]).strip(" ._") or "document"
    return f"{_DOWNLOAD_SAFE.sub('_', course.code)}-project-{document.id}-{stem[:80]}.pdf"

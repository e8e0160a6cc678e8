"""A presentation's slides: a link or an uploaded file, stored under an uploads folder, and
the statement of origin when the slides are reused (SPEC §2.3).

The uploads folder is a parameter (the web layer reads it from the configuration). A new file
is written before the request commits; the file it replaces is removed by the caller after the
commit, so a rolled-back request never loses the slides the database still names.
"""
from __future__ import annotations

import os
import secrets
from typing import Optional

from core.extensions import db
from models import Presentation

# Extension → how the file must begin (PPTX and Keynote files are ZIP archives).
SLIDE_TYPES = {"pdf": b"%PDF-", "pptx": b"PK\x03\x04", "key": b"PK\x03\x04"}
MAX_SLIDES_BYTES = 8 * 1024 * 1024

LINK_AND_FILE = "Give a link or upload a file, not both."
NOTHING_GIVEN = "Give a link to the slides or upload a file."


def extension(filename: str) -> str:
    """The file name's extension, lower-cased ('' when it has none)."""
    return filename.rsplit(".", 1)[-1].lower() if "." in filename else ""


def upload_problem(filename: str, data: bytes) -> Optional[str]:
    """Why an uploaded file cannot be the slides (type, size, content), or None.

    ``data`` may hold one byte more than the limit, which is how an oversized file shows.
    """
    ext = extension(filename)
    if ext not in SLIDE_TYPES:
        return "Upload a PDF, .pptx or .key file."
    if len(data) > MAX_SLIDES_BYTES:
        return "The file is larger than 8 MB."
    if not data.startswith(SLIDE_TYPES[ext]):
        return f"The file is not a valid .{ext} file."
    return None


def choice_problem(presentation: Presentation, url: str, has_upload: bool) -> Optional[str]:
    """Why this link/upload choice cannot be saved: both at once, or neither with no slides yet."""
    if url and has_upload:
        return LINK_AND_FILE
    if not (url or has_upload or presentation.slides_url or presentation.slides_file):
        return NOTHING_GIVEN
    return None


def folder(uploads_root: str, presentation: Presentation) -> str:
    """Where a presentation's uploaded slides live."""
    return os.path.join(uploads_root, str(presentation.course_id), str(presentation.id))


def save(
    presentation: Presentation,
    uploads_root: str,
    *,
    url: str,
    upload: Optional[tuple[bytes, str]],
    reused: bool,
    attribution: str,
) -> str:
    """Store the new link or file (``upload`` is its bytes and extension), replacing the other,
    with the reuse flag and its attribution. Returns the file name no longer used ('' if none),
    for the caller to remove once the change is committed."""
    old_file = presentation.slides_file
    if upload is not None:
        data, ext = upload
        target = folder(uploads_root, presentation)
        os.makedirs(target, exist_ok=True)
        name = f"slides-{secrets.token_hex(8)}.{ext}"
        with open(os.path.join(target, name), "wb") as fh:
            fh.write(data)
        presentation.slides_file, presentation.slides_url = name, ""
    elif url:
        presentation.slides_url, presentation.slides_file = url, ""
    presentation.slides_reused = reused
    presentation.slides_attribution = attribution if reused else ""
    db.session.flush()
    return old_file if old_file != presentation.slides_file else ""


def remove_file(uploads_root: str, presentation: Presentation, name: str) -> None:
    """Delete a stored slides file that nothing names any more (a missing file is fine)."""
    if name:
        try:
            os.remove(os.path.join(folder(uploads_root, presentation), name))
        except FileNotFoundError:
            pass


def download_name(course_code: str, presentation: Presentation) -> str:
    """The name the uploaded slides are downloaded under."""
    return f"{course_code}-presentation-{presentation.id}-slides.{extension(presentation.slides_file)}"

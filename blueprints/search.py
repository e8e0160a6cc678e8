"""Course search: the paper list and the reviews the viewer may read (SPEC §3.3: search obeys V1–V9)."""
from __future__ import annotations

import math

from flask import Blueprint, make_response, render_template, request
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import SearchField
from wtforms.validators import InputRequired, Length

from blueprints.common import course_or_404
from core.extensions import db
from core.security import no_store
from core.timeutil import now_utc
from domain import search as finder
from domain.search import Hit

bp = Blueprint("search", __name__)

PER_PAGE = 20
MIN_QUERY = 2


class SearchForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form that changes nothing

    q = SearchField(
        "Search papers and reviews",
        validators=[
            InputRequired("Type what to look for."),
            Length(min=MIN_QUERY, max=200, message="Type between 2 and 200 characters."),
        ],
        filters=[lambda value: value.strip() if value else value],
        description="Every word must appear in a title, authors, abstract, topic or a review you may read.",
    )


@bp.route("/courses/<int:course_id>/search")
@login_required
def search(course_id):
    """Search the paper list and the reviews the viewer may read."""
    course = course_or_404(course_id)
    form = SearchForm(formdata=request.args if "q" in request.args else None)
    papers: list[Hit] = []
    reviews: list[Hit] = []
    if "q" in request.args and form.validate():
        terms = finder.query_terms(form.q.data)
        papers = finder.paper_hits(course, terms)
        reviews = finder.review_hits(current_user, course, terms, now_utc())
    hits = papers + reviews
    pages = max(1, math.ceil(len(hits) / PER_PAGE))
    page = min(max(request.args.get("page", 1, type=int), 1), pages)
    shown = hits[(page - 1) * PER_PAGE : page * PER_PAGE]
    # Reading other students' reviews is audited (SPEC §3.4): the one write of this page.
    recorded = finder.record_views(current_user, course, shown)
    page_html = render_template(
        "search/search.html",
        course=course,
        form=form,
        searched="q" in request.args and not form.errors,
        hits=shown,
        paper_count=len(papers),
        review_count=len(reviews),
        page=page,
        pages=pages,
    )
    if recorded:
        db.session.commit()  # after rendering, so the page does not reload every hit it shows
    return no_store(make_response(page_html))

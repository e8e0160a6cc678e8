"""Course search: the paper list and the reviews the viewer may read (SPEC §3.3: search obeys V1–V9).

Reviews reach the results only through ``policy.visible_reviews`` and ``policy.own_review``;
matching, counting and paging all work on that filtered list, so a hidden review can change
neither the hits nor the numbers.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Optional

from flask import Blueprint, make_response, render_template, request
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SearchField
from wtforms.validators import InputRequired, Length

from domain import policy
from domain import reviewing
from blueprints.common import course_or_404, course_presentations
from core.extensions import db
from models import PAPER_APPROVED, Course, Paper, Review
from core.security import no_store
from domain.similarity import Segment, Span, segments
from core.timeutil import now_utc

bp = Blueprint("search", __name__)

PER_PAGE = 20
MIN_QUERY = 2
SNIPPET_RADIUS = 90
MAX_TERMS = 8


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


@dataclass(frozen=True)
class Snippet:
    """A window of a longer text around the first match, with the matches marked."""

    segments: list[Segment]
    cut_before: bool
    cut_after: bool


@dataclass(frozen=True)
class Hit:
    """One search result: a paper, or a review of a presented paper."""

    paper: Paper
    title: list[Segment]
    snippet: Optional[Snippet]
    review: Optional[Review] = None
    reviewer: str = ""

    @property
    def is_review(self) -> bool:
        return self.review is not None


# --------------------------------------------------------------------------- matching


def query_terms(query: str) -> list[str]:
    """The distinct words of the query, case-folded (at most a handful)."""
    terms: list[str] = []
    for word in query.split():
        word = word.casefold()
        if word not in terms:
            terms.append(word)
    return terms[:MAX_TERMS]


def term_spans(text: str, terms: list[str]) -> list[Span]:
    """Where any of the terms occurs in the text, ignoring case."""
    return sorted(
        m.span() for term in terms for m in re.finditer(re.escape(term), text or "", re.IGNORECASE)
    )


def matches_all(texts: list[str], terms: list[str]) -> bool:
    """Every term occurs in at least one of the texts."""
    return all(any(term_spans(text, [term]) for text in texts) for term in terms)


def snippet(text: str, terms: list[str], radius: int = SNIPPET_RADIUS) -> Optional[Snippet]:
    """The part of ``text`` around its first match, cut at spaces; None when nothing matches."""
    spans = term_spans(text, terms)
    if not spans:
        return None
    first_start, first_end = spans[0]
    start = max(0, first_start - radius)
    end = min(len(text), first_end + radius)
    if start > 0:
        space = text.find(" ", start, first_start)
        start = space + 1 if space != -1 else start
    if end < len(text):
        space = text.rfind(" ", first_end, end)
        end = space if space != -1 else end
    inside = [(max(s, start) - start, min(e, end) - start) for s, e in spans if s < end and e > start]
    return Snippet(segments(text[start:end], inside), start > 0, end < len(text))


def marked(text: str, terms: list[str]) -> list[Segment]:
    """A short text (a title) with every match marked."""
    return segments(text, term_spans(text, terms))


# --------------------------------------------------------------------------- what the viewer may search


def approved_papers(course: Course) -> list[Paper]:
    """The course's paper list (approved papers), by title."""
    return list(
        db.session.scalars(
            select(Paper)
            .where(Paper.course_id == course.id, Paper.status == PAPER_APPROVED)
            .order_by(Paper.title, Paper.id)
        )
    )


def readable_reviews(user, course: Course, now) -> list[Review]:
    """The viewer's own reviews and those the policy lets them read, in schedule order."""
    reviews: list[Review] = []
    for presentation in course_presentations(course):
        own = policy.own_review(user, presentation)
        if own is not None:
            reviews.append(own)
        reviews.extend(policy.visible_reviews(user, presentation, now))
    return reviews


def paper_hits(course: Course, terms: list[str]) -> list[Hit]:
    """Papers whose title, authors, topic or abstract hold every term."""
    return [
        Hit(paper=p, title=marked(p.title, terms), snippet=snippet(p.abstract or "", terms))
        for p in approved_papers(course)
        if matches_all([p.title, p.authors or "", p.topic or "", p.abstract or ""], terms)
    ]


def review_hits(user, course: Course, terms: list[str], now) -> list[Hit]:
    """Readable reviews whose text holds every term, labelled as this viewer may see the writer."""
    hits = []
    for review in readable_reviews(user, course, now):
        text = review.text_for_comparison()
        if matches_all([text], terms):
            paper = review.presentation.paper
            hits.append(
                Hit(
                    paper=paper,
                    title=segments(paper.title, []),
                    snippet=snippet(text, terms),
                    review=review,
                    reviewer=policy.reviewer_label(user, review),
                )
            )
    return hits


def record_views(user, hits: list[Hit]) -> None:
    """Audit the other students' reviews a student was shown, once per presentation."""
    shown: dict[int, list[Review]] = {}
    for hit in hits:
        if hit.is_review and hit.review.author_id != user.id:
            shown.setdefault(hit.review.presentation_id, []).append(hit.review)
    for reviews in shown.values():
        reviewing.record_view_of_others(
            user, reviews[0].presentation, via="search", review_ids=[r.id for r in reviews]
        )


# --------------------------------------------------------------------------- view


@bp.route("/courses/<int:course_id>/search")
@login_required
def search(course_id):
    """Search the paper list and the reviews the viewer may read."""
    course = course_or_404(course_id)
    form = SearchForm(formdata=request.args if "q" in request.args else None)
    papers: list[Hit] = []
    reviews: list[Hit] = []
    if "q" in request.args and form.validate():
        terms = query_terms(form.q.data)
        papers = paper_hits(course, terms)
        reviews = review_hits(current_user, course, terms, now_utc())
    hits = papers + reviews
    pages = max(1, math.ceil(len(hits) / PER_PAGE))
    page = min(max(request.args.get("page", 1, type=int), 1), pages)
    shown = hits[(page - 1) * PER_PAGE : page * PER_PAGE]
    record_views(current_user, shown)
    response = make_response(
        render_template(
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
    )
    return no_store(response)

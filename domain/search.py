"""Course search over the paper list and the reviews the viewer may read (SPEC §3.3: search
obeys V1–V9).

Reviews reach the results only through ``policy.visible_reviews`` and ``policy.own_review``;
matching, counting and paging all work on that filtered list, so a hidden review can change
neither the hits nor the numbers.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Optional

from domain import audit, policy
from domain.schedule import approved_papers, course_presentations
from domain.similarity import Segment, Span, segments
from models import Course, Paper, Review

SNIPPET_RADIUS = 90
MAX_TERMS = 8


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


def readable_reviews(user, course: Course, now: datetime) -> list[Review]:
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


def review_hits(user, course: Course, terms: list[str], now: datetime) -> list[Hit]:
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


def record_views(user, course: Course, hits: list[Hit]) -> bool:
    """Audit the other students' reviews a student was shown, one event per presentation
    (staff reading is not logged). Returns whether anything was recorded, for the caller to commit."""
    if not policy.is_student(user, course.id):
        return False
    shown: dict[int, list[Review]] = {}
    for hit in hits:
        if hit.is_review and hit.review.author_id != user.id:
            shown.setdefault(hit.review.presentation_id, []).append(hit.review)
    for presentation_id, reviews in shown.items():
        audit.record(
            "review.view_others",
            course.id,
            user.id,
            presentation_id=presentation_id,
            via="search",
            review_ids=[r.id for r in reviews],
        )
    return bool(shown)

"""The similarity check of SPEC §3.4: near-verbatim overlap between reviews of the same paper.

What is compared
    Every pair of submitted reviews of one presentation; each review against the paper's
    abstract; and each review against the submitted reviews of the same paper (matched by
    normalised title) in the viewer's other course offerings, that is courses where the viewer
    is staff. Drafts are never compared: they are private to their writer (V1).

Method
    Texts are normalised (case-folded, punctuation dropped, whitespace collapsed, which amounts
    to taking the sequence of words) and cut into overlapping word 5-grams ("shingles").
    Stopwords are kept: a copied passage keeps its "the" and "of", and dropping them would make
    independent reviews of one paper, which share its technical vocabulary, look more alike.
    The score of a pair is the containment of their shingle sets,
    ``|A ∩ B| / min(|A|, |B|)``: the share of the shorter text that also occurs in the longer.
    Unlike Jaccard (``|A ∩ B| / |A ∪ B|``), containment is not diluted when a copy is padded
    with extra text of its own, or when a short summary is pasted from a long abstract.
    A text of fewer than five words is one shingle of its whole word sequence, so only an
    identical short text can match it.

Why this method
    Reviews are short (a few hundred words) and the integrity rule is about copying a
    classmate's (or an earlier year's) review, which leaves long runs of identical words.
    Word 5-grams are the classic fingerprint for that: two writers who read the same paper
    share its terms and short phrases ("the kv cache", "the authors propose") but almost never
    five words in a row unless one copied the other, while a copied sentence of ten words
    already shares six shingles. Changing one word in a copied passage breaks only the five
    shingles that contain it, so light edits keep the score high. Paraphrase and translation
    are out of scope: a rewritten text shares no 5-grams, and catching it would need semantic
    models whose false positives on reviews of the same paper would bury the real cases.
    The result is a prompt for a human to look, never a verdict: staff see the two texts side
    by side with the shared passages marked.

Threshold
    A pair is flagged when its score reaches ``course.similarity_threshold`` (default 0.35).
    It was chosen by measurement on the corpus kept in tests/test_similarity.py (which re-checks
    these figures): six independently written reviews of one paper, full of the same technical
    terms, score 0.00 against each other and against the paper's abstract with 5-grams (3-grams
    already reach 0.04 against the abstract, which is one reason for the longer shingle).
    Copies score far higher: with one word changed in every sentence a copy keeps about 0.8,
    with one in every other sentence about 0.9, and padded with another full review it keeps
    1.0. A review that takes one of its three paragraphs from a classmate scores about 0.45,
    while a single borrowed sentence of a four-sentence review scores 0.14 to 0.32, depending
    on its length. 0.35 therefore flags a copied paragraph, stays far above chance overlap,
    and leaves a single shared sentence (which may be a common quotation) below the line; an
    instructor who wants to see those lowers the threshold for the course.

Highlighting
    Shared passages are the maximal runs of consecutive shared shingles, mapped back to the
    character spans of their words in each original text. ``segments`` turns a text and its
    spans into ``(text, shared)`` pieces so templates escape the text and wrap the shared
    pieces in ``<mark>``; no HTML is ever built here from user text.

The core functions are pure (text in, numbers and spans out). Only ``flag_pairs`` and its
helpers at the bottom of the module read the database.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Generic, Iterable, NamedTuple, Optional, Sequence, TypeVar, Union

from sqlalchemy import select

from domain import policy
from domain import reviewing
from core.extensions import db
from models import STAFF_ROLES, Course, Enrollment, Paper, Presentation, Review, User

SHINGLE_WORDS = 5
DEFAULT_THRESHOLD = 0.35

KIND_REVIEWS = "reviews"  # two reviews of this presentation
KIND_ABSTRACT = "abstract"  # a review against the paper's abstract
KIND_EARLIER = "earlier"  # a review against a review of the same paper in another offering

_WORD = re.compile(r"[^\W_]+")

Span = tuple[int, int]
Shingle = tuple[str, ...]
K = TypeVar("K")
L = TypeVar("L")


class Segment(NamedTuple):
    """A piece of a text, and whether it belongs to a passage shared with the other text."""

    text: str
    shared: bool


@dataclass(frozen=True)
class Fingerprint:
    """A text cut into words (with their character spans) and word shingles."""

    text: str
    spans: tuple[Span, ...]
    shingles: tuple[Shingle, ...]  # shingles[i] starts at word i

    @cached_property
    def shingle_set(self) -> frozenset[Shingle]:
        return frozenset(self.shingles)


@dataclass(frozen=True)
class Match:
    """How much two texts overlap, and where."""

    score: float
    shared: int  # number of distinct shingles the two texts have in common
    spans_a: tuple[Span, ...]
    spans_b: tuple[Span, ...]


TextLike = Union[str, Fingerprint]


def normalise(text: str) -> str:
    """Lower case, no punctuation, single spaces: the form texts and titles are compared in."""
    return " ".join(m.group().casefold() for m in _WORD.finditer(text or ""))


def fingerprint(text: str, k: int = SHINGLE_WORDS) -> Fingerprint:
    """Words of ``text`` with their spans, and its k-word shingles (one if it is shorter)."""
    matches = list(_WORD.finditer(text or ""))
    words = [m.group().casefold() for m in matches]
    if not words:
        shingles: tuple[Shingle, ...] = ()
    elif len(words) < k:
        shingles = (tuple(words),)
    else:
        shingles = tuple(zip(*(words[i:] for i in range(k))))
    return Fingerprint(text=text or "", spans=tuple(m.span() for m in matches), shingles=shingles)


def containment(a: Fingerprint, b: Fingerprint) -> float:
    """|A ∩ B| / min(|A|, |B|) over shingle sets; 0.0 when either text has no words."""
    smaller = min(len(a.shingle_set), len(b.shingle_set))
    if smaller == 0:
        return 0.0
    return len(a.shingle_set & b.shingle_set) / smaller


def shared_spans(fp: Fingerprint, shared: frozenset[Shingle]) -> tuple[Span, ...]:
    """Character spans of the maximal runs of ``fp``'s words covered by a shared shingle."""
    covered = [False] * len(fp.spans)
    for start, shingle in enumerate(fp.shingles):
        if shingle in shared:
            for i in range(start, start + len(shingle)):
                covered[i] = True
    runs: list[Span] = []
    for i, is_covered in enumerate(covered):
        if not is_covered:
            continue
        begin, end = fp.spans[i]
        if runs and i > 0 and covered[i - 1]:
            runs[-1] = (runs[-1][0], end)
        else:
            runs.append((begin, end))
    return tuple(runs)


def _as_fingerprint(value: TextLike) -> Fingerprint:
    return value if isinstance(value, Fingerprint) else fingerprint(value)


def fingerprints(items: Iterable[tuple[K, TextLike]]) -> list[tuple[K, Fingerprint]]:
    """(key, text) items as (key, fingerprint), each text cut into shingles once."""
    return [(key, _as_fingerprint(value)) for key, value in items]


def compare(a: TextLike, b: TextLike) -> Match:
    """Score two texts and locate the passages they share."""
    fa, fb = _as_fingerprint(a), _as_fingerprint(b)
    shared = fa.shingle_set & fb.shingle_set
    return Match(
        score=containment(fa, fb),
        shared=len(shared),
        spans_a=shared_spans(fa, shared),
        spans_b=shared_spans(fb, shared),
    )


def segments(text: str, spans: Iterable[Span]) -> list[Segment]:
    """Split ``text`` into plain and shared pieces (spans may overlap or come unsorted)."""
    merged: list[list[int]] = []
    for begin, end in sorted(spans):
        if merged and begin <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        elif end > begin:
            merged.append([begin, end])
    pieces: list[Segment] = []
    cursor = 0
    for begin, end in merged:
        if begin > cursor:
            pieces.append(Segment(text[cursor:begin], False))
        pieces.append(Segment(text[begin:end], True))
        cursor = end
    if cursor < len(text):
        pieces.append(Segment(text[cursor:], False))
    return pieces


@dataclass(frozen=True)
class Pair(Generic[K, L]):
    """Two compared items (by key) whose overlap reached the threshold."""

    left: K
    right: L
    left_text: str
    right_text: str
    match: Match


def find_similar(
    left: Sequence[tuple[K, TextLike]],
    right: Optional[Sequence[tuple[L, TextLike]]] = None,
    threshold: float = DEFAULT_THRESHOLD,
) -> list[Pair]:
    """Pairs scoring at least ``threshold``, best first.

    ``left`` and ``right`` are (key, text or fingerprint) items. Without ``right`` every
    unordered pair within ``left`` is compared; with it, every item of ``left`` against every
    item of ``right``.
    """
    left_fps = fingerprints(left)
    if right is None:
        candidates = [
            (left_fps[i], left_fps[j]) for i in range(len(left_fps)) for j in range(i + 1, len(left_fps))
        ]
    else:
        right_fps = fingerprints(right)
        candidates = [(a, b) for a in left_fps for b in right_fps]
    pairs = []
    for (key_a, fa), (key_b, fb) in candidates:
        if containment(fa, fb) >= threshold:
            pairs.append(Pair(key_a, key_b, fa.text, fb.text, compare(fa, fb)))
    pairs.sort(key=lambda p: -p.match.score)
    return pairs


# --------------------------------------------------------------------------- database side


@dataclass(frozen=True)
class Flag:
    """A flagged pair as the integrity pages show it."""

    kind: str  # KIND_REVIEWS, KIND_ABSTRACT or KIND_EARLIER
    score: float
    shared: int
    left: Review  # the review of this presentation
    right: Union[Review, Paper]  # the other review, or the paper (for its abstract)
    left_segments: list[Segment]
    right_segments: list[Segment]

    @property
    def percent(self) -> int:
        return round(self.score * 100)

    @property
    def against_abstract(self) -> bool:
        return self.kind == KIND_ABSTRACT

    @property
    def against_earlier(self) -> bool:
        return self.kind == KIND_EARLIER


def _flags(kind: str, pairs: Iterable[Pair]) -> list[Flag]:
    return [
        Flag(
            kind=kind,
            score=p.match.score,
            shared=p.match.shared,
            left=p.left,
            right=p.right,
            left_segments=segments(p.left_text, p.match.spans_a),
            right_segments=segments(p.right_text, p.match.spans_b),
        )
        for p in pairs
    ]


def threshold_for(course: Course) -> float:
    """The course's flagging threshold, or the default when it is unset."""
    value = course.similarity_threshold
    return DEFAULT_THRESHOLD if value is None else value


def submitted_reviews(presentation: Presentation) -> list[Review]:
    """The presentation's submitted reviews in pseudonym order (drafts are never compared, V1)."""
    reviews = reviewing.submitted_reviews(presentation).values()
    return sorted(reviews, key=lambda r: (r.pseudonym_no or 0, r.id))


def earlier_reviews(presentation: Presentation, viewer: User, now: datetime) -> list[Review]:
    """Submitted reviews of the same paper (by normalised title) in the viewer's other staff courses."""
    title = normalise(presentation.paper.title)
    other_courses = select(Enrollment.course_id).where(
        Enrollment.user_id == viewer.id,
        Enrollment.role.in_(STAFF_ROLES),
        Enrollment.course_id != presentation.course_id,
    )
    papers = db.session.scalars(select(Paper).where(Paper.course_id.in_(other_courses))).all()
    paper_ids = [p.id for p in papers if normalise(p.title) == title]
    if not paper_ids:
        return []
    others = db.session.scalars(select(Presentation).where(Presentation.paper_id.in_(paper_ids))).all()
    reviews = [r for other in others for r in submitted_reviews(other)]
    return [r for r in reviews if policy.can_view_review(viewer, r, now)]


def flag_pairs(
    presentation: Presentation,
    viewer: Optional[User] = None,
    now: Optional[datetime] = None,
    threshold: Optional[float] = None,
) -> list[Flag]:
    """Flagged pairs of a presentation's submitted reviews, best first.

    Reviews are compared with each other and with the paper's abstract; given a ``viewer``,
    also with reviews of the same paper in the viewer's other staff courses.
    """
    threshold = threshold_for(presentation.course) if threshold is None else threshold
    items = fingerprints((r, r.text_for_comparison()) for r in submitted_reviews(presentation))
    flags = _flags(KIND_REVIEWS, find_similar(items, threshold=threshold))
    paper = presentation.paper
    if (paper.abstract or "").strip():
        flags += _flags(KIND_ABSTRACT, find_similar(items, [(paper, paper.abstract)], threshold))
    if viewer is not None:
        if now is None:
            raise ValueError("comparing with earlier offerings needs the moment (now) they are read at")
        earlier = earlier_reviews(presentation, viewer, now)
        earlier_items = [(r, r.text_for_comparison()) for r in earlier]
        flags += _flags(KIND_EARLIER, find_similar(items, earlier_items, threshold))
    flags.sort(key=lambda f: -f.score)
    return flags

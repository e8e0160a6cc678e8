"""The similarity check: scores, spans, segments, calibration corpus and the flagged pairs."""
from __future__ import annotations

import itertools
import re
from datetime import timedelta

import pytest

from domain import similarity
from tests.support.factories import ROLE_INSTRUCTOR, ROLE_TA, T0
from domain.similarity import DEFAULT_THRESHOLD, Segment, compare, containment, fingerprint, segments

# Six reviews of one paper written independently: the calibration corpus of the module docstring.
INDEPENDENT = [
    "The paper proposes PagedAttention, an attention algorithm that stores the KV cache in "
    "fixed-size blocks, much like virtual memory pages in an operating system. On top of it the "
    "authors build vLLM, a serving engine that allocates blocks on demand and shares them between "
    "sequences of the same request. The evaluation shows two to four times higher throughput than "
    "FasterTransformer and Orca at the same latency. The idea is simple and the gains are large, "
    "but I would have liked a breakdown of where the memory savings come from, and the comparison "
    "against Orca uses a reimplementation rather than the original system.",
    "This work observes that existing LLM serving systems waste a large share of GPU memory because "
    "they reserve a contiguous region for the longest possible output of each request. vLLM instead "
    "manages the key-value cache in small blocks through a block table, borrowing paging from "
    "operating systems, which nearly eliminates fragmentation. Beam search and parallel sampling "
    "benefit most because blocks can be shared with copy-on-write. My main concern is the overhead "
    "of the custom attention kernel: the authors report around 20 percent slower attention, and it "
    "is not clear how this changes for long prompts or for smaller models.",
    "Memory, not compute, limits the batch size of LLM inference, and the authors argue that most "
    "of it is lost to internal and external fragmentation of the KV cache. Their answer is to split "
    "each sequence's cache into pages that need not be contiguous and to map them with a per-request "
    "table. Strengths: a clean analogy to virtual memory, a working open-source system, and a "
    "thorough set of experiments on OPT and LLaMA models. Weaknesses: preemption by swapping or "
    "recomputation is discussed only briefly, and there is no experiment with a heavily skewed "
    "distribution of output lengths, where the scheduler decisions would matter more.",
    "I enjoyed reading this paper. It takes a well known idea from operating systems and applies it "
    "to the attention key and value tensors of transformer decoding. The result, vLLM, batches more "
    "requests at once because it only allocates memory for tokens that have actually been generated. "
    "The experiments cover chatbot and translation traces and report clear throughput gains. I am "
    "less convinced by the claim of near-zero waste: block size is a tuning knob, the paper shows "
    "that 16 tokens works best on their traces, yet gives little guidance for other workloads. A "
    "discussion of multi-GPU deployments with tensor parallelism would also help.",
    "Summary: the submission addresses throughput of large language model serving. Requests grow "
    "token by token and their final length is unknown, so systems like Orca over-reserve memory. The "
    "proposed PagedAttention kernel reads keys and values from non-contiguous blocks, and the vLLM "
    "scheduler admits new requests whenever free blocks remain. The writing is clear and the figures "
    "of memory usage are convincing. Questions for the authors: how does the design interact with "
    "prefix caching across users, what happens under memory pressure when many long requests arrive "
    "together, and would a larger block size reduce the kernel overhead?",
    "The central contribution is a memory manager for the KV cache that treats GPU memory as a pool "
    "of equally sized blocks. Because sequences no longer need contiguous space, fragmentation drops "
    "sharply and the engine can keep more sequences in a batch, which is where the throughput "
    "improvement comes from. Sharing blocks across samples of one prompt is an elegant extra. The "
    "paper would be stronger with an ablation separating the effect of the scheduler from the effect "
    "of paging, and with latency percentiles rather than only mean latency; tail latency is what "
    "users of an interactive service notice first.",
]

ABSTRACT = (
    "High throughput serving of large language models requires batching many requests at a time. "
    "However, existing systems struggle because the key-value cache memory for each request is huge "
    "and grows and shrinks dynamically. When managed inefficiently, this memory can be wasted by "
    "fragmentation and redundant duplication, limiting the batch size. To address this, we propose "
    "PagedAttention, an attention algorithm inspired by the classical virtual memory and paging "
    "techniques in operating systems. On top of it, we build vLLM, an LLM serving system that "
    "achieves near-zero waste in KV cache memory and flexible sharing of KV cache within and across "
    "requests."
)

OWN_OPENING = (
    "Before reading this paper I assumed that compute was the bottleneck for serving, so the memory "
    "argument was new to me and well motivated by the profiling figure."
)
OWN_CLOSING = (
    "I found the evaluation fair overall, although every experiment uses a single request trace per "
    "model and I wonder how robust the gains are to a different mix of prompt lengths. I would also "
    "like a comparison with TensorRT-LLM and a discussion of prefill costs, which dominate for long "
    "prompts."
)


def sentences(text: str) -> list[str]:
    return re.split(r"(?<=[.?]) ", text)


def change_middle_word(sentence: str) -> str:
    words = sentence.split(" ")
    words[len(words) // 2] = "altered"
    return " ".join(words)


def score(a: str, b: str) -> float:
    return containment(fingerprint(a), fingerprint(b))


# --------------------------------------------------------------------------- scores


def test_identical_texts_score_one():
    assert score(INDEPENDENT[0], INDEPENDENT[0]) == 1.0


def test_case_punctuation_and_whitespace_do_not_matter():
    shouted = re.sub(r"[,.:;]", " ! ", INDEPENDENT[1].upper()).replace(" ", "   ")
    assert score(INDEPENDENT[1], shouted) == 1.0


def test_empty_text_scores_zero():
    assert score("", INDEPENDENT[0]) == 0.0
    assert score("  ...  ", "") == 0.0


def test_short_texts_match_only_when_identical():
    assert score("Good paper.", "good paper") == 1.0
    assert score("Good paper.", "A good paper with a clear evaluation section.") == 0.0


@pytest.mark.parametrize("a, b", list(itertools.combinations(range(len(INDEPENDENT)), 2)))
def test_independent_reviews_of_the_same_paper_stay_below_threshold(a, b):
    assert score(INDEPENDENT[a], INDEPENDENT[b]) < DEFAULT_THRESHOLD / 10


def test_independent_reviews_do_not_match_the_abstract():
    assert max(score(text, ABSTRACT) for text in INDEPENDENT) < DEFAULT_THRESHOLD / 10


def test_shorter_shingles_would_see_chance_overlap_with_the_abstract():
    """The reason for five words: three-word shingles already find overlap in independent text."""
    three = fingerprint(ABSTRACT, k=3)
    assert max(containment(fingerprint(t, k=3), three) for t in INDEPENDENT) >= 0.04


def test_near_copy_with_a_word_changed_in_every_sentence_is_flagged():
    original = INDEPENDENT[0]
    copy = " ".join(change_middle_word(s) for s in sentences(original))
    assert copy != original
    assert 0.75 <= score(original, copy) < 1.0


def test_near_copy_with_a_word_changed_in_every_other_sentence_scores_higher():
    original = INDEPENDENT[0]
    copy = " ".join(change_middle_word(s) if i % 2 == 0 else s for i, s in enumerate(sentences(original)))
    assert score(original, copy) >= 0.85


def test_padded_copy_is_caught_by_containment_not_by_jaccard():
    original = INDEPENDENT[2]
    padded = " ".join([OWN_OPENING, INDEPENDENT[1], original, INDEPENDENT[5]])
    assert score(original, padded) == 1.0
    a, b = fingerprint(original).shingle_set, fingerprint(padded).shingle_set
    jaccard = len(a & b) / len(a | b)
    assert jaccard < DEFAULT_THRESHOLD  # what a symmetric measure would have missed


def test_one_copied_paragraph_of_three_is_flagged():
    first_half = " ".join(sentences(INDEPENDENT[0])[:2])
    review = f"{OWN_OPENING} {first_half} {OWN_CLOSING}"
    assert 0.4 <= score(INDEPENDENT[0], review) <= 0.5


@pytest.mark.parametrize("index", range(4))
def test_a_single_borrowed_sentence_stays_below_threshold(index):
    borrowed = sentences(INDEPENDENT[0])[index]
    review = f"{OWN_OPENING} {borrowed} {OWN_CLOSING}"
    assert 0.1 < score(INDEPENDENT[0], review) < DEFAULT_THRESHOLD


def test_course_threshold_default_matches_module_default(make):
    assert make.course().similarity_threshold == DEFAULT_THRESHOLD


# --------------------------------------------------------------------------- spans and segments


def test_shared_passage_spans_point_at_the_copied_text_in_each_original():
    passage = "the batch scheduler preempts the longest running request when memory runs out"
    a = f"I liked the system. In short, {passage}. That seems risky."
    b = f"Key point: {passage.capitalize()}! Otherwise nothing new here at all."
    match = compare(a, b)
    assert match.score > 0
    assert len(match.spans_a) == len(match.spans_b) == 1
    (sa, ea), (sb, eb) = match.spans_a[0], match.spans_b[0]
    assert a[sa:ea] == passage
    assert b[sb:eb] == passage.capitalize()


def test_two_separate_passages_give_two_spans():
    one = "every request reserves memory for the longest possible output"
    two = "which wastes most of the cache when outputs turn out short"
    a = f"{one}. Unrelated words sit here in between them. {two}."
    b = f"Intro words first. {one}; some other filler appears right here now; {two}!"
    spans = compare(a, b).spans_a
    assert [a[s:e] for s, e in spans] == [one, two]


def test_changed_word_splits_the_passage_around_it():
    original = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron"
    edited = original.replace("theta", "THETA-CHANGED-X")
    edited = edited.replace("THETA-CHANGED-X", "changed")
    match = compare(original, edited)
    texts = [original[s:e] for s, e in match.spans_a]
    assert texts == ["alpha beta gamma delta epsilon zeta eta", "iota kappa lambda mu nu xi omicron"]


def test_segments_cover_the_text_exactly_and_mark_the_spans():
    text = "abc def ghi jkl"
    pieces = segments(text, [(4, 7), (8, 11)])
    assert "".join(p.text for p in pieces) == text
    assert pieces == [
        Segment("abc ", False),
        Segment("def", True),
        Segment(" ", False),
        Segment("ghi", True),
        Segment(" jkl", False),
    ]


def test_segments_merge_overlapping_and_unsorted_spans():
    text = "0123456789"
    assert segments(text, [(5, 8), (2, 6), (8, 9)]) == [
        Segment("01", False),
        Segment("2345678", True),
        Segment("9", False),
    ]
    assert segments(text, []) == [Segment(text, False)]


def test_html_in_text_stays_plain_text_in_segments():
    payload = "<img src=x onerror=alert(1)>"
    text = f"{payload} the authors never compare against a strong baseline system"
    match = compare(text, text)
    pieces = segments(text, match.spans_a)
    assert "".join(p.text for p in pieces) == text  # nothing added, nothing escaped here


# --------------------------------------------------------------------------- flagged pairs


@pytest.fixture
def seminar(make):
    course = make.course()
    staff = make.member(course, ROLE_INSTRUCTOR, name="Prof")
    presentation = make.presentation(course, paper=make.paper(course, title="PagedAttention: vLLM", abstract=ABSTRACT))
    return course, staff, presentation


def submitted(make, presentation, text, name=None):
    author = make.member(presentation.course, name=name)
    return make.review(presentation, author, submitted_at=T0, text=text)


def test_flag_pairs_finds_the_copied_pair_only(make, seminar):
    course, staff, presentation = seminar
    source = submitted(make, presentation, INDEPENDENT[0])
    copy = submitted(make, presentation, " ".join(change_middle_word(s) for s in sentences(INDEPENDENT[0])))
    for text in INDEPENDENT[1:4]:
        submitted(make, presentation, text)
    flags = similarity.flag_pairs(presentation)
    assert [(f.kind, {f.left.id, f.right.id}) for f in flags] == [(similarity.KIND_REVIEWS, {source.id, copy.id})]
    assert flags[0].score >= 0.75
    assert any(seg.shared for seg in flags[0].left_segments)


def test_flag_pairs_ignores_drafts(make, seminar):
    course, staff, presentation = seminar
    submitted(make, presentation, INDEPENDENT[0])
    make.review(presentation, make.member(course), submitted_at=None, text=INDEPENDENT[0])
    assert similarity.flag_pairs(presentation) == []


def test_flag_pairs_reports_a_pasted_abstract(make, seminar):
    course, staff, presentation = seminar
    pasted = submitted(make, presentation, "Summary: " + ABSTRACT + " I have no further comments.")
    submitted(make, presentation, INDEPENDENT[2])
    flags = similarity.flag_pairs(presentation)
    assert [(f.kind, f.left.id, f.right) for f in flags] == [
        (similarity.KIND_ABSTRACT, pasted.id, presentation.paper)
    ]
    assert flags[0].percent == 100


def test_flag_pairs_sorted_by_score_and_respects_course_threshold(make, seminar):
    course, staff, presentation = seminar
    submitted(make, presentation, INDEPENDENT[0])
    submitted(make, presentation, INDEPENDENT[0])  # identical: 1.0
    first_half = " ".join(sentences(INDEPENDENT[0])[:2])
    submitted(make, presentation, f"{OWN_OPENING} {first_half} {OWN_CLOSING}")  # about 0.45
    scores = [f.score for f in similarity.flag_pairs(presentation)]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] == 1.0 and len(scores) == 3
    course.similarity_threshold = 0.9
    assert [f.score for f in similarity.flag_pairs(presentation)] == [1.0]


def test_earlier_offering_reviews_compared_when_viewer_is_staff_there(make, seminar):
    course, staff, presentation = seminar
    earlier_course = make.course(title="Seminar, last year")
    make.enroll(staff, earlier_course, ROLE_INSTRUCTOR)
    old_paper = make.paper(earlier_course, title="  pagedattention -- VLLM ", abstract="")
    old_presentation = make.presentation(
        earlier_course, paper=old_paper, review_deadline=T0 - timedelta(days=365)
    )
    old = submitted(make, old_presentation, INDEPENDENT[4])
    new = submitted(make, presentation, INDEPENDENT[4] + " " + OWN_CLOSING)

    flags = similarity.flag_pairs(presentation, viewer=staff, now=T0)
    assert [(f.kind, f.left.id, f.right.id) for f in flags] == [(similarity.KIND_EARLIER, new.id, old.id)]
    assert similarity.flag_pairs(presentation) == []  # no viewer, no other courses


def test_earlier_offering_not_compared_without_staff_role_there(make, seminar):
    course, staff, presentation = seminar
    ta = make.member(course, ROLE_TA)
    other_course = make.course()
    make.enroll(ta, other_course)  # a student there, not staff
    other_presentation = make.presentation(other_course, paper=make.paper(other_course, title="PagedAttention: vLLM"))
    submitted(make, other_presentation, INDEPENDENT[4])
    submitted(make, presentation, INDEPENDENT[4])
    assert similarity.flag_pairs(presentation, viewer=ta, now=T0) == []
    assert similarity.earlier_reviews(presentation, ta, T0) == []


def test_normalise_titles():
    assert similarity.normalise("  PagedAttention:  vLLM!  ") == similarity.normalise("pagedattention vllm")

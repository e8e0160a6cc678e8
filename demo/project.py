"""The demo's term project, loaded through the operations a click runs: the three milestones,
groups formed by invitation (and one student working alone), an approved proposal with a
checkpoint document, one proposal awaiting the instructor's decision and one sent back for
revision. Students 8–12 are in no group, so a newcomer can form one (groups lock at the
proposal deadline, a few days ahead)."""
from __future__ import annotations

import io
from datetime import datetime, timedelta

from flask import current_app
from pypdf import PdfWriter

from domain.project import documents, groups, milestones, proposals
from models import MILESTONE_CHECKPOINT, MILESTONE_FINAL, MILESTONE_PROPOSAL, Course

DEADLINES = {MILESTONE_PROPOSAL: timedelta(days=4), MILESTONE_CHECKPOINT: timedelta(days=25),
             MILESTONE_FINAL: timedelta(days=55)}
INSTRUCTIONS = {
    MILESTONE_PROPOSAL: "Two pages: the question, why it matters for serving generative models, the plan, "
                        "and a survey of background and related work.",
    MILESTONE_CHECKPOINT: "Up to four pages of initial results, and a ten-minute checkpoint talk.",
    MILESTONE_FINAL: "A research paper of up to twelve pages, and a final talk.",
}

# (name, student numbers, title, abstract, what the instructor decides: approve / revise / None)
GROUPS = (
    ("Paged Minds", (1, 2), "Block sizes for paged KV caches under long contexts",
     "We measure how the block size of a paged KV cache trades fragmentation against lookup cost "
     "for contexts from 4k to 128k tokens, and propose a per-request choice.", "approve"),
    ("Speculators", (3, 4), "When does speculative decoding stop paying off?",
     "We map the acceptance rate of draft models against batch size and temperature, and find "
     "where speculation costs more than it saves on a shared GPU.", "approve"),
    ("Quantised", (6, 7), "Serving 4-bit models without losing the tail",
     "We compare weight-only and activation quantisation for tail latency under bursty load.", None),
    ("Mei alone", (5,), "A survey of LLM serving systems",
     "We survey serving systems from Orca to today.", "revise"),
)
REVISE_COMMENT = ("A survey alone is not a project: keep the survey as related work and add one question "
                  "you will answer by measurement.")


def _pdf(pages: int) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=612, height=792)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _hand_in(course, group, milestone, user, title, abstract, at):
    checked = documents.check_pdf(course, _pdf(2), f"{milestone.kind}.pdf")
    document = documents.store(current_app.config["PROJECT_STORAGE_DIR"], course, group, checked, user.id, at)
    confirmations = {key: True for key, _ in milestones.confirmations_for(course, milestone.kind)}
    data = milestones.SubmissionInput(title=title, abstract=abstract, confirmations=confirmations, document=document)
    return milestones.submit(group, milestone, user, data, at)


def load_project(course: Course, people: dict, now: datetime) -> None:
    """Milestones, groups (one of one student), and proposals approved, awaiting and sent back."""
    staff, instructor = people["ta"], people["instructor"]
    stages = {
        kind: milestones.set_milestone(course, staff, kind, now + offset, "", INSTRUCTIONS[kind])
        for kind, offset in DEADLINES.items()
    }
    formed = now - timedelta(days=14)
    for index, (name, numbers, title, abstract, decision) in enumerate(GROUPS):
        first = people[numbers[0]]
        group = groups.create_group(course, first, name, solo=len(numbers) == 1, now=formed)
        for number in numbers[1:]:
            invitation = groups.invite(group, first, people[number].id, formed)
            groups.accept(invitation, people[number], formed + timedelta(hours=2))
        submitted = now - timedelta(days=10 - index)
        proposal = _hand_in(course, group, stages[MILESTONE_PROPOSAL], first, title, abstract, submitted)
        if decision == "approve":
            proposals.decide(proposal, instructor, "approve", "", submitted + timedelta(days=1))
        elif decision == "revise":
            proposals.decide(proposal, instructor, "revise", REVISE_COMMENT, submitted + timedelta(days=1))
    # The first group is ahead: its checkpoint document is already in.
    first_group = groups.group_of(people[1], course.id)
    _hand_in(course, first_group, stages[MILESTONE_CHECKPOINT], people[2], "Initial results", "", now - timedelta(days=1))

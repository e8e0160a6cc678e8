"""The term project in a real browser, on the demo course: a pair forms a group by invitation,
submits a proposal with a PDF, the instructor asks for a revision, the pair resubmits, and the
instructor approves it."""
import io

import pytest
from playwright.sync_api import expect
from pypdf import PdfWriter

from demo import course as demo

pytestmark = pytest.mark.e2e

# Students in no demo group (demo/project.py leaves 8–12 free).
FIRST, SECOND = 11, 12


def _pdf(tmp_path, name: str):
    writer = PdfWriter()
    writer.add_blank_page(width=612, height=792)
    out = io.BytesIO()
    writer.write(out)
    path = tmp_path / name
    path.write_bytes(out.getvalue())
    return str(path)


def _submit_proposal(page, path, title):
    page.get_by_label("Title").fill(title)
    page.get_by_label("Abstract").fill("We measure prefill and decode interference on one GPU.")
    page.get_by_label("Document (PDF)").set_input_files(path)
    for box in page.locator("input[type=checkbox]").all():
        box.check()
    page.get_by_role("button", name="Submit").click()
    expect(page.locator(".flash")).to_contain_text("submitted")


def test_a_pair_forms_a_group_and_its_proposal_is_revised_then_approved(new_person, live_server, tmp_path):
    course_id = live_server.one("SELECT id FROM courses")
    first = new_person(demo.student_email(FIRST))
    second = new_person(demo.student_email(SECOND))
    second_name = demo.STUDENT_NAMES[SECOND - 1]

    page = first.page
    first.goto(f"/courses/{course_id}/project")
    page.get_by_label("Group name").fill("Disaggregators")
    page.get_by_role("button", name="Create a group").click()
    expect(page.locator(".flash")).to_contain_text("Group created")
    page.get_by_label("Invite a classmate").select_option(label=second_name)
    page.get_by_role("button", name="Invite").click()
    expect(page.locator(".flash")).to_contain_text("Invitation sent")

    second.goto(f"/courses/{course_id}/project")
    second.page.get_by_role("button", name="Accept").click()
    expect(second.page.locator(".flash")).to_contain_text("You joined the group")
    expect(second.page.get_by_role("main")).to_contain_text("Disaggregators")
    group_id = live_server.one("SELECT id FROM project_groups WHERE name = 'Disaggregators'")
    assert live_server.one("SELECT COUNT(*) FROM project_members WHERE group_id = ?", group_id) == 2

    first.goto(f"/courses/{course_id}/project/milestones/proposal")
    _submit_proposal(page, _pdf(tmp_path, "proposal.pdf"), "Disaggregated prefill on one GPU")
    first.screenshot("proposal-submitted")

    instructor = new_person(demo.INSTRUCTOR[0])
    ipage = instructor.page
    instructor.goto(f"/courses/{course_id}/project/proposals")
    card = ipage.locator("section.proposal", has_text="Disaggregators")
    card.get_by_label("Comment to the group").fill("Name the models and the GPU you will measure on.")
    card.get_by_role("button", name="Ask for a revision").click()
    expect(ipage.locator(".flash")).to_contain_text("Decision recorded")

    second.goto(f"/courses/{course_id}/project/milestones/proposal")
    expect(second.page.get_by_role("main")).to_contain_text("Name the models and the GPU")
    _submit_proposal(second.page, _pdf(tmp_path, "proposal-v2.pdf"), "Disaggregated prefill for Llama-3-8B on one A100")
    assert live_server.one("SELECT MAX(version) FROM milestone_submissions WHERE group_id = ?", group_id) == 2

    instructor.goto(f"/courses/{course_id}/project/proposals")
    card = ipage.locator("section.proposal", has_text="Disaggregators")
    expect(card).to_contain_text("Version 2")
    card.get_by_role("button", name="Approve").click()
    expect(ipage.locator(".flash")).to_contain_text("Decision recorded")
    assert live_server.one("SELECT topic_status FROM project_groups WHERE id = ?", group_id) == "approved"

    first.goto(f"/courses/{course_id}/project")
    expect(page.locator(".topic-status")).to_have_text("approved")
    first.screenshot("approved")
    for person in (first, second, instructor):
        person.assert_no_problems()

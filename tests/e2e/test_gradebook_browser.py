"""The gradebook in a real browser, on the demo course: the instructor grades a review on the
rubric and posts it, its writer sees it with its rubric lines (on their grades page and on the
review page), a second student sees nothing of it; the staff grid scrolls inside its own region
with the student column in view, does not make a phone-sized page scroll sideways, moves between
cells with the keyboard, and filters and sorts."""
import re

import pytest
from playwright.sync_api import expect

from demo import course as demo

pytestmark = pytest.mark.e2e

TITLES = {paper.key: paper.title for paper in demo.PAPERS}
OPEN_TITLE = TITLES[demo.OPEN.paper]
COMMENT = "Sharp on the cache transfer; say which baseline would convince you."


def _ids(server):
    course = server.one("SELECT id FROM courses")
    presentation = server.one(
        "SELECT presentations.id FROM presentations JOIN papers ON papers.id = presentations.paper_id "
        "WHERE papers.title = ?", OPEN_TITLE)
    return course, presentation


def test_instructor_grades_a_review_on_the_rubric_posts_it_and_only_its_writer_sees_it(new_person, live_server):
    course, presentation = _ids(live_server)
    writer = demo.OPEN_SUBMITTED[0].student
    classmate = demo.OPEN_SUBMITTED[1].student
    writer_id = live_server.one("SELECT id FROM users WHERE email = ?", demo.student_email(writer))
    instructor = new_person(demo.INSTRUCTOR[0])
    page = instructor.page
    instructor.goto(f"/courses/{course}/gradebook")
    page.get_by_role("link", name=f"Review: {OPEN_TITLE}").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(OPEN_TITLE)
    name = demo.STUDENT_NAMES[writer - 1]
    page.get_by_label(f"Summary accuracy for {name}").fill("3")
    page.get_by_label(f"Depth of critique for {name}").fill("4")
    page.get_by_label(f"Quality of questions for {name}").fill("1")
    page.get_by_label(f"Comment to {name}").fill(COMMENT)
    page.get_by_role("button", name="Save grades").click()
    expect(page.get_by_text("Grades saved.")).to_be_visible()
    instructor.screenshot("graded-held")

    # Held: the writer sees nothing of it, on their grades page or their review page.
    student = new_person(demo.student_email(writer))
    student.goto(f"/courses/{course}/grades")
    assert COMMENT not in student.page.inner_text("main")
    review_id = live_server.one("SELECT id FROM reviews WHERE author_id = ? AND presentation_id = ?",
                                writer_id, presentation)
    student.goto(f"/courses/{course}/reviews/{review_id}")
    expect(student.page.get_by_text("appear here once staff post them")).to_be_visible()
    assert COMMENT not in student.page.inner_text("main")

    page.get_by_role("button", name="Post grades").click()
    expect(page.get_by_text("posted", exact=False).first).to_be_visible()

    student.goto(f"/courses/{course}/grades")
    main = student.page.inner_text("main")
    assert COMMENT in main and "Summary accuracy: 3.0 / 4.0" in main and "80.0" in main
    student.screenshot("posted-grade")
    student.goto(f"/courses/{course}/reviews/{review_id}")
    main = student.page.inner_text("main")
    assert COMMENT in main and "Depth of critique: 4.0 / 4.0" in main
    student.screenshot("review-page-grade")

    other = new_person(demo.student_email(classmate))
    other.goto(f"/courses/{course}/grades")
    assert COMMENT not in other.page.inner_text("main")
    other.expect_error_at(f"/courses/{course}/reviews/{review_id}")
    assert other.goto(f"/courses/{course}/reviews/{review_id}").status == 404
    for person in (instructor, student, other):
        person.assert_no_problems()


def test_the_grid_scrolls_in_its_region_keeps_names_in_view_and_is_keyboard_navigable(new_person, live_server):
    course, _ = _ids(live_server)
    instructor = new_person(demo.INSTRUCTOR[0])
    page = instructor.page
    page.set_viewport_size({"width": 375, "height": 800})
    instructor.goto(f"/courses/{course}/gradebook")
    region = page.get_by_role("region", name=re.compile("^Gradebook:"))
    expect(region).to_be_visible()
    # The page itself never scrolls sideways; the grid's region does.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert region.evaluate("el => el.scrollWidth > el.clientWidth")
    first_name = page.locator(".gradebook-grid tbody th").first
    left_before = first_name.bounding_box()["x"]
    region.evaluate("el => { el.scrollLeft = 400; }")
    assert region.evaluate("el => el.scrollLeft") > 0
    assert abs(first_name.bounding_box()["x"] - left_before) < 1  # the student column stays put
    instructor.screenshot("grid-375-scrolled")

    # Keyboard: the first grade cell is in the tab order; arrows move, End goes to the row's last.
    region.evaluate("el => { el.scrollLeft = 0; }")
    cell = page.locator(".gradebook-grid td[tabindex='0']")
    expect(cell).to_have_count(1)
    cell.focus()
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.cellIndex") == 2
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.parentElement.rowIndex") == 2
    page.keyboard.press("End")
    last = page.evaluate("[...document.activeElement.parentElement.querySelectorAll('td[tabindex]')].pop() === document.activeElement")
    assert last
    assert region.evaluate("el => el.scrollLeft") > 0  # the focused cell was scrolled into view
    expect(page.locator(".gradebook-grid td[tabindex='0']")).to_have_count(1)
    instructor.screenshot("grid-375-keyboard")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/gradebook/items/\d+$"))

    # Filter and sort through the form.
    page.set_viewport_size({"width": 1280, "height": 900})
    instructor.goto(f"/courses/{course}/gradebook")
    page.get_by_label("Sort by").select_option("total")
    page.get_by_label("descending").check()
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#grid-caption")).to_contain_text("sorted by total, descending")
    totals = [float(t.split()[0]) for t in page.locator(".gradebook-grid tbody tr td:last-child").all_inner_texts()]
    assert totals == sorted(totals, reverse=True) and len(totals) > 1
    page.get_by_label("Student", exact=True).fill(demo.STUDENT_NAMES[0].split()[0])
    page.get_by_role("button", name="Apply").click()
    expect(page.locator(".gradebook-grid tbody tr")).to_have_count(1)
    expect(page.locator("#grid-caption")).to_contain_text("1 of")
    instructor.screenshot("grid-filtered")
    instructor.assert_no_problems()

"""Every main page of the demo course, as the instructor and as a student, in a real browser:
each loads without console errors or failed requests, passes a basic accessibility check
(labelled form controls, unique ids where labels point, images with alt text, one h1, headings in order, named
links and buttons) and is kept as a screenshot.
"""
import pytest
from playwright.sync_api import expect

from demo import course as demo

pytestmark = pytest.mark.e2e

# Runs in the page: what a basic accessibility audit would report.
BASIC_AUDIT = r"""() => {
  const problems = [];
  const text = (el) => (el.innerText || el.textContent || "").trim();
  const h1 = document.querySelectorAll("h1").length;
  if (h1 !== 1) problems.push(`${h1} h1 elements`);
  if (!document.documentElement.lang) problems.push("html element without lang");
  if (!document.title.trim()) problems.push("empty title");
  for (const el of document.querySelectorAll("input, select, textarea")) {
    if (["hidden", "submit", "button", "reset", "image"].includes(el.type)) continue;
    const named = (el.labels && el.labels.length) || el.getAttribute("aria-label")
      || el.getAttribute("aria-labelledby") || el.title;
    if (!named) problems.push(`form control without a label: ${el.tagName.toLowerCase()} name=${el.name}`);
  }
  const referenced = new Set();
  for (const label of document.querySelectorAll("label[for]")) referenced.add(label.htmlFor);
  for (const el of document.querySelectorAll("[aria-labelledby], [aria-describedby]")) {
    for (const attr of ["aria-labelledby", "aria-describedby"]) {
      for (const id of (el.getAttribute(attr) || "").split(/\s+/)) if (id) referenced.add(id);
    }
  }
  for (const id of referenced) {
    const count = document.querySelectorAll(`[id="${CSS.escape(id)}"]`).length;
    if (count > 1) problems.push(`id "${id}" is used by ${count} elements and referenced by a label or ARIA`);
  }
  for (const img of document.querySelectorAll("img")) {
    if (!img.hasAttribute("alt")) problems.push(`image without alt: ${img.src}`);
  }
  let last = 0;
  for (const h of document.querySelectorAll("h1, h2, h3, h4, h5, h6")) {
    const level = Number(h.tagName[1]);
    if (last && level > last + 1) problems.push(`${h.tagName} "${text(h).slice(0, 40)}" follows an h${last}`);
    last = level;
  }
  for (const el of document.querySelectorAll("a[href], button")) {
    if (!text(el) && !el.getAttribute("aria-label") && !el.title && !el.querySelector("img[alt]")) {
      problems.push(`${el.tagName.toLowerCase()} without an accessible name`);
    }
  }
  return problems;
}"""


def ids(server) -> dict:
    """The demo's course and the ids of the pages' subjects, read from the database."""
    titles = {paper.key: paper.title for paper in demo.PAPERS}

    def presentation(key):
        return server.one(
            "SELECT presentations.id FROM presentations JOIN papers ON papers.id = presentations.paper_id "
            "WHERE papers.title = ?",
            titles[key],
        )

    return {
        "course": server.one("SELECT id FROM courses"),
        "released": presentation(demo.RELEASED.paper),
        "open": presentation(demo.OPEN.paper),
    }


def common_pages(i: dict) -> list[tuple[str, str]]:
    c = i["course"]
    return [
        ("dashboard", "/"),
        ("course-home", f"/courses/{c}"),
        ("papers", f"/courses/{c}/papers"),
        ("schedule", f"/courses/{c}/schedule"),
        ("presentation-released", f"/courses/{c}/presentations/{i['released']}"),
        ("presentation-open", f"/courses/{c}/presentations/{i['open']}"),
        ("reviews", f"/courses/{c}/reviews"),
        ("released-reviews", f"/courses/{c}/presentations/{i['released']}/reviews"),
        ("search", f"/courses/{c}/search?q=cache"),
        ("calendar", "/calendar"),
    ]


def staff_pages(i: dict) -> list[tuple[str, str]]:
    c = i["course"]
    return [
        ("roster", f"/courses/{c}/roster"),
        ("settings", f"/courses/{c}/settings"),
        ("integrity", f"/courses/{c}/integrity"),
        ("integrity-released", f"/courses/{c}/integrity/presentations/{i['released']}"),
        ("audit-log", f"/courses/{c}/integrity/audit"),
        ("staff-reviews", f"/courses/{c}/presentations/{i['released']}/reviews/staff"),
        ("extensions", f"/courses/{c}/presentations/{i['open']}/extensions"),
    ]


def student_pages(i: dict) -> list[tuple[str, str]]:
    c = i["course"]
    return [
        ("signup", f"/courses/{c}/signup"),
        ("propose-paper", f"/courses/{c}/papers/propose"),
        ("write-review", f"/courses/{c}/presentations/{i['open']}/review"),
    ]


def visit(person, name: str, path: str) -> None:
    response = person.goto(path)
    assert response.status == 200, f"{path} answered {response.status}"
    expect(person.page.get_by_role("heading", level=1)).to_be_visible()
    problems = person.page.evaluate(BASIC_AUDIT)
    person.screenshot(name)
    assert problems == [], f"{path}: {problems}"


def test_instructor_visits_every_main_page(new_person, live_server):
    person = new_person(demo.INSTRUCTOR[0])
    i = ids(live_server)
    for name, path in common_pages(i) + staff_pages(i):
        visit(person, name, path)
    person.assert_no_problems()


def test_student_visits_every_main_page_and_no_staff_page(new_person, live_server):
    open_authors = set(demo.OPEN.presenters + demo.OPEN.summarizers)
    critic = next(r.student for r in demo.RELEASED_REVIEWS if r.hours > 0 and r.student not in open_authors)
    person = new_person(demo.student_email(critic))
    i = ids(live_server)
    for name, path in common_pages(i) + student_pages(i):
        visit(person, name, path)
    for name, path in staff_pages(i):
        person.expect_error_at(path)
        status = person.goto(path).status
        assert status in (403, 404), f"a student opened {path}: {status}"
        assert "Reviewer" not in person.page.inner_text("main")
    person.assert_no_problems()

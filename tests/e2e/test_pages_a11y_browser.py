"""Pages at phone width and with a keyboard, in a real browser, on the demo course:

- no staff page scrolls sideways at 375 px (every page the demo instructor can reach by links,
  one per route), every table sits in a labelled, focusable scroll region, every ARIA reference
  names an id on the page and no alert is present at load;
- the focus ring, read from the computed styles of the elements Tab reaches, keeps 3:1 against
  the background behind it on the brand header and on the page;
- a refused form moves focus to its one error summary (the only alert), which links to every
  invalid field, and the invalid fields, the review pledge included, carry aria-invalid.
"""
from __future__ import annotations

import re

import pytest

from demo import course as demo

pytestmark = pytest.mark.e2e

PHONE = {"width": 375, "height": 800}
# Downloads, feeds, the projector (a full-screen page of its own) and logging out are no pages to measure.
NOT_A_PAGE = re.compile(r"\.(csv|ics|json|pdf)$|/slides/file$|/documents/\d+$|/logout$|/static/|/projector$")
# Staff pages the crawl must have reached, or it proves nothing.
MUST_VISIT = ("/roster", "/integrity", "/reviews/staff", "/gradebook", "/project/overview", "/integrity/audit")

# Runs in the page: what makes it scroll sideways, tables outside a labelled region, ARIA
# references to ids that are not on the page, and alerts present at load.
LAYOUT_AUDIT = r"""() => {
  const problems = [];
  const root = document.documentElement;
  if (root.scrollWidth > root.clientWidth) {
    const wide = [...document.querySelectorAll("body *")]
      .filter((el) => el.getBoundingClientRect().right > root.clientWidth + 1)
      .slice(0, 3).map((el) => el.tagName.toLowerCase() + (el.className ? "." + el.className : ""));
    problems.push(`scrolls sideways: ${root.scrollWidth} px wide in ${root.clientWidth} px (${wide.join(", ")})`);
  }
  for (const table of document.querySelectorAll("main table")) {
    const region = table.parentElement;
    const caption = table.querySelector(":scope > caption");
    if (!region.matches('.table-wrap[role="region"][tabindex="0"]')) {
      problems.push("a table outside a focusable scroll region");
    } else if (!caption || !caption.id || region.getAttribute("aria-labelledby") !== caption.id) {
      problems.push("a table region not labelled by the table's caption");
    }
  }
  for (const el of document.querySelectorAll("[aria-describedby], [aria-labelledby]")) {
    for (const attr of ["aria-describedby", "aria-labelledby"]) {
      for (const id of (el.getAttribute(attr) || "").split(/\s+/)) {
        if (id && !document.getElementById(id)) problems.push(`${attr} names "${id}", which is not on the page`);
      }
    }
  }
  const alerts = [...document.querySelectorAll('[role="alert"]')].filter((el) => !el.closest("[hidden]"));
  if (alerts.length) problems.push(`${alerts.length} role=alert at load`);
  return problems;
}"""

# Runs in the page: the focused element's ring (outline and box-shadow) and what lies behind it.
FOCUS_RING = r"""() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  const opaque = (colour) => colour && colour !== "transparent" && !/rgba\(.*,\s*0\)$/.test(colour);
  let behind = el.parentElement, background = "rgb(255, 255, 255)";
  while (behind) {
    const colour = getComputedStyle(behind).backgroundColor;
    if (opaque(colour)) { background = colour; break; }
    behind = behind.parentElement;
  }
  const shadow = style.boxShadow;
  const shadowColour = shadow && shadow !== "none" ? shadow.match(/rgba?\([^)]*\)/)[0] : null;
  const shadowSpread = shadow && shadow !== "none" ? parseFloat(shadow.replace(/rgba?\([^)]*\)/, "").trim().split(/\s+/)[3] || "0") : 0;
  return {
    what: el.tagName.toLowerCase() + " " + (el.innerText || el.getAttribute("aria-label") || "").trim().slice(0, 30),
    focusVisible: el.matches(":focus-visible"),
    outlineStyle: style.outlineStyle, outlineWidth: parseFloat(style.outlineWidth), outlineColour: style.outlineColor,
    outlineOffset: parseFloat(style.outlineOffset), shadowColour, shadowSpread, background,
  };
}"""


def pattern(path: str) -> str:
    """A path with its ids blanked: one visit per route is enough."""
    return re.sub(r"/\d+", "/#", path.split("?")[0].split("#")[0])


PER_ROUTE = 2  # pages per route: a second instance catches content only some rows have (a long URL)


def crawl(person, start: str) -> dict[str, list[str]]:
    """Every page the person reaches by following links from ``start``, a few per route:
    path → what LAYOUT_AUDIT found there."""
    seen, queue, found = {}, [start], {}
    while queue:
        path = queue.pop(0)
        if path in found or seen.get(pattern(path), 0) >= PER_ROUTE:
            continue
        seen[pattern(path)] = seen.get(pattern(path), 0) + 1
        response = person.goto(path)
        assert response.status == 200, f"{path} answered {response.status}"
        found[path] = person.page.evaluate(LAYOUT_AUDIT)
        for href in person.page.eval_on_selector_all("a[href]", "links => links.map((a) => a.getAttribute('href'))"):
            if href.startswith("/") and not href.startswith("//") and not NOT_A_PAGE.search(href.split("?")[0].split("#")[0]):
                queue.append(href.split("#")[0])
    return found


def test_no_staff_page_scrolls_sideways_at_phone_width(new_person):
    """The demo instructor at 375 px: every page reachable by links fits the width."""
    person = new_person(demo.INSTRUCTOR[0])
    person.page.set_viewport_size(PHONE)
    found = crawl(person, "/")
    for part in MUST_VISIT:
        assert any(re.search(re.escape(part) + r"$", path.split("?")[0]) for path in found), (part, sorted(found))
    problems = [f"{path}: {problem}" for path, issues in found.items() for problem in issues]
    person.goto(next(path for path in found if path.endswith("/roster")))
    person.screenshot("roster-375")
    assert problems == [], "\n".join(problems)
    person.assert_no_problems()


def test_the_layout_audit_reports_a_page_that_scrolls_sideways(new_person):
    """Guards the audit: a table forced wider than the phone outside its region is reported."""
    person = new_person(demo.INSTRUCTOR[0])
    person.page.set_viewport_size(PHONE)
    person.goto("/")
    link = person.page.locator("main a[href^='/courses/']").first.get_attribute("href")
    person.goto(link.rstrip("/") + "/roster")
    assert person.page.evaluate(LAYOUT_AUDIT) == []
    person.page.evaluate(
        """() => { const t = document.querySelector("main table"); t.style.minWidth = "900px";
                   document.querySelector("main").append(t); }"""
    )
    problems = person.page.evaluate(LAYOUT_AUDIT)
    assert any("scrolls sideways" in p for p in problems), problems
    assert any("outside a focusable scroll region" in p for p in problems), problems
    person.assert_no_problems()


# --------------------------------------------------------------------------- focus ring


def _luminance(colour: str) -> float:
    r, g, b = (int(v) for v in re.findall(r"\d+(?:\.\d+)?", colour)[:3])

    def channel(v: int) -> float:
        c = v / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    """The WCAG contrast ratio of two computed colours."""
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_the_focus_ring_keeps_3_to_1_on_every_background(new_person):
    """Tab through the course home and the roster: every ring is two-tone, its tones 3:1 apart,
    and at least one tone 3:1 against what lies behind it (the brand header, white, grey)."""
    person = new_person(demo.INSTRUCTOR[0])
    page = person.page
    person.goto("/")
    course_link = page.locator("main a[href^='/courses/']").first.get_attribute("href")
    backgrounds, problems = set(), []
    for path in (course_link, course_link + "/roster"):
        person.goto(path)
        page.locator("body").focus()
        for _ in range(30):
            page.keyboard.press("Tab")
            ring = page.evaluate(FOCUS_RING)
            if ring["what"].startswith("body"):
                break
            backgrounds.add(ring["background"])
            tones = (ring["outlineColour"], ring["shadowColour"])
            if not ring["focusVisible"] or ring["outlineStyle"] == "none" or ring["shadowColour"] is None:
                problems.append(f"{path} {ring['what']}: no two-tone ring ({ring})")
                continue
            if ring["outlineWidth"] < 2 or ring["shadowSpread"] < 2 or ring["outlineOffset"] < ring["shadowSpread"]:
                problems.append(f"{path} {ring['what']}: a tone is under 2 px or hidden under the other ({ring})")
            if contrast(*tones) < 3:
                problems.append(f"{path} {ring['what']}: the ring's tones are {contrast(*tones):.2f}:1 apart")
            best = max(contrast(tone, ring["background"]) for tone in tones)
            if best < 3:
                problems.append(f"{path} {ring['what']}: {best:.2f}:1 against {ring['background']}")
    assert problems == [], "\n".join(problems)
    header = page.evaluate("() => getComputedStyle(document.querySelector('.site-header')).backgroundColor")
    assert header in backgrounds and "rgb(255, 255, 255)" in backgrounds, backgrounds
    person.assert_no_problems()


def test_the_old_single_tone_ring_would_fail_the_contrast_check():
    """Guards the check: the old #ffbf47 ring alone is 1.6:1 on white (under 3:1)."""
    assert contrast("rgb(255, 191, 71)", "rgb(255, 255, 255)") < 3
    assert contrast("rgb(11, 12, 12)", "rgb(255, 221, 0)") >= 3


# --------------------------------------------------------------------------- refused forms

SUMMARY_STATE = r"""() => {
  const summary = document.querySelector("[data-error-summary]");
  const alerts = [...document.querySelectorAll('[role="alert"]')].filter((el) => !el.closest("[hidden]"));
  const missing = [];
  for (const el of document.querySelectorAll("[aria-describedby]")) {
    for (const id of el.getAttribute("aria-describedby").split(/\s+/)) if (!document.getElementById(id)) missing.push(id);
  }
  return {
    focused: summary !== null && document.activeElement === summary,
    alerts: alerts.length,
    summaryIsAlert: summary !== null && summary.getAttribute("role") === "alert",
    links: summary ? [...summary.querySelectorAll("a[href^='#']")].map((a) => a.getAttribute("href").slice(1)) : [],
    invalid: [...document.querySelectorAll('[aria-invalid="true"]')].map((el) => el.id),
    missingIds: missing,
  };
}"""


def critic_without_review() -> int:
    """A critic of the open presentation with no review, no extension, and not the one the review
    tests write with (they take the lowest number)."""
    busy = set(demo.OPEN.presenters + demo.OPEN.summarizers)
    busy |= {r.student for r in demo.OPEN_SUBMITTED + demo.OPEN_DRAFTS} | {demo.EXTENSION[0]}
    return max(n for n in range(1, len(demo.STUDENT_NAMES) + 1) if n not in busy)


def open_presentation_id(server) -> int:
    title = next(p.title for p in demo.PAPERS if p.key == demo.OPEN.paper)
    return server.one(
        "SELECT presentations.id FROM presentations JOIN papers ON papers.id = presentations.paper_id WHERE papers.title = ?",
        title,
    )


def test_a_refused_review_focuses_the_error_summary_and_marks_the_pledge(new_person, live_server):
    """Submitting an empty review without the pledge: focus on the one summary, every invalid
    field linked from it and marked aria-invalid, the pledge among them; its link focuses it."""
    student = critic_without_review()
    person = new_person(demo.student_email(student))
    page = person.page
    course_id = live_server.one("SELECT id FROM courses")
    presentation_id = open_presentation_id(live_server)
    path = f"/courses/{course_id}/presentations/{presentation_id}/review"
    person.goto(path)
    at_load = page.evaluate(SUMMARY_STATE)
    assert at_load["alerts"] == 0 and at_load["invalid"] == [] and at_load["missingIds"] == [], at_load
    with page.expect_navigation():
        page.get_by_role("button", name="Submit review").click()
    state = page.evaluate(SUMMARY_STATE)
    assert state["focused"] and state["summaryIsAlert"] and state["alerts"] == 1, state
    assert "pledge" in state["invalid"] and len(state["invalid"]) > 1, state
    assert sorted(state["links"]) == sorted(state["invalid"]), state
    assert state["missingIds"] == [], state
    assert page.get_attribute("#pledge", "aria-describedby") == "pledge-help pledge-err"
    person.screenshot("refused-review")
    page.locator("[data-error-summary] a[href='#pledge']").click()
    assert page.evaluate("() => document.activeElement.id") == "pledge"
    assert live_server.query(
        "SELECT reviews.id FROM reviews JOIN users ON users.id = reviews.author_id "
        "WHERE users.email = ? AND reviews.presentation_id = ?",
        demo.student_email(student), presentation_id,
    ) == [], "a refused submission stores nothing"
    person.assert_no_problems()


def test_a_refused_password_change_focuses_the_error_summary(new_person):
    """The account page's password form with a wrong current password: the summary has focus and
    links to the field, which is invalid; the name form above it carries no error."""
    person = new_person(demo.INSTRUCTOR[0])
    page = person.page
    person.goto("/account")
    assert page.evaluate(SUMMARY_STATE)["missingIds"] == []
    page.get_by_label("Current password").fill("not the password at all")
    page.get_by_label("New password", exact=True).fill("a brand new password 1")
    page.get_by_label(re.compile("^(Repeat|Confirm)")).fill("a brand new password 1")
    with page.expect_navigation():
        page.get_by_role("button", name=re.compile("Change password")).click()
    state = page.evaluate(SUMMARY_STATE)
    assert state["focused"] and state["alerts"] == 1, state
    assert state["invalid"] == ["password-current"] and state["links"] == ["password-current"], state
    assert state["missingIds"] == [], state
    person.assert_no_problems()

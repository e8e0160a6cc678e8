"""The live room as a phone, a keyboard, a screen reader and a projector meet it, in a real
browser: Tab follows what the eye sees, a skip link leads to asking, every per-question control
says which question it acts on, the projector's type is sized to the screen, and no room page
scrolls sideways at 375 px."""
from __future__ import annotations

import pytest

from tests.e2e.test_panel_browser import room_path

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PAPER = "DistServe: Disaggregating Prefill and Decoding for Goodput-optimized Large Language Model Serving"
CLOSED_PAPER = "Efficient Memory Management for Large Language Model Serving with PagedAttention"
INSTRUCTOR = "instructor@colloquy.test"
AUTHOR = "student04@colloquy.test"  # presents DistServe
CLOSED_AUTHOR = "student01@colloquy.test"  # presents the PagedAttention paper, whose panel is over
ASKER = "student06@colloquy.test"
CRITIC = "student07@colloquy.test"
QUESTIONS = (
    "How does DistServe place prefill and decoding instances when the cluster has one GPU type?",
    "Is the KV cache transfer between phases ever the bottleneck?",
    "What goodput do you lose when the load is bursty?",
)
PHONE = {"width": 375, "height": 800}
DESKTOP = {"width": 1280, "height": 900}

# The focused element, where it is on the page and what it is.
FOCUSED = """() => {
  const el = document.activeElement;
  const box = el.getBoundingClientRect();
  return {top: Math.round(box.top + window.scrollY), left: Math.round(box.left), tag: el.tagName,
          text: (el.innerText || el.value || "").trim().slice(0, 60), id: el.id,
          cls: el.className || "", href: el.getAttribute("href") || ""};
}"""


def question_ids(server, path_room_paper=PAPER, states=("queued", "live")):
    marks = ",".join("?" * len(states))
    return server.query(
        "SELECT q.id FROM questions q JOIN panel_rooms r ON r.id = q.room_id JOIN presentations p ON p.id = r.presentation_id "
        f"JOIN papers ON papers.id = p.paper_id WHERE papers.title = ? AND q.state IN ({marks}) ORDER BY q.id",
        path_room_paper, *states,
    )


def ready_room(new_person, live_server):
    """The DistServe room in its panel phase, unmoderated, with the questions queued and the
    first one live (set up once; later tests find it ready)."""
    from playwright.sync_api import expect

    path = room_path(live_server, paper=PAPER)
    if len(question_ids(live_server)) >= len(QUESTIONS) and question_ids(live_server, states=("live",)):
        return path
    instructor = new_person(INSTRUCTOR)
    mod = instructor.page
    instructor.goto(path + "/moderate")
    expect(mod.locator("[data-panel-connection]")).to_have_text("Connected")
    mod.get_by_role("button", name="Panel discussion").click()
    expect(mod.locator("[data-panel-phase]")).to_have_text("Panel discussion")
    moderated = mod.get_by_label("Approve questions before the class sees them")
    if moderated.is_checked():
        moderated.uncheck()
        expect(mod.locator("[data-panel-message]")).to_have_text("Settings saved.")
    asker = new_person(ASKER)
    asker.goto(path)
    expect(asker.page.locator("[data-panel-connection]")).to_have_text("Connected")
    for text in QUESTIONS:
        asker.page.get_by_label("Your question", exact=True).fill(text)
        asker.page.get_by_role("button", name="Send question").click()
        expect(asker.page.locator("[data-panel-message]")).to_contain_text("in the queue")
        asker.page.locator("[data-panel-message]").evaluate("node => node.textContent = ''")
    expect(mod.locator("[data-queue] > li")).to_have_count(len(QUESTIONS))
    mod.locator("[data-queue] > li").first.get_by_role("button", name="Set live").click()
    expect(mod.locator("[data-live] > li")).to_have_count(1)
    return path


def enter(person, path, viewport):
    from playwright.sync_api import expect

    person.page.set_viewport_size(viewport)
    person.goto(path)
    expect(person.page.locator("[data-panel-connection]")).to_have_text("Connected")


def tab_through(page, presses=80):
    """Press Tab from the top of the page; what got focus, in order (stops at the page's end)."""
    page.evaluate("() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); }")
    seen = []
    for _ in range(presses):
        page.keyboard.press("Tab")
        now = page.evaluate(FOCUSED)
        if now["tag"] == "BODY" or (seen and now == seen[0]):
            break
        seen.append(now)
    return seen


def test_tab_follows_the_eye_at_phone_width_and_skips_to_asking_at_desktop(new_person, live_server):
    from playwright.sync_api import expect

    path = ready_room(new_person, live_server)
    critic = new_person(CRITIC)
    page = critic.page
    enter(critic, path, PHONE)
    expect(page.locator("[data-queue] button.q-vote").first).to_be_enabled()

    order = tab_through(page)
    labels = [f"{f['tag']} {f['text'] or f['id']}" for f in order]
    assert any(f["id"] == "ask-text" for f in order), labels
    assert sum("q-vote" in f["cls"] for f in order) == len(QUESTIONS), labels
    # Down the page and never back up: the DOM is in the order the single column shows.
    tops = [f["top"] for f in order]
    ups = [(labels[i - 1], labels[i]) for i in range(1, len(tops)) if tops[i] < tops[i - 1] - 2]
    assert not ups, ups
    critic.screenshot("participant-375")

    # At desktop width the question box sits beside the queue: the skip link reaches it
    # without Tabbing past every Upvote.
    enter(critic, path, DESKTOP)
    order = tab_through(page)
    skip = next(i for i, f in enumerate(order) if f["href"] == "#ask")
    first_vote = next(i for i, f in enumerate(order) if "q-vote" in f["cls"])
    assert skip < first_vote
    page.evaluate("() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); }")
    for _ in range(skip + 1):
        page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to “Ask a question”")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#ask")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.locator("#ask-text")).to_be_focused()
    critic.assert_no_problems()


def card(page, list_name, text):
    return page.locator(f"[data-{list_name}] > li").filter(has=page.locator(".q-text", has_text=text))


def test_per_question_controls_say_which_question_they_act_on(new_person, live_server):
    from playwright.sync_api import expect

    path = ready_room(new_person, live_server)
    live_text, queued = QUESTIONS[0], QUESTIONS[1:]
    critic = new_person(CRITIC)
    enter(critic, path, DESKTOP)
    for text in queued:
        vote = card(critic.page, "queue", text).get_by_role("button", name="Upvote")
        expect(vote).to_have_accessible_description(text)
    expect(card(critic.page, "live", live_text).get_by_role("button", name="Upvote")).to_have_accessible_description(live_text)

    author = new_person(AUTHOR)
    enter(author, path, DESKTOP)
    for text in queued:
        item = card(author.page, "queue", text)
        expect(item.get_by_role("button", name="We'll take this")).to_have_accessible_description(text)
        expect(item.locator("summary", has_text="Record an answer")).to_have_accessible_description(text)

    instructor = new_person(INSTRUCTOR)
    enter(instructor, path + "/moderate", DESKTOP)
    for text in queued:
        item = card(instructor.page, "queue", text)
        for name in ("Set live", "Mark answered", "Pin", "Mute asker"):
            expect(item.get_by_role("button", name=name, exact=True)).to_have_accessible_description(text)
        for summary in ("Order", "Edit", "Merge into…", "Dismiss…"):
            expect(item.locator("summary", has_text=summary)).to_have_accessible_description(text)
    for person in (critic, author, instructor):
        person.assert_no_problems()


def test_moderator_console_on_a_phone_puts_what_is_live_first_and_keeps_removal_apart(new_person, live_server):
    from playwright.sync_api import expect

    path = ready_room(new_person, live_server)
    instructor = new_person(INSTRUCTOR)
    page = instructor.page
    enter(instructor, path + "/moderate", PHONE)
    expect(page.locator("[data-queue] > li")).to_have_count(len(QUESTIONS) - 1)

    def top(selector):
        return page.locator(selector).first.bounding_box()["y"]

    assert top("#live-h") < top("#phase-h") < top("#pending-h") < top("#queue-h") < top("#settings-h")
    first = page.locator("[data-queue] > li").first
    main_row = first.get_by_role("button", name="Set live").bounding_box()
    mute = first.get_by_role("button", name="Mute asker").bounding_box()
    dismiss = first.locator("summary", has_text="Dismiss…").bounding_box()
    # Mute and Dismiss are on a line of their own, below the one that moves the question on.
    assert mute["y"] >= main_row["y"] + main_row["height"] and dismiss["y"] >= main_row["y"] + main_row["height"]
    assert first.bounding_box()["height"] < 260
    instructor.screenshot("moderator-375")
    instructor.assert_no_problems()


def font_px(page, selector) -> float:
    return page.locator(selector).first.evaluate("node => parseFloat(getComputedStyle(node).fontSize)")


def test_projector_type_is_sized_to_the_screen(new_person, live_server):
    from playwright.sync_api import expect

    path = ready_room(new_person, live_server)
    projector = new_person(INSTRUCTOR)
    page = projector.page
    enter(projector, path + "/projector", {"width": 1920, "height": 1080})
    expect(page.locator("[data-live] .q-text")).to_have_text(QUESTIONS[0])
    expect(page.locator("[data-queue] > li")).to_have_count(len(QUESTIONS) - 1)
    height = 1080
    live = font_px(page, "[data-live] .q-text")
    queued = font_px(page, "[data-queue] .q-text")
    meta = font_px(page, "[data-queue] .q-meta")
    assert live >= 0.06 * height, live
    assert queued >= 0.03 * height, queued
    assert meta >= 0.02 * height, meta
    # The title on one line, no breadcrumb, nothing said of a working connection, no scrolling.
    title = page.locator(".panel-head h1")
    line = title.evaluate("node => parseFloat(getComputedStyle(node).lineHeight)")
    assert title.bounding_box()["height"] < 1.5 * line
    expect(page.locator(".panel-kicker")).to_have_count(0)
    assert page.locator("[data-panel-connection]").bounding_box()["width"] <= 1
    assert page.evaluate("() => document.documentElement.scrollHeight <= window.innerHeight + 1")
    projector.screenshot("projector-1080")

    # The same proportions on a 4K screen and on a 720p one.
    for width, h in ((3840, 2160), (1280, 720)):
        page.set_viewport_size({"width": width, "height": h})
        page.wait_for_function(f"() => window.innerHeight === {h}")
        scaled = font_px(page, "[data-queue] .q-text")
        assert abs(scaled / h - queued / height) < 0.005, (width, scaled)
        assert font_px(page, "[data-live] .q-text") >= 0.05 * h
        assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
        projector.screenshot(f"projector-{width}x{h}")
    projector.assert_no_problems()


@pytest.mark.parametrize("who, paper, suffix", [
    (CRITIC, PAPER, ""),
    (AUTHOR, PAPER, ""),
    (CLOSED_AUTHOR, CLOSED_PAPER, ""),
    (INSTRUCTOR, PAPER, "/moderate"),
    (INSTRUCTOR, PAPER, "/projector"),
    (CRITIC, CLOSED_PAPER, "/transcript"),
])
def test_room_pages_do_not_scroll_sideways_on_a_phone(new_person, live_server, who, paper, suffix):
    from playwright.sync_api import expect

    if paper == PAPER:
        ready_room(new_person, live_server)
    person = new_person(who)
    page = person.page
    page.set_viewport_size(PHONE)
    person.goto(room_path(live_server, suffix, paper=paper))
    if suffix != "/transcript":
        expect(page.locator("[data-panel-connection]")).to_have_text("Connected")
        expect(page.locator("[data-panel-phase]")).not_to_be_empty()
    if who == CLOSED_AUTHOR:
        expect(page.locator("#rebuttal-h")).to_be_visible()
        expect(page.locator("#queue-h")).to_have_text("Not answered")
    page.wait_for_timeout(300)
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], widths
    person.assert_no_problems()

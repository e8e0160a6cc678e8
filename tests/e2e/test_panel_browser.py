"""The live panel room in a real browser: an instructor, an author and two critics, each in
their own browser context, run one panel from the first question to the closing verdict."""
from __future__ import annotations

import json
import os
import re
import sqlite3
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PAPER = "Taming Throughput-Latency Tradeoff in LLM Inference with Sarathi-Serve"
INSTRUCTOR = "instructor@colloquy.test"
AUTHOR = "student08@colloquy.test"  # presents the paper
CRITIC_1 = "student10@colloquy.test"
CRITIC_1_NAME = "Liam O'Connor"
CRITIC_2 = "student11@colloquy.test"

ANON_Q = "Does chunking prefills hurt time-to-first-token for short prompts?"
PRIVATE_Q = "Is the comparison with vLLM using the same batch size limits?"
NAMED_Q = "How was the chunk size chosen for each model?"
ANSWER = "Only slightly: the chunk budget is tuned so short prompts finish in one iteration."
DISMISS_REASON = "Covered in the talk."


def keep_screenshots_in(people, folder: str | None) -> None:
    """Screenshots go to test-results/ unless PANEL_SCREENSHOTS names another folder."""
    if folder:
        for person in people:
            person.shots = Path(folder)


def room_path(server, suffix="", paper=PAPER):
    """The panel room of a demo presentation, found by its paper (read from the demo database)."""
    with sqlite3.connect(server.database) as conn:
        course_id, presentation_id = conn.execute(
            "SELECT p.course_id, p.id FROM presentations p JOIN papers ON papers.id = p.paper_id "
            "WHERE papers.title = ?", (paper,)
        ).fetchone()
    return f"/courses/{course_id}/presentations/{presentation_id}/panel" + suffix


def test_a_panel_from_first_question_to_verdict(new_person, live_server):
    from playwright.sync_api import expect

    room, console, projector = (room_path(live_server, s) for s in ("", "/moderate", "/projector"))
    instructor = new_person(INSTRUCTOR)
    author = new_person(AUTHOR)
    critic1 = new_person(CRITIC_1)
    critic2 = new_person(CRITIC_2)
    keep_screenshots_in((instructor, author, critic1, critic2), os.environ.get("PANEL_SCREENSHOTS"))

    def enter(person, path):
        person.goto(path)
        expect(person.page.locator("[data-panel-connection]")).to_have_text("Connected")

    def card(person, list_name, text):
        """The question card whose own text is ``text`` (not a mention in a merge list)."""
        page = person.page
        return page.locator(f"[data-{list_name}] > li").filter(has=page.locator(".q-text", has_text=text))

    enter(instructor, console)
    mod = instructor.page
    mod.get_by_role("button", name="Panel discussion").click()
    expect(mod.locator("[data-panel-phase]")).to_have_text("Panel discussion")
    expect(mod.locator("[data-panel-countdown]")).to_have_text(re.compile(r"^1[45]:\d\d$"))

    for person in (author, critic1, critic2):
        enter(person, room)
        expect(person.page.locator("[data-panel-phase]")).to_have_text("Panel discussion")
    expect(author.page.locator("#ask-text")).to_have_count(0)

    # Critic 1 asks one anonymous question and one named question; both await approval.
    page1 = critic1.page
    page1.get_by_label("Your question", exact=True).fill(ANON_Q)
    expect(page1.locator("[data-ask-count]")).to_have_text(f"{len(ANON_Q)} / 500 characters")
    page1.get_by_label("Anonymous to the class (the instructor still sees your name)").check()
    page1.get_by_role("button", name="Send question").click()
    expect(page1.locator("[data-panel-message]")).to_contain_text("awaiting approval")
    page1.get_by_label("Anonymous to the class (the instructor still sees your name)").uncheck()
    page1.get_by_label("Your question", exact=True).fill(PRIVATE_Q)
    page1.get_by_role("button", name="Send question").click()
    expect(card(critic1, "mine", ANON_Q)).to_contain_text("awaiting approval")
    expect(card(critic1, "mine", PRIVATE_Q)).to_contain_text("awaiting approval")

    page2 = critic2.page
    page2.get_by_label("Your question", exact=True).fill(NAMED_Q)
    page2.get_by_role("button", name="Send question").click()
    expect(card(critic2, "mine", NAMED_Q)).to_contain_text("awaiting approval")

    # The moderator sees all three with names (also the anonymous asker's), approves two and
    # dismisses one with a reason that only its asker sees.
    expect(mod.locator("[data-pending-count]")).to_have_text("3")
    expect(card(instructor, "pending", ANON_Q)).to_contain_text(CRITIC_1_NAME)
    expect(card(instructor, "pending", ANON_Q)).to_contain_text("anonymous to the class")
    card(instructor, "pending", ANON_Q).get_by_role("button", name="Approve").click()
    private = card(instructor, "pending", PRIVATE_Q)
    expect(card(instructor, "pending", ANON_Q)).to_have_count(0)
    card(instructor, "pending", NAMED_Q).get_by_role("button", name="Approve").focus()
    mod.keyboard.press("Enter")
    expect(card(instructor, "pending", NAMED_Q)).to_have_count(0)
    # The keyboard user lands on the next question still waiting.
    expect(private.get_by_role("button", name="Approve")).to_be_focused()
    private.locator("summary", has_text="Dismiss").click()
    private.get_by_label("Reason, shown only to the asker (optional)").fill(DISMISS_REASON)
    private.get_by_role("button", name="Dismiss", exact=True).click()
    expect(mod.locator("[data-pending-count]")).to_have_text("0")
    expect(page1.locator("[data-panel-message]")).to_contain_text(DISMISS_REASON)

    for person in (author, critic1, critic2):
        expect(card(person, "queue", ANON_Q)).to_be_visible()
        expect(card(person, "queue", NAMED_Q)).to_be_visible()
    expect(card(critic2, "queue", ANON_Q)).to_contain_text("Asked by Anonymous")
    expect(card(author, "queue", ANON_Q)).to_contain_text("Asked by Anonymous")
    expect(page2.locator("[data-panel-announce]")).to_contain_text(ANON_Q)

    # Critic 2 upvotes the anonymous question; everyone sees the count.
    vote = card(critic2, "queue", ANON_Q).locator("button.q-vote")
    expect(vote).to_have_attribute("aria-pressed", "false")
    vote.focus()
    page2.keyboard.press("Space")
    expect(vote).to_have_attribute("aria-pressed", "true")
    expect(vote).to_be_focused()
    expect(card(author, "queue", ANON_Q).locator("button.q-vote")).to_contain_text("(1)")
    expect(card(instructor, "queue", ANON_Q)).to_contain_text("1 vote")

    # The moderator sets it live; the room highlights it, and the projector shows it
    # without the asker's name although the instructor is logged in there.
    card(instructor, "queue", ANON_Q).get_by_role("button", name="Set live").click()
    for person in (author, critic1, critic2):
        expect(card(person, "live", ANON_Q)).to_be_visible()
    expect(card(critic1, "live", ANON_Q)).to_contain_text("Asked by You")
    critic1.screenshot("participant")
    instructor.screenshot("moderator")

    enter(instructor, projector)
    expect(card(instructor, "live", ANON_Q)).to_be_visible()
    expect(card(instructor, "queue", NAMED_Q)).to_be_visible()
    instructor.screenshot("projector")
    expect(mod.locator("main")).not_to_contain_text(CRITIC_1_NAME)

    # The author claims the live question and answers it with an outcome; the projector
    # follows live.
    live = card(author, "live", ANON_Q)
    live.get_by_role("button", name="We'll take this").click()
    expect(live.get_by_role("button", name="Release our claim")).to_have_attribute("aria-pressed", "true")
    live.locator("summary", has_text="Record an answer").click()
    live.get_by_label("Short written answer (optional)").fill(ANSWER)
    live.get_by_label("Conceded").check()
    live.get_by_role("button", name="Save answer").click()
    for person in (author, critic1, critic2):
        answered = card(person, "answered", ANON_Q)
        expect(answered).to_contain_text("Conceded")
        expect(answered).to_contain_text(ANSWER)
    expect(mod.locator("[data-live-empty]")).to_be_visible()
    expect(card(instructor, "live", ANON_Q)).to_have_count(0)

    # Verdicts, then the moderator closes the room; the class sees the result.
    page1.get_by_label("Revise").check()
    page1.get_by_role("button", name="Cast my verdict").click()
    expect(page1.locator("[data-my-verdict]")).to_contain_text("Revise")
    enter(instructor, console)
    mod.get_by_role("button", name="Closed").click()
    for person in (author, critic1, critic2):
        expect(person.page.locator("[data-panel-phase]")).to_have_text("Closed")
        expect(person.page.locator("[data-verdict-counts]")).to_contain_text("Revise: 1")
    expect(page2.locator("#ask-text")).to_be_disabled()

    # Critic 2, the author and the projector never saw critic 1's private question, nor
    # critic 1's name on the anonymous one.
    for page in (page2, author.page):
        expect(page.locator("main")).not_to_contain_text(PRIVATE_Q)
        expect(page.locator("main")).not_to_contain_text(CRITIC_1_NAME)
    page2.set_viewport_size({"width": 390, "height": 844})
    critic2.screenshot("participant-phone")
    for person in (instructor, author, critic1, critic2):
        person.assert_no_problems()


RETRY_PAPER = "Splitwise: Efficient Generative LLM Inference Using Phase Splitting"
RETRY_CRITIC = "student12@colloquy.test"
RETRY_Q = "Would phase splitting still pay off with a slower interconnect?"


class LoseOneAck:
    """Proxies the page's Socket.IO websocket; drops the acknowledgement of the first ``ask``
    and closes the connection, as if the network failed right after the server applied it.
    Notes each connect request to ``/panel`` (which carries the room to join)."""

    def __init__(self):
        self.asks: list[str] = []
        self.joins: list[dict] = []
        self.ask_ack_id: str | None = None
        self.dropped = False

    def __call__(self, ws) -> None:
        server = ws.connect_to_server()
        ws.on_message(lambda message: self.to_server(server, message))
        server.on_message(lambda message: self.to_page(ws, message))

    def to_server(self, server, message) -> None:
        if isinstance(message, str) and message.startswith("40/panel,"):
            self.joins.append(json.loads(message[len("40/panel,"):]))  # joins in the connect request
        match = re.match(r'42/panel,(\d+)\["ask",', message) if isinstance(message, str) else None
        if match:
            self.asks.append(message)
            self.ask_ack_id = self.ask_ack_id or match.group(1)
        server.send(message)

    def to_page(self, ws, message) -> None:
        if not self.dropped and self.ask_ack_id and isinstance(message, str) \
                and message.startswith(f"43/panel,{self.ask_ack_id}["):
            self.dropped = True
            ws.close()
            return
        ws.send(message)


def test_an_action_whose_ack_was_lost_is_retried_once_after_reconnecting(new_person, live_server):
    from playwright.sync_api import expect

    path = room_path(live_server, paper=RETRY_PAPER)
    instructor = new_person(INSTRUCTOR)
    instructor.goto(path + "/moderate")
    expect(instructor.page.locator("[data-panel-connection]")).to_have_text("Connected")
    instructor.page.get_by_role("button", name="Talk").click()
    expect(instructor.page.locator("[data-panel-phase]")).to_have_text("Talk")

    critic = new_person(RETRY_CRITIC)
    proxy = LoseOneAck()
    critic.page.route_web_socket(re.compile(r".*/socket\.io/.*"), proxy)
    critic.goto(path)
    page = critic.page
    expect(page.locator("[data-panel-connection]")).to_have_text("Connected")
    page.get_by_label("Your question", exact=True).fill(RETRY_Q)
    page.get_by_role("button", name="Send question").click()

    # The connection drops before the ack; the page reconnects, rejoins and sends the same
    # action again; the server answers with the stored ack instead of asking twice.
    expect(page.locator("[data-panel-message]")).to_contain_text("awaiting approval", timeout=20_000)
    assert proxy.dropped
    assert len(proxy.asks) == 2
    cids = [json.loads(message[message.index("["):])[1]["cid"] for message in proxy.asks]
    assert cids[0] == cids[1]
    assert len(proxy.joins) == 2
    assert "last_seq" not in proxy.joins[0] and proxy.joins[1]["last_seq"] >= 1
    expect(page.locator("[data-mine] > li")).to_have_count(1)
    pending = instructor.page.locator("[data-pending] > li").filter(
        has=instructor.page.locator(".q-text", has_text=RETRY_Q))
    expect(pending).to_have_count(1)
    expect(instructor.page.locator("[data-pending-count]")).to_have_text("1")
    for person in (instructor, critic):
        person.assert_no_problems()

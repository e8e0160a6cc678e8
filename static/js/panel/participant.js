// The panel room for critics and authors: ask, vote, claim and answer, follow up, verdict.
import {detailsForm, el, field, setText, show} from "./dom.js";
import {questionCard, textId} from "./render.js";
import {open} from "./room.js";

function start() {
  var root = document.getElementById("panel-room");
  var role = root.dataset.role;
  var room = open({render: render});
  if (!room) return;
  var MAX_QUESTION = room.limits.question;
  var MAX_ANSWER = room.limits.answer;
  var hook = function (name) { return room.hook(name); };

  // ------------------------------------------------------------------ question cards

  function createCard(q) {
    var node = questionCard(q);
    var actions = node.querySelector(".q-actions");
    var vote = el("button", {type: "button", class: "secondary q-vote", "aria-pressed": "false", "aria-describedby": textId(q)}, [
      el("span", {"aria-hidden": "true", text: "▲ "}), "Upvote ", el("span", {class: "q-vote-count"})
    ]);
    vote.addEventListener("click", function () { toggleVote(vote, node.q); });
    actions.appendChild(vote);
    if (role === "author") {
      var claim = el("button", {type: "button", class: "secondary q-claim", "aria-pressed": "false", "aria-describedby": textId(q)});
      claim.addEventListener("click", function () {
        room.run(claim, "claim", {question_id: node.q.id});
      });
      actions.appendChild(claim);
      node.appendChild(answerForm(node));
    } else {
      node.appendChild(followUpForm(node));
    }
    return node;
  }

  function updateCard(node, q) {
    room.fillCard(node, q);
    var votable = (q.state === "queued" || q.state === "live");
    var vote = node.querySelector(".q-vote");
    show(vote, votable);
    vote.disabled = !room.canVote();
    vote.setAttribute("aria-pressed", room.state.myVotes[q.id] ? "true" : "false");
    setText(vote.querySelector(".q-vote-count"), "(" + q.votes + ")");
    var claim = node.querySelector(".q-claim");
    if (claim) {
      var ours = room.claimedByMe(q);
      show(claim, votable);
      claim.setAttribute("aria-pressed", ours ? "true" : "false");
      setText(claim, ours ? "Release our claim" : "We'll take this");
    }
    var answer = node.querySelector(".q-answer-form");
    if (answer) show(answer, votable);
    var followUp = node.querySelector(".q-follow-up");
    if (followUp) {
      show(followUp, q.mine && q.state === "answered" && !!room.state.room && room.state.room.follow_ups_allowed
        && room.canAsk() && !room.hasFollowUp(q));
    }
  }

  function toggleVote(button, q) {
    room.run(button, "vote", {question_id: q.id}).then(function (ack) {
      if (!ack.ok) return;
      if (ack.voted) room.state.myVotes[q.id] = true;
      else delete room.state.myVotes[q.id];
      render(room);
    });
  }

  function answerForm(node) {
    var id = "answer-" + node.q.id;
    var outcomes = room.codes("outcome").map(function (key) {
      return el("label", {class: "check"}, [
        el("input", {type: "radio", name: id + "-outcome", value: key}), " " + room.label("outcome", key)
      ]);
    });
    return detailsForm("q-answer-form", "Record an answer", [
      field("Short written answer (optional)", el("textarea", {id: id + "-text", rows: "3", maxlength: String(MAX_ANSWER)})),
      el("fieldset", {}, [el("legend", {text: "Outcome"})].concat(outcomes))
    ], "Save answer", function (form, submit, fail) {
      var chosen = form.querySelector("input[type=radio]:checked");
      if (!chosen) { fail("Choose an outcome: rebutted, conceded or deferred."); return; }
      var text = form.querySelector("textarea").value.trim();
      room.act("answer", {question_id: node.q.id, text: text, outcome: chosen.value}).then(function (ack) {
        if (!ack.ok) { fail(ack.message || "The answer was not saved."); return; }
        form.reset();
        form.parentNode.open = false;
        room.message("Answer recorded.", "ok");
      });
    }, textId(node.q));
  }

  function followUpForm(node) {
    var id = "follow-up-" + node.q.id;
    return detailsForm("q-follow-up", "Ask a follow-up", [
      field("Your follow-up question", el("textarea", {id: id, rows: "2", maxlength: String(MAX_QUESTION)}))
    ], "Send follow-up", function (form, submit, fail) {
      var text = form.querySelector("textarea").value.trim();
      if (!text) { fail("Write your follow-up first (1–" + MAX_QUESTION + " characters)."); return; }
      room.act("follow_up", {question_id: node.q.id, text: text}).then(function (ack) {
        if (!ack.ok) { fail(ack.message || "The follow-up was not sent."); return; }
        form.reset();
        room.message(sentText(ack), "ok");
      });
    }, textId(node.q));
  }

  function sentText(ack) {
    return ack.state === "pending" ? "Sent. It is awaiting approval by the moderator." : "Sent. It is in the queue.";
  }

  // ------------------------------------------------------------------ asking

  var askForm = hook("ask-form");
  if (askForm) {
    var askText = askForm.querySelector("textarea");
    var askCount = hook("ask-count");
    var askError = hook("ask-error");
    var anonymous = askForm.querySelector("input[name=anonymous]");
    var countChars = function () {
      setText(askCount, askText.value.trim().length + " / " + MAX_QUESTION + " characters");
    };
    var askFail = function (text) {
      setText(askError, text);
      show(askError, !!text);
      askText.setAttribute("aria-invalid", text ? "true" : "false");
    };
    askText.addEventListener("input", countChars);
    askForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = askText.value.trim();
      if (text.length < 1 || text.length > MAX_QUESTION) {
        askFail("Write your question first (1–" + MAX_QUESTION + " characters).");
        askText.focus();
        return;
      }
      askFail("");
      var button = askForm.querySelector("button[type=submit]");
      room.run(button, "ask", {text: text, anonymous: anonymous.checked}).then(function (ack) {
        if (ack.error === "busy") return;
        if (!ack.ok) { askFail(ack.message || "Your question was not sent."); return; }
        askText.value = "";
        countChars();
        room.message(sentText(ack), "ok");
      });
    });
    root.querySelectorAll("[data-push]").forEach(function (button) {
      button.addEventListener("click", function () {
        var fields = {text: button.dataset.push, anonymous: anonymous.checked, from_review: true};
        room.run(button, "ask", fields).then(function (ack) {
          if (!ack.ok) return;
          room.message(sentText(ack), "ok");
          button.dataset.sent = "true";
          setText(button, "Sent");
          button.disabled = true;
          askText.focus();
        });
      });
    });
  }

  function renderAsk() {
    if (!askForm) return;
    var open = room.canAsk();
    var closed = room.state.room && room.state.room.phase === "closed";
    setText(hook("ask-closed"), closed ? "The room is closed: no more questions." : "Questions open when the talk starts.");
    show(hook("ask-closed"), !open && !room.state.muted);
    show(hook("muted-note"), room.state.muted);
    askForm.querySelectorAll("textarea, input, button").forEach(function (control) { control.disabled = !open; });
    root.querySelectorAll("[data-push]").forEach(function (button) {
      button.disabled = !open || button.dataset.sent === "true";
    });
  }

  // ------------------------------------------------------------------ verdict

  var verdictForm = hook("verdict-form");
  if (verdictForm) {
    verdictForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var chosen = verdictForm.querySelector("input[name=verdict]:checked");
      if (!chosen) { room.message("Choose accept, revise or reject first.", "error"); return; }
      room.run(verdictForm.querySelector("button"), "verdict", {verdict: chosen.value}, "Verdict saved.").then(function (ack) {
        if (ack.ok) { room.state.myVerdict = ack.verdict; render(room); }
      });
    });
  }

  function renderVerdict() {
    var s = room.state;
    if (verdictForm) {
      show(hook("verdict-section"), room.canGiveVerdict());
      if (s.myVerdict && !verdictForm.contains(document.activeElement)) {
        var mine = verdictForm.querySelector("input[value='" + s.myVerdict + "']");
        if (mine) mine.checked = true;
      }
      setText(hook("my-verdict"), s.myVerdict ? "Your verdict: " + room.label("verdict", s.myVerdict) + ". You can change it while the poll is open." : "");
    }
    show(hook("verdict-results"), !!s.verdict);
    if (s.verdict) setText(hook("verdict-counts"), room.verdictText(s.verdict));
  }

  // ------------------------------------------------------------------ the page

  function list(name, items) {
    return room.list(name, items, createCard, updateCard);
  }

  function render(r) {
    var live = room.live();
    list("live", live ? [live] : []);
    list("queue", room.queued());
    list("answered", room.questionsIn(["answered"], "answered_at").reverse());
    if (hook("mine")) {
      var mine = room.questionsIn(["pending", "dismissed", "merged"]).filter(function (q) { return q.mine; });
      list("mine", mine);
      show(hook("mine-section"), mine.length > 0);
    }
    renderAsk();
    renderVerdict();
  }
}

start();

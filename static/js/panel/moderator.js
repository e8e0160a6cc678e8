// The moderator console: approve, dismiss, edit, merge, pin, order, set live, answered,
// reopen; phases, timer and room settings; who is in the room, and muting.
import {detailsForm, el, field, setText, show, syncList} from "./dom.js";
import {cardButton, questionCard, textId} from "./render.js";
import {open} from "./room.js";

function start() {
  var root = document.getElementById("panel-room");
  var muted = {};

  var room = open({render: render});
  if (!room) return;
  var limits = room.limits;
  var MAX_QUESTION = limits.question;
  var MAX_REASON = limits.reason;
  var hook = function (name) { return room.hook(name); };

  // Every action on a question carries the version this console showed; a stale one comes
  // back as a conflict, and the console then shows the question as it is now.
  function questionAction(button, event, node, extra, okText) {
    var q = node.q;
    var fields = Object.assign({question_id: q.id, version: q.version}, extra || {});
    return room.run(button, event, fields, okText).then(function (ack) {
      if (!ack.ok && ack.error === "conflict") {
        room.message((ack.message || "Another moderator changed this question first.") +
          " The console now shows it as it is; check it and try again.", "error");
      }
      return ack;
    });
  }

  // ------------------------------------------------------------------ question cards

  // A card keeps three rows: what moves the question on (approve, set live, answered, pin,
  // reopen), the tools that open a form (order, edit, merge), and, apart on a line of its
  // own, what removes a question or silences its asker (dismiss, mute).
  function createCard(q) {
    var node = questionCard(q);
    var actions = node.querySelector(".q-actions");
    var tools = el("div", {class: "q-tools"});
    var danger = el("div", {class: "q-danger", role: "group", "aria-label": "Remove or mute"});
    var id = "mod-" + q.id, about = textId(q);
    actions.appendChild(cardButton(q, "Approve", "q-approve", function (b) { questionAction(b, "approve", node, {}, "Approved."); }));
    actions.appendChild(cardButton(q, "Set live", "q-set-live", function (b) { questionAction(b, "set_live", node, {}, "Now live."); }));
    actions.appendChild(cardButton(q, "Mark answered", "secondary q-answered", function (b) { questionAction(b, "mark_answered", node, {}, "Marked answered."); }));
    actions.appendChild(cardButton(q, "Pin", "secondary q-pin", function (b) {
      questionAction(b, node.q.pinned ? "unpin" : "pin", node, {}, node.q.pinned ? "Unpinned." : "Pinned.");
    }));
    actions.appendChild(cardButton(q, "Reopen", "secondary q-reopen", function (b) { questionAction(b, "reopen", node, {}, "Back in the queue."); }));

    tools.appendChild(detailsForm("q-order", "Order", [
      field("Order among equal votes (lower first)", el("input", {type: "number", id: id + "-rank", step: "any"}))
    ], "Set order", function (form, submit, fail) {
      var rank = parseFloat(form.querySelector("input").value);
      if (isNaN(rank)) { fail("Give the order as a number."); return; }
      questionAction(submit, "reorder", node, {rank: rank}, "Order set.");
    }, about));
    tools.appendChild(detailsForm("q-edit", "Edit", [
      field("Question text", el("textarea", {id: id + "-text", rows: "3", maxlength: String(MAX_QUESTION)}))
    ], "Save text", function (form, submit, fail) {
      var text = form.querySelector("textarea").value.trim();
      if (!text) { fail("The question cannot be empty."); return; }
      questionAction(submit, "edit", node, {text: text}, "Question edited; the original is kept in the audit log.")
        .then(function (ack) { if (ack.ok) form.parentNode.open = false; });
    }, about));
    tools.appendChild(detailsForm("q-merge", "Merge into…", [
      field("Duplicate of", el("select", {id: id + "-into"}))
    ], "Merge", function (form, submit, fail) {
      var into = parseInt(form.querySelector("select").value, 10);
      if (!into) { fail("Choose the question to merge into."); return; }
      questionAction(submit, "merge", node, {into_id: into}, "Merged; the votes carried over.");
    }, about));
    danger.appendChild(detailsForm("q-dismiss", "Dismiss…", [
      field("Reason, shown only to the asker (optional)", el("input", {type: "text", id: id + "-reason", maxlength: String(MAX_REASON)}))
    ], "Dismiss", function (form, submit, fail) {
      questionAction(submit, "dismiss", node, {reason: form.querySelector("input").value.trim()}, "Dismissed.")
        .then(function (ack) { if (ack.ok) form.reset(); });
    }, about));
    if (q.asker_id) {
      danger.appendChild(cardButton(q, "Mute asker", "secondary q-mute", function (b) { mute(b, node.q.asker_id); }));
    }
    node.appendChild(tools);
    node.appendChild(danger);
    return node;
  }

  function updateCard(node, q) {
    room.fillCard(node, q);
    var s = q.state, open = (s === "pending" || s === "queued" || s === "live");
    show(node.querySelector(".q-approve"), s === "pending");
    show(node.querySelector(".q-set-live"), s === "queued");
    show(node.querySelector(".q-answered"), s === "queued" || s === "live");
    var pin = node.querySelector(".q-pin");
    show(pin, s === "queued" || s === "live");
    pin.setAttribute("aria-pressed", q.pinned ? "true" : "false");
    setText(pin, q.pinned ? "Unpin" : "Pin");
    show(node.querySelector(".q-reopen"), s === "answered" || s === "dismissed");
    show(node.querySelector(".q-order"), s === "pending" || s === "queued");
    show(node.querySelector(".q-edit"), open);
    show(node.querySelector(".q-merge"), s === "pending" || s === "queued");
    show(node.querySelector(".q-dismiss"), open);
    var text = node.querySelector(".q-edit textarea");
    if (document.activeElement !== text) text.value = q.text;
    var rank = node.querySelector(".q-order input");
    if (document.activeElement !== rank && q.rank !== null && q.rank !== undefined) rank.value = q.rank;
    fillMergeTargets(node.querySelector(".q-merge select"), q);
    var muteButton = node.querySelector(".q-mute");
    if (muteButton) muteButton.disabled = !!muted[q.asker_id];
  }

  function fillMergeTargets(select, q) {
    if (document.activeElement === select) return;
    var targets = room.questionsIn(["pending", "queued", "live", "answered"]).filter(function (t) { return t.id !== q.id; });
    var chosen = select.value;
    while (select.firstChild) select.removeChild(select.firstChild);
    select.appendChild(el("option", {value: "", text: "Choose a question"}));
    targets.forEach(function (t) {
      var short = t.text.length > 80 ? t.text.slice(0, 77) + "…" : t.text;
      select.appendChild(el("option", {value: String(t.id), text: "#" + t.id + " " + short}));
    });
    select.value = chosen;
  }

  // ------------------------------------------------------------------ people

  function mute(b, userId) {
    room.run(b, "mute", {user_id: userId}, "Muted for the rest of the session.").then(function (ack) {
      if (!ack.ok) return;
      muted[userId] = true;
      render(room);
    });
  }

  function renderPeople() {
    var names = room.state.presenceNames || [];
    syncList(hook("people"), names, function (p) { return p.user_id; }, function (p) {
      var item = el("li", {}, [el("span", {class: "who"}), " "]);
      if (p.role !== "moderator") {
        var b = el("button", {type: "button", class: "secondary person-mute", text: "Mute"});
        b.addEventListener("click", function () { mute(b, item.person.user_id); });
        item.appendChild(b);
      }
      return item;
    }, function (item, p) {
      item.person = p;
      setText(item.querySelector(".who"), p.name + " (" + room.label("role", p.role) + ")");
      var b = item.querySelector(".person-mute");
      if (b) { b.disabled = !!muted[p.user_id]; setText(b, muted[p.user_id] ? "Muted" : "Mute"); }
    });
    show(hook("people-empty"), names.length === 0);
  }

  // ------------------------------------------------------------------ phase, timer, settings

  var minutes = document.getElementById("phase-minutes");
  root.querySelectorAll("[data-set-phase]").forEach(function (b) {
    b.addEventListener("click", function () {
      var fields = {phase: b.dataset.setPhase};
      var m = parseInt(minutes.value, 10);
      if (m > 0) fields.minutes = m;
      room.run(b, "phase", fields, "Phase: " + room.label("phase", b.dataset.setPhase) + ".");
    });
  });

  var extendForm = hook("extend-form");
  extendForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var m = parseInt(extendForm.querySelector("input").value, 10);
    if (!(m >= 1 && m <= limits.extend_minutes)) { room.message("Extend by 1 to " + limits.extend_minutes + " minutes.", "error"); return; }
    room.run(extendForm.querySelector("button"), "extend", {minutes: m}, "Added " + m + " min.");
  });

  root.querySelectorAll("[data-setting]").forEach(function (box) {
    box.addEventListener("change", function () {
      var fields = {};
      fields[box.dataset.setting] = box.checked;
      room.run(box, "settings", fields, "Settings saved.").then(function (ack) {
        if (!ack.ok) box.checked = !box.checked;
      });
    });
  });

  function renderControls() {
    var r = room.state.room;
    if (!r) return;
    root.querySelectorAll("[data-set-phase]").forEach(function (b) {
      b.setAttribute("aria-pressed", b.dataset.setPhase === r.phase ? "true" : "false");
    });
    root.querySelectorAll("[data-setting]").forEach(function (box) {
      if (!box.disabled) box.checked = !!r[box.dataset.setting];
    });
  }

  // ------------------------------------------------------------------ the page

  function list(name, items) {
    return room.list(name, items, createCard, updateCard);
  }

  function render() {
    var live = room.live();
    list("live", live ? [live] : []);
    setText(hook("pending-count"), String(list("pending", room.questionsIn(["pending"])).length));
    list("queue", room.queued());
    list("done", room.questionsIn(["answered", "dismissed", "merged"], "answered_at").reverse());
    renderPeople();
    renderControls();
    setText(hook("verdict-counts"), room.verdictText(room.state.verdict));
  }
}

start();

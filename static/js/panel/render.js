// Drawing what every room page shares: the head (phase, countdown, presence, connection),
// messages and announcements, question cards, verdict counts and lists of questions. These are
// methods of the room (mixed into Room in room.js).
import {badge, el, setText, show, syncList} from "./dom.js";

export function formatRemaining(ms) {
  if (ms <= 0) return "Time is up";
  var s = Math.ceil(ms / 1000), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  var mm = (h > 0 && m < 10 ? "0" : "") + m, ss = (sec < 10 ? "0" : "") + sec;
  return (h > 0 ? h + ":" : "") + mm + ":" + ss;
}

export function askerLabel(q) {
  if (q.mine) return "You";
  return q.asker || "Anonymous";
}

// The id of a question card's text: every control on the card is described by it, so that a
// screen reader says which question "Upvote" or "Approve" acts on.
export function textId(q) {
  return "q-" + q.id + "-text";
}

// The parts every question card shares: text, a line of facts, room for actions.
export function questionCard(q) {
  var node = el("li", {class: "q", id: "q-" + q.id}, [
    el("p", {class: "q-text", id: textId(q)}), el("p", {class: "q-meta"}), el("p", {class: "q-answer-text"}),
    el("div", {class: "q-actions"})
  ]);
  node.q = q;
  return node;
}

// A button of a question card, described by the question's text.
export function cardButton(q, text, cls, onClick) {
  var b = el("button", {type: "button", class: cls || "secondary", text: text, "aria-describedby": textId(q)});
  if (onClick) b.addEventListener("click", function () { onClick(b); });
  return b;
}

export const rendering = {
  findHooks() {
    var root = this.root;
    return {
      phase: root.querySelector("[data-panel-phase]"),
      countdown: root.querySelector("[data-panel-countdown]"),
      presence: root.querySelector("[data-panel-presence]"),
      connection: root.querySelector("[data-panel-connection]"),
      message: root.querySelector("[data-panel-message]"),
      announce: root.querySelector("[data-panel-announce]")
    };
  },

  hook(name) {
    return this.root.querySelector("[data-" + name + "]");
  },

  // Render questions into the list [data-<name>] and toggle its [data-<name>-empty] note.
  list(name, items, create, update) {
    syncList(this.hook(name), items, function (q) { return q.id; }, create, update);
    show(this.hook(name + "-empty"), items.length === 0);
    return items;
  },

  // Fill a question card's shared parts; `asker` shows who asked (never for projector use
  // of anonymous questions, which arrive without a name).
  fillCard(node, q) {
    node.q = q;
    setText(node.querySelector(".q-text"), q.text);
    var meta = node.querySelector(".q-meta");
    while (meta.firstChild) meta.removeChild(meta.firstChild);
    var parts = [
      q.parent_id ? badge("follow-up") : null,
      q.from_review ? badge("from a review") : null,
      q.state === "pending" ? badge(this.label("state", "pending"), "warn") : null,
      q.state === "live" ? badge(this.label("state", "live"), "ok") : null,
      q.state === "queued" && this.isClosed() ? badge("not answered", "warn") : null,
      q.state === "dismissed" || q.state === "merged" ? badge(this.label("state", q.state), "bad") : null,
      q.outcome ? badge(this.label("outcome", q.outcome), "ok") : null,
      q.pinned ? badge("pinned") : null,
      q.anonymous && (q.asker || q.mine) ? badge("anonymous to the class") : null
    ];
    parts.forEach(function (part) { if (part) { meta.appendChild(part); meta.appendChild(document.createTextNode(" ")); } });
    var facts = ["Asked by " + askerLabel(q), q.votes + (q.votes === 1 ? " vote" : " votes")];
    if (q.claimed_by) facts.push((q.state === "answered" ? "Answered by " : "Claimed by ") + q.claimed_by);
    if (q.dismiss_reason) facts.push("Reason: " + q.dismiss_reason);
    meta.appendChild(document.createTextNode(facts.join(" · ")));
    var answer = node.querySelector(".q-answer-text");
    setText(answer, q.answer_text || "");
    show(answer, !!q.answer_text);
    node.classList.toggle("q-live", q.state === "live");
    node.classList.toggle("q-pending", q.state === "pending");
    node.classList.toggle("q-mine", !!q.mine);
  },

  verdictText(counts) {
    var self = this;
    return this.codes("verdict").map(function (key) {
      return self.label("verdict", key) + ": " + ((counts || {})[key] || 0);
    }).join(" · ");
  },

  // ---------------------------------------------------------------- messages

  announce(text) {
    var region = this.hooks.announce;
    if (!region) return;
    region.appendChild(el("p", {text: text}));
    while (region.children.length > 5) region.removeChild(region.firstChild);
  },

  message(text, kind) {
    var box = this.hooks.message;
    if (!box) return;
    box.textContent = text || "";
    box.className = "panel-message" + (kind ? " panel-message-" + kind : "");
  },

  // Announce what a participant would want to hear about, once per change.
  tell(before, q) {
    var wasState = before ? before.state : null;
    if (q.state === wasState || this.options.quiet) return;
    if (q.state === "queued" && (wasState === null || wasState === "pending")) {
      this.announce((q.mine || (before && before.mine) ? "Your question is in the queue: " : "New question in the queue: ") + q.text);
    } else if (q.state === "pending" && wasState === null && this.state.role === "moderator") {
      this.announce("New question awaiting approval: " + q.text);
    } else if (q.state === "live") {
      this.announce("Live question: " + q.text);
    } else if (q.state === "answered") {
      this.announce("Answered" + (q.outcome ? " (" + this.label("outcome", q.outcome) + ")" : "") + ": " + q.text);
    }
  },

  // ---------------------------------------------------------------- the head of every page

  changed(what, detail) {
    this.renderHead();
    if (this.options.render) this.options.render(this, what, detail);
  },

  isClosed() {
    return !!this.state.room && this.state.room.phase === "closed";
  },

  // Once the room is closed, what is left in the queue was not answered: say so.
  renderQueueLabels() {
    var closed = this.isClosed(), labels = this.labels;
    [["queue-heading", "queue"], ["queue-empty", "queue_empty"]].forEach(function (pair) {
      var node = this.hook(pair[0]);
      if (node) setText(node, closed ? (labels[pair[1]] || {}).closed : node.dataset.open);
    }, this);
  },

  renderHead() {
    var s = this.state, h = this.hooks;
    if (s.room) setText(h.phase, this.label("phase", s.room.phase));
    if (s.room) this.renderQueueLabels();
    if (h.presence && s.presence) {
      var self = this;
      setText(h.presence, this.codes("role").map(function (role) {
        var n = s.presence[role] || 0;
        return n + " " + self.label(n === 1 ? "role" : "roles", role);
      }).join(", "));
    }
    this.tick();
  },

  tick() {
    var node = this.hooks.countdown;
    if (!node) return;
    var ms = this.remainingMs();
    setText(node, ms === null ? "—" : formatRemaining(ms));
    node.classList.toggle("panel-overtime", ms !== null && ms <= 0);
  },

  connection(text, ok) {
    var node = this.hooks.connection;
    if (!node) return;
    setText(node, text);
    node.classList.toggle("panel-offline", !ok);
  },

  // Show an action's outcome: the ack's message on failure, `okText` on success.
  report(ack, okText) {
    if (ack.ok) {
      if (okText) this.message(okText, "ok");
    } else {
      this.message(ack.message || "That did not work (" + ack.error + ").", "error");
    }
    return ack.ok;
  }
};

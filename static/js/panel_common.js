// The live panel room's shared client: socket, sequence numbers, reconnect, actions with
// client ids, the server-synced countdown, and small DOM helpers. Each room page script
// (participant, moderator, projector) calls Panel.open() and renders from its state.
// Every piece of text from the server is inserted with textContent, never as HTML.
(function () {
  "use strict";

  var NAMESPACE = "/panel";
  var ACK_TIMEOUT_MS = 8000;
  var MAX_SENDS = 4;

  // ------------------------------------------------------------------ DOM helpers

  // el("button", {type: "button", class: "x", text: "Vote", on: {click: fn}}, [children])
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      var value = attrs[key];
      if (value === null || value === undefined || value === false) return;
      if (key === "text") node.textContent = value;
      else if (key === "class") node.className = value;
      else if (key === "on") Object.keys(value).forEach(function (ev) { node.addEventListener(ev, value[ev]); });
      else node.setAttribute(key, value === true ? "" : value);
    });
    (children || []).forEach(function (child) {
      if (child) node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function setText(node, text) {
    if (node && node.textContent !== text) node.textContent = text;
  }

  function show(node, visible) {
    if (node) node.hidden = !visible;
  }

  // Keep a list's children in step with `items` without rebuilding them: existing nodes are
  // updated in place (focus, open <details> and typed text survive), new ones created, stale
  // ones removed, and nodes moved only when out of order.
  function syncList(list, items, key, create, update) {
    var active = document.activeElement, lostAt = null;
    var existing = {};
    Array.prototype.forEach.call(list.children, function (child) { existing[child.dataset.key] = child; });
    var wanted = {};
    items.forEach(function (item, index) {
      var k = String(key(item));
      wanted[k] = true;
      var node = existing[k];
      if (!node) {
        node = create(item);
        node.dataset.key = k;
      }
      update(node, item);
      var at = list.children[index];
      if (at !== node) list.insertBefore(node, at || null);
    });
    Object.keys(existing).forEach(function (k) {
      if (wanted[k]) return;
      if (existing[k].contains(active)) lostAt = Array.prototype.indexOf.call(list.children, existing[k]);
      list.removeChild(existing[k]);
    });
    // Keyboard users keep their place: a moved card keeps focus, and when the focused card
    // left the list (approved, answered…), focus goes to the card now in its place.
    if (active && active !== document.activeElement && document.contains(active)) active.focus();
    if (lostAt !== null) focusNear(list, lostAt);
  }

  function focusNear(list, index) {
    var card = list.children[Math.min(index, list.children.length - 1)];
    var control = card && card.querySelector("button:not([hidden]):not([disabled]), summary");
    if (!control) {
      control = list;
      list.setAttribute("tabindex", "-1");
    }
    control.focus();
  }

  function field(label, control) {
    return el("div", {class: "field"}, [el("label", {for: control.id, text: label}), control]);
  }

  // A form inside <details>, opened on demand so lists stay short. onSubmit(form, button,
  // fail) runs on submit; fail(text) shows an error inside the form.
  function detailsForm(cls, summary, fields, submitText, onSubmit) {
    var error = el("p", {class: "error", role: "alert", hidden: true});
    var submit = el("button", {type: "submit", class: "secondary", text: submitText});
    var form = el("form", {novalidate: true}, fields.concat([error, submit]));
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      show(error, false);
      onSubmit(form, submit, function (text) { setText(error, text); show(error, true); });
    });
    return el("details", {class: cls}, [el("summary", {text: summary}), form]);
  }

  // ------------------------------------------------------------------ ids and time

  function newCid() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") return window.crypto.randomUUID();
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
  }

  function formatRemaining(ms) {
    if (ms <= 0) return "Time is up";
    var s = Math.ceil(ms / 1000), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    var mm = (h > 0 && m < 10 ? "0" : "") + m, ss = (sec < 10 ? "0" : "") + sec;
    return (h > 0 ? h + ":" : "") + mm + ":" + ss;
  }

  // ------------------------------------------------------------------ question helpers

  function askerLabel(q) {
    if (q.mine) return "You";
    return q.asker || "Anonymous";
  }

  // The parts every question card shares: text, a line of facts, room for actions.
  function questionCard(q) {
    var node = el("li", {class: "q", id: "q-" + q.id}, [
      el("p", {class: "q-text"}), el("p", {class: "q-meta"}), el("p", {class: "q-answer-text"}),
      el("div", {class: "q-actions"})
    ]);
    node.q = q;
    return node;
  }

  function badge(text, kind) {
    return el("span", {class: "badge " + (kind || "muted"), text: text});
  }

  function byTime(field) {
    return function (a, b) { return String(a[field] || "").localeCompare(String(b[field] || "")) || a.id - b.id; };
  }

  // ------------------------------------------------------------------ the room

  function Room(root, options) {
    this.root = root;
    this.options = options || {};
    this.roomId = Number(root.dataset.roomId);
    this.labels = JSON.parse(root.dataset.labels || "{}");
    this.askPhases = (root.dataset.askPhases || "").split(" ");
    this.verdictPhases = (root.dataset.verdictPhases || "").split(" ");
    this.state = {
      role: root.dataset.role, room: null, questions: {}, queue: [], liveId: null, presence: null,
      presenceNames: null, verdict: null, myVotes: {}, myVerdict: null, muted: false
    };
    this.seqs = {};          // what -> seq of the last applied event about it
    this.floor = -1;         // seq of the last snapshot: anything older is already in it
    this.lastSeq = null;     // highest seq seen: sent on re-join
    this.pending = {};       // cid -> action not yet acknowledged
    this.joined = false;
    this.stopped = false;
    this.clockOffset = 0;    // server time - local time, ms
    this.hooks = {
      phase: root.querySelector("[data-panel-phase]"),
      countdown: root.querySelector("[data-panel-countdown]"),
      presence: root.querySelector("[data-panel-presence]"),
      connection: root.querySelector("[data-panel-connection]"),
      message: root.querySelector("[data-panel-message]"),
      announce: root.querySelector("[data-panel-announce]")
    };
  }

  Room.prototype.label = function (group, code) {
    return (this.labels[group] || {})[code] || code || "";
  };

  // An event is applied unless something newer about the same thing was applied already.
  Room.prototype.fresh = function (what, seq) {
    if (typeof seq !== "number") return true;
    if (seq < this.floor || (this.seqs[what] !== undefined && seq < this.seqs[what])) return false;
    this.seqs[what] = seq;
    if (this.lastSeq === null || seq > this.lastSeq) this.lastSeq = seq;
    return true;
  };

  Room.prototype.syncClock = function (serverNow) {
    var t = Date.parse(serverNow);
    if (!isNaN(t)) this.clockOffset = t - Date.now();
  };

  Room.prototype.serverNow = function () {
    return Date.now() + this.clockOffset;
  };

  Room.prototype.remainingMs = function () {
    var room = this.state.room;
    if (!room || !room.phase_ends_at) return null;
    return Date.parse(room.phase_ends_at) - this.serverNow();
  };

  Room.prototype.canAsk = function () {
    var s = this.state;
    return s.role === "critic" && !!s.room && this.askPhases.indexOf(s.room.phase) >= 0 && !s.muted;
  };

  Room.prototype.canVote = function () {
    var s = this.state;
    return !!s.room && s.room.phase !== "closed" && !s.muted;
  };

  Room.prototype.canGiveVerdict = function () {
    var s = this.state;
    return s.role === "critic" && !!s.room && this.verdictPhases.indexOf(s.room.phase) >= 0;
  };

  // Questions in a given state (or states), oldest first.
  Room.prototype.questionsIn = function (states, field) {
    var all = this.state.questions;
    return Object.keys(all).map(function (id) { return all[id]; })
      .filter(function (q) { return states.indexOf(q.state) >= 0; })
      .sort(byTime(field || "created_at"));
  };

  // Queued questions in the server's queue order.
  Room.prototype.queued = function () {
    var all = this.state.questions;
    return this.state.queue.map(function (id) { return all[id]; })
      .filter(function (q) { return q && q.state === "queued"; });
  };

  Room.prototype.live = function () {
    var q = this.state.questions[this.state.liveId];
    return q && q.state === "live" ? q : null;
  };

  Room.prototype.hasFollowUp = function (q) {
    var all = this.state.questions;
    return Object.keys(all).some(function (id) { return all[id].parent_id === q.id && all[id].mine; });
  };

  // Fill a question card's shared parts; `asker` shows who asked (never for projector use
  // of anonymous questions, which arrive without a name).
  Room.prototype.fillCard = function (node, q) {
    node.q = q;
    setText(node.querySelector(".q-text"), q.text);
    var meta = node.querySelector(".q-meta");
    while (meta.firstChild) meta.removeChild(meta.firstChild);
    var parts = [
      q.parent_id ? badge("follow-up") : null,
      q.from_review ? badge("from a review") : null,
      q.state === "pending" ? badge(this.label("state", "pending"), "warn") : null,
      q.state === "live" ? badge(this.label("state", "live"), "ok") : null,
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
  };

  // The codes of a label group in their proper order (phases, outcomes, verdicts, roles).
  Room.prototype.codes = function (group) {
    return (this.labels.order || {})[group] || Object.keys(this.labels[group] || {});
  };

  Room.prototype.verdictText = function (counts) {
    var self = this;
    return this.codes("verdict").map(function (key) {
      return self.label("verdict", key) + ": " + ((counts || {})[key] || 0);
    }).join(" · ");
  };

  Room.prototype.hook = function (name) {
    return this.root.querySelector("[data-" + name + "]");
  };

  // Render questions into the list [data-<name>] and toggle its [data-<name>-empty] note.
  Room.prototype.list = function (name, items, create, update) {
    syncList(this.hook(name), items, function (q) { return q.id; }, create, update);
    show(this.hook(name + "-empty"), items.length === 0);
    return items;
  };

  // ------------------------------------------------------------------ messages

  Room.prototype.announce = function (text) {
    var region = this.hooks.announce;
    if (!region) return;
    region.appendChild(el("p", {text: text}));
    while (region.children.length > 5) region.removeChild(region.firstChild);
  };

  Room.prototype.message = function (text, kind) {
    var box = this.hooks.message;
    if (!box) return;
    box.textContent = text || "";
    box.className = "panel-message" + (kind ? " panel-message-" + kind : "");
  };

  // ------------------------------------------------------------------ events from the server

  Room.prototype.onSnapshot = function (data) {
    var s = this.state, questions = {};
    (data.questions || []).forEach(function (q) { questions[q.id] = q; });
    s.role = data.role || s.role;
    s.room = data.room;
    s.questions = questions;
    s.queue = data.queue || [];
    s.liveId = data.live_id;
    s.presence = data.presence;
    s.presenceNames = data.presence_names || null;
    s.verdict = data.verdict || null;
    s.myVotes = {};
    (data.my_votes || []).forEach(function (id) { s.myVotes[id] = true; });
    s.myVerdict = data.my_verdict || null;
    s.muted = !!data.muted;
    this.seqs = {};
    this.floor = data.seq;
    this.lastSeq = data.seq;
    this.syncClock(data.server_now);
    this.changed("snapshot");
  };

  Room.prototype.onQuestion = function (data) {
    var q = data.question;
    if (!this.fresh("q" + q.id, data.seq)) return;
    var before = this.state.questions[q.id];
    if (before && before.mine && !q.mine) {
      // An audience's copy of one's own question: it stays one's own.
      q.mine = true;
      q.dismiss_reason = before.dismiss_reason;
    }
    this.state.questions[q.id] = q;
    this.applyQueue(data);
    this.noteLive(q);
    this.tell(before, q);
    this.changed("question", q);
  };

  Room.prototype.onRemoved = function (data) {
    if (!this.fresh("q" + data.question_id, data.seq)) return;
    delete this.state.questions[data.question_id];
    if (this.state.liveId === data.question_id) this.state.liveId = null;
    this.applyQueue(data);
    this.changed("question_removed");
  };

  Room.prototype.applyQueue = function (data) {
    if (data.queue && this.fresh("queue", data.seq)) this.state.queue = data.queue;
  };

  Room.prototype.noteLive = function (q) {
    if (q.state === "live") this.state.liveId = q.id;
    else if (this.state.liveId === q.id) this.state.liveId = null;
  };

  // Announce what a participant would want to hear about, once per change.
  Room.prototype.tell = function (before, q) {
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
  };

  Room.prototype.onRoom = function (data) {
    if (!this.fresh("room", data.seq)) return;
    var before = this.state.room;
    this.state.room = data.room;
    this.syncClock(data.server_now);
    if (before && before.phase !== data.room.phase) {
      this.announce("The room is now in phase: " + this.label("phase", data.room.phase));
    }
    this.changed("room");
  };

  Room.prototype.onPresence = function (data) {
    if (!this.fresh("presence", data.seq)) return;
    this.state.presence = data.presence;
    if (data.presence_names) this.state.presenceNames = data.presence_names;
    this.changed("presence");
  };

  Room.prototype.onVerdict = function (data) {
    if (!this.fresh("verdict", data.seq)) return;
    this.state.verdict = data.counts;
    this.changed("verdict");
  };

  Room.prototype.onMyVote = function (data) {
    if (!this.fresh("vote" + data.question_id, data.seq)) return;
    if (data.voted) this.state.myVotes[data.question_id] = true;
    else delete this.state.myVotes[data.question_id];
    this.changed("my_vote");
  };

  Room.prototype.onNotice = function (data) {
    if (data.kind === "muted") this.state.muted = true;
    var text = data.kind === "dismissed" ? "A moderator dismissed your question: " + data.message : data.message;
    this.message(text, "notice");
    this.announce(text);
    this.changed("notice", data);
  };

  Room.prototype.onForcedLogout = function () {
    this.stop("Your session has ended. Log in again to rejoin the room.");
  };

  // ------------------------------------------------------------------ rendering shared by every page

  Room.prototype.changed = function (what, detail) {
    this.renderHead();
    if (this.options.render) this.options.render(this, what, detail);
  };

  Room.prototype.renderHead = function () {
    var s = this.state, h = this.hooks;
    if (s.room) setText(h.phase, this.label("phase", s.room.phase));
    if (h.presence && s.presence) {
      var self = this;
      setText(h.presence, this.codes("role").map(function (role) {
        var n = s.presence[role] || 0;
        return n + " " + self.label(n === 1 ? "role" : "roles", role);
      }).join(", "));
    }
    this.tick();
  };

  Room.prototype.tick = function () {
    var node = this.hooks.countdown;
    if (!node) return;
    var ms = this.remainingMs();
    setText(node, ms === null ? "—" : formatRemaining(ms));
    node.classList.toggle("panel-overtime", ms !== null && ms <= 0);
  };

  Room.prototype.connection = function (text, ok) {
    var node = this.hooks.connection;
    if (!node) return;
    setText(node, text);
    node.classList.toggle("panel-offline", !ok);
  };

  // ------------------------------------------------------------------ the socket

  Room.prototype.connect = function () {
    var self = this;
    // The room is joined in the connect request itself (auth), again on every reconnection,
    // with the last seq seen so that a client already current gets no snapshot.
    var socket = window.io(NAMESPACE, {
      transports: ["websocket", "polling"], tryAllTransports: true,
      auth: function (send) { send(self.joinRequest()); }
    });
    this.socket = socket;
    var handlers = {
      snapshot: this.onSnapshot, joined: this.onJoined, question: this.onQuestion,
      question_removed: this.onRemoved, room: this.onRoom, presence: this.onPresence,
      verdict: this.onVerdict, my_vote: this.onMyVote, notice: this.onNotice,
      forced_logout: this.onForcedLogout
    };
    Object.keys(handlers).forEach(function (event) {
      socket.on(event, function (data) {
        if (self.stopped) return;
        if (data && data.room_id !== undefined && data.room_id !== self.roomId) return;
        handlers[event].call(self, data || {});
      });
    });
    // socket.io hands over the events sent with the connection ("snapshot", "joined") before
    // "connect" itself: by then the room may already be joined.
    socket.on("connect", function () { if (!self.joined) self.connection("Joining…", false); });
    socket.on("disconnect", function (reason) {
      self.joined = false;
      if (self.stopped) return;
      self.connection("Reconnecting…", false);
      // The server closed the socket itself: socket.io does not retry on its own then.
      if (reason === "io server disconnect") window.setTimeout(function () { socket.connect(); }, 1000);
    });
    socket.on("connect_error", function (err) {
      if (self.stopped) return;
      if (socket.active) { self.connection("Reconnecting…", false); return; }
      // Refused by the server (err.message is its reason code): it will not retry.
      if (err && err.message === "unauthorized") { self.onForcedLogout(); return; }
      self.connection("Not in the room", false);
      self.message((err && typeof err.data === "string" && err.data) ||
        "The room refused the connection. Reload the page or log in again.", "error");
    });
    this.ticker = window.setInterval(function () { self.tick(); }, 500);
    return this;
  };

  Room.prototype.joinRequest = function () {
    var request = {room_id: this.roomId};
    if (this.lastSeq !== null) request.last_seq = this.lastSeq;
    return request;
  };

  // In the room: resend every action that has no acknowledgement yet, with its original
  // client id.
  Room.prototype.onJoined = function (ack) {
    this.joined = true;
    this.connection("Connected", true);
    var self = this;
    Object.keys(this.pending).forEach(function (cid) { self.send(cid); });
    if (this.options.joined) this.options.joined(this, ack);
  };

  // Perform an action; resolves with the server's acknowledgement. The same cid is resent
  // after a reconnect or a lost acknowledgement; the server applies it once.
  Room.prototype.act = function (event, fields) {
    var self = this, cid = newCid();
    var payload = Object.assign({room_id: this.roomId, cid: cid}, fields || {});
    return new Promise(function (resolve) {
      self.pending[cid] = {event: event, payload: payload, resolve: resolve, sends: 0};
      if (self.joined) self.send(cid);
    });
  };

  Room.prototype.send = function (cid) {
    var self = this, action = this.pending[cid];
    if (!action || action.inFlight) return;
    action.inFlight = true;
    action.sends += 1;
    this.socket.timeout(ACK_TIMEOUT_MS).emit(action.event, action.payload, function (err, ack) {
      action.inFlight = false;
      if (self.pending[cid] !== action) return;
      if (err) {
        if (action.sends >= MAX_SENDS) {
          self.settle(cid, {ok: false, error: "timeout", message: "No answer from the server. Check your connection and try again."});
        } else if (self.joined) {
          self.send(cid);
        }
        return;
      }
      self.settle(cid, ack || {ok: false, error: "invalid", message: "The server sent an empty answer."});
    });
  };

  Room.prototype.settle = function (cid, ack) {
    var action = this.pending[cid];
    delete this.pending[cid];
    if (ack.ok === false && ack.error === "conflict" && ack.question) {
      // A moderator's stale version: show the question as it is now.
      this.state.questions[ack.question.id] = ack.question;
      this.noteLive(ack.question);
      this.changed("question", ack.question);
    }
    if (ack.ok === false && ack.error === "muted") this.state.muted = true;
    action.resolve(ack);
  };

  Room.prototype.stop = function (text) {
    this.stopped = true;
    this.joined = false;
    if (this.ticker) window.clearInterval(this.ticker);
    if (this.socket) this.socket.disconnect();
    var self = this;
    Object.keys(this.pending).forEach(function (cid) {
      self.settle(cid, {ok: false, error: "unauthorized", message: text});
    });
    this.connection("Disconnected", false);
    this.message(text, "error");
  };

  // ------------------------------------------------------------------ form helpers for pages

  // Show an action's outcome: the ack's message on failure, `okText` on success.
  Room.prototype.report = function (ack, okText) {
    if (ack.ok) {
      if (okText) this.message(okText, "ok");
    } else {
      this.message(ack.message || "That did not work (" + ack.error + ").", "error");
    }
    return ack.ok;
  };

  // Run an action from a control, then report the outcome. The control is marked busy (a
  // second press is ignored) rather than disabled, so keyboard focus stays where it was.
  Room.prototype.run = function (control, event, fields, okText) {
    var self = this;
    if (control && control.getAttribute("aria-busy") === "true") return Promise.resolve({ok: false, error: "busy"});
    if (control) control.setAttribute("aria-busy", "true");
    return this.act(event, fields).then(function (ack) {
      if (control) control.removeAttribute("aria-busy");
      self.report(ack, okText);
      return ack;
    });
  };

  function open(options) {
    var root = document.getElementById("panel-room");
    if (!root || !window.io) return null;
    return new Room(root, options).connect();
  }

  window.Panel = {
    open: open, el: el, setText: setText, show: show, syncList: syncList, askerLabel: askerLabel,
    questionCard: questionCard, field: field, detailsForm: detailsForm, formatRemaining: formatRemaining, newCid: newCid
  };
})();

// The room's state as the server described it: the snapshot, then events applied in seq
// order per thing they are about, and the questions the page asks of that state. Applying an
// event ends with this.changed(...), which the room's rendering provides.

var RECENT = 100;  // events kept for replay over a snapshot

function byTime(field) {
  return function (a, b) { return String(a[field] || "").localeCompare(String(b[field] || "")) || a.id - b.id; };
}

export class Store {
  constructor(root, options) {
    this.root = root;
    this.options = options || {};
    this.roomId = Number(root.dataset.roomId);
    this.userId = Number(root.dataset.userId);
    this.labels = JSON.parse(root.dataset.labels || "{}");
    this.limits = JSON.parse(root.dataset.limits || "{}");
    this.askPhases = (root.dataset.askPhases || "").split(" ");
    this.verdictPhases = (root.dataset.verdictPhases || "").split(" ");
    this.state = {
      role: root.dataset.role, room: null, questions: {}, queue: [], liveId: null, presence: null,
      presenceNames: null, verdict: null, myVotes: {}, myVerdict: null, muted: false
    };
    this.seqs = {};          // what -> seq of the last applied event about it
    this.floor = -1;         // seq of the last snapshot: anything older is already in it
    this.lastSeq = null;     // highest seq seen: sent on re-join
    this.recent = [];        // the latest events applied, replayed over an older snapshot
    this.clockOffset = 0;    // server time - local time, ms
  }

  label(group, code) {
    return (this.labels[group] || {})[code] || code || "";
  }

  // The codes of a label group in their proper order (phases, outcomes, verdicts, roles).
  codes(group) {
    return (this.labels.order || {})[group] || Object.keys(this.labels[group] || {});
  }

  // Keep an event that carries a seq: a snapshot built before it may arrive after it (a
  // catch-up snapshot while the room changes), and the event is then applied again on top.
  remember(handler, data) {
    if (typeof data.seq !== "number") return;
    this.recent.push({handler: handler, data: data});
    if (this.recent.length > RECENT) this.recent.shift();
  }

  // An event is applied unless something newer about the same thing was applied already.
  fresh(what, seq) {
    if (typeof seq !== "number") return true;
    if (seq < this.floor || (this.seqs[what] !== undefined && seq < this.seqs[what])) return false;
    this.seqs[what] = seq;
    if (this.lastSeq === null || seq > this.lastSeq) this.lastSeq = seq;
    return true;
  }

  syncClock(serverNow) {
    var t = Date.parse(serverNow);
    if (!isNaN(t)) this.clockOffset = t - Date.now();
  }

  serverNow() {
    return Date.now() + this.clockOffset;
  }

  remainingMs() {
    var room = this.state.room;
    if (!room || !room.phase_ends_at) return null;
    return Date.parse(room.phase_ends_at) - this.serverNow();
  }

  canAsk() {
    var s = this.state;
    return s.role === "critic" && !!s.room && this.askPhases.indexOf(s.room.phase) >= 0 && !s.muted;
  }

  canVote() {
    var s = this.state;
    return !!s.room && s.room.phase !== "closed" && !s.muted;
  }

  canGiveVerdict() {
    var s = this.state;
    return s.role === "critic" && !!s.room && this.verdictPhases.indexOf(s.room.phase) >= 0;
  }

  // Questions in a given state (or states), oldest first.
  questionsIn(states, field) {
    var all = this.state.questions;
    return Object.keys(all).map(function (id) { return all[id]; })
      .filter(function (q) { return states.indexOf(q.state) >= 0; })
      .sort(byTime(field || "created_at"));
  }

  // Queued questions in the server's queue order.
  queued() {
    var all = this.state.questions;
    return this.state.queue.map(function (id) { return all[id]; })
      .filter(function (q) { return q && q.state === "queued"; });
  }

  live() {
    var q = this.state.questions[this.state.liveId];
    return q && q.state === "live" ? q : null;
  }

  hasFollowUp(q) {
    var all = this.state.questions;
    return Object.keys(all).some(function (id) { return all[id].parent_id === q.id && all[id].mine; });
  }

  // The user's own claim, told by id (display names need not be unique).
  claimedByMe(q) {
    return q.claimed_by_id === this.userId;
  }

  // ---------------------------------------------------------------- events from the server

  onSnapshot(data) {
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
    var later = this.recent.filter(function (e) { return e.data.seq > data.seq; });
    this.recent = [];
    var self = this;
    later.forEach(function (e) { self[e.handler](e.data); });
  }

  onQuestion(data) {
    this.remember("onQuestion", data);
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
  }

  onRemoved(data) {
    this.remember("onRemoved", data);
    if (!this.fresh("q" + data.question_id, data.seq)) return;
    delete this.state.questions[data.question_id];
    if (this.state.liveId === data.question_id) this.state.liveId = null;
    this.applyQueue(data);
    this.changed("question_removed");
  }

  applyQueue(data) {
    if (data.queue && this.fresh("queue", data.seq)) this.state.queue = data.queue;
  }

  noteLive(q) {
    if (q.state === "live") this.state.liveId = q.id;
    else if (this.state.liveId === q.id) this.state.liveId = null;
  }

  onRoom(data) {
    this.remember("onRoom", data);
    if (!this.fresh("room", data.seq)) return;
    var before = this.state.room;
    this.state.room = data.room;
    this.syncClock(data.server_now);
    if (before && before.phase !== data.room.phase) {
      this.announce("The room is now in phase: " + this.label("phase", data.room.phase));
    }
    this.changed("room");
  }

  onPresence(data) {
    this.remember("onPresence", data);
    if (!this.fresh("presence", data.seq)) return;
    this.state.presence = data.presence;
    if (data.presence_names) this.state.presenceNames = data.presence_names;
    this.changed("presence");
  }

  onVerdict(data) {
    this.remember("onVerdict", data);
    if (!this.fresh("verdict", data.seq)) return;
    this.state.verdict = data.counts;
    this.changed("verdict");
  }

  onMyVote(data) {
    this.remember("onMyVote", data);
    if (!this.fresh("vote" + data.question_id, data.seq)) return;
    if (data.voted) this.state.myVotes[data.question_id] = true;
    else delete this.state.myVotes[data.question_id];
    this.changed("my_vote");
  }

  onNotice(data) {
    if (data.kind === "muted") this.state.muted = true;
    var text = data.kind === "dismissed" ? "A moderator dismissed your question: " + data.message : data.message;
    this.message(text, "notice");
    this.announce(text);
    this.changed("notice", data);
  }
}

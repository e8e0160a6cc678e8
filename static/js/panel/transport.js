// The socket: joining the room in the connect request, reconnecting, and actions with client
// ids that are resent until acknowledged (the server applies each cid once). These are methods
// of the room (mixed into Room in room.js).

var NAMESPACE = "/panel";
var ACK_TIMEOUT_MS = 8000;
var MAX_SENDS = 4;

export function newCid() {
  if (window.crypto && typeof window.crypto.randomUUID === "function") return window.crypto.randomUUID();
  var bytes = new Uint8Array(16);
  window.crypto.getRandomValues(bytes);
  return Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
}

export const transport = {
  connect() {
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
  },

  joinRequest() {
    var request = {room_id: this.roomId};
    if (this.lastSeq !== null) request.last_seq = this.lastSeq;
    return request;
  },

  // In the room: resend every action that has no acknowledgement yet, with its original
  // client id.
  onJoined(ack) {
    this.joined = true;
    this.connection("Connected", true);
    var self = this;
    Object.keys(this.pending).forEach(function (cid) { self.send(cid); });
    if (this.options.joined) this.options.joined(this, ack);
  },

  onForcedLogout() {
    this.stop("Your session has ended. Log in again to rejoin the room.");
  },

  // Perform an action; resolves with the server's acknowledgement. The same cid is resent
  // after a reconnect or a lost acknowledgement; the server applies it once.
  act(event, fields) {
    var self = this, cid = newCid();
    var payload = Object.assign({room_id: this.roomId, cid: cid}, fields || {});
    return new Promise(function (resolve) {
      self.pending[cid] = {event: event, payload: payload, resolve: resolve, sends: 0};
      if (self.joined) self.send(cid);
    });
  },

  send(cid) {
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
  },

  settle(cid, ack) {
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
  },

  stop(text) {
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
  },

  // Run an action from a control, then report the outcome. The control is marked busy (a
  // second press is ignored) rather than disabled, so keyboard focus stays where it was.
  run(control, event, fields, okText) {
    var self = this;
    if (control && control.getAttribute("aria-busy") === "true") return Promise.resolve({ok: false, error: "busy"});
    if (control) control.setAttribute("aria-busy", "true");
    return this.act(event, fields).then(function (ack) {
      if (control) control.removeAttribute("aria-busy");
      self.report(ack, okText);
      return ack;
    });
  }
};

// The projector view. It draws only the room's public state, fetched from the page's
// projector.json (built for the whole class, whoever is logged in on the projector); the
// socket just says when something changed. While the room opens it shows how to join; the
// live question is drawn as large as its box allows.
import {setText, show} from "./dom.js";
import {questionCard} from "./render.js";
import {open} from "./room.js";

// The live question never shrinks below this share of the size the stylesheet gives it.
var SMALLEST_FIT = 0.35;

function start() {
  var root = document.getElementById("panel-room");
  var url = root.dataset.stateUrl;
  var joinPhases = (root.dataset.joinPhases || "").split(" ");
  var timer = null;
  var busy = false;
  var again = false;

  var room = open({render: soon, joined: soon, quiet: true});
  if (!room) return;

  function soon() {
    if (timer === null) timer = window.setTimeout(fetchState, 150);
  }

  function fetchState() {
    timer = null;
    if (busy) { again = true; return; }
    busy = true;
    window.fetch(url, {credentials: "same-origin", headers: {Accept: "application/json"}, cache: "no-store"})
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(draw)
      .catch(function () { room.connection("Could not load the room", false); })
      .then(function () {
        busy = false;
        if (again) { again = false; soon(); }
      });
  }

  function createCard(q) {
    return questionCard(q);
  }

  // Shrink the live question's type step by step until its card no longer overflows.
  function fitLive() {
    var text = root.querySelector("[data-live] .q-text");
    if (!text) return;
    text.style.fontSize = "";
    var card = text.parentNode;
    var size = parseFloat(window.getComputedStyle(text).fontSize), smallest = size * SMALLEST_FIT;
    while (card.scrollHeight > card.clientHeight + 1 && size > smallest) {
      size = size * 0.92;
      text.style.fontSize = size + "px";
    }
  }

  function draw(state) {
    room.state.room = state.room;
    room.syncClock(state.server_now);
    room.renderHead();
    var joining = joinPhases.indexOf(state.room.phase) >= 0;
    show(room.hook("join"), joining);
    show(room.hook("live-section"), !joining || !!state.live);
    room.list("live", state.live ? [state.live] : [], createCard, room.fillCard.bind(room));
    room.list("queue", state.queue, createCard, room.fillCard.bind(room));
    show(room.hook("verdict-results"), !!state.verdict);
    if (state.verdict) setText(room.hook("verdict-counts"), room.verdictText(state.verdict));
    fitLive();
  }

  window.addEventListener("resize", fitLive);
  // A projector runs for hours: refresh now and then even if an event was missed.
  window.setInterval(soon, 30000);
  soon();
}

start();

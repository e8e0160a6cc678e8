// Live countdowns for every <span class="countdown" data-deadline="...Z">.
(function () {
  "use strict";
  function fmt(ms) {
    if (ms <= 0) return "passed";
    var s = Math.floor(ms / 1000), d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600),
        m = Math.floor((s % 3600) / 60), sec = s % 60;
    if (d > 0) return d + "d " + h + "h " + m + "m left";
    if (h > 0) return h + "h " + m + "m left";
    return m + "m " + sec + "s left";
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll(".countdown[data-deadline]").forEach(function (el) {
      el.textContent = fmt(Date.parse(el.getAttribute("data-deadline")) - now);
    });
  }
  tick();
  setInterval(tick, 1000);
})();

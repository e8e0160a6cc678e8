// A refused form comes back with one error summary at its top: move focus there, so a keyboard
// or screen-reader user starts from the list of problems, and let each of its links move focus
// into the field it names (a fragment link alone only scrolls).
(function () {
  "use strict";
  var summary = document.querySelector("[data-error-summary]");
  if (!summary) return;
  summary.focus();
  summary.addEventListener("click", function (event) {
    var link = event.target.closest("a[href^='#']");
    if (!link) return;
    var target = document.getElementById(decodeURIComponent(link.getAttribute("href").slice(1)));
    if (!target) return;
    event.preventDefault();
    var label = target.labels && target.labels[0];
    (label || target).scrollIntoView({ block: "center" });
    target.focus({ preventScroll: true });
  });
})();

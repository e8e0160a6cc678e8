// A new course starts in the creator's own time zone: fill every
// <input data-browser-zone="fill"> still showing the server's default with the
// browser's IANA zone, when the page's zone list knows it. Without script the
// server's default (UTC) stays, and the field can be changed before saving.
(function () {
  "use strict";
  var browserZone;
  try {
    browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch (e) {
    return;
  }
  if (!browserZone) return;
  document.querySelectorAll('input[data-browser-zone="fill"]').forEach(function (input) {
    if (input.value && input.value !== "UTC") return;
    var list = input.list;
    if (list && !list.querySelector('option[value="' + CSS.escape(browserZone) + '"]')) return;
    input.value = browserZone;
  });
})();

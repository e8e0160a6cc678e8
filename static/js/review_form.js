// Review form: autosave the draft as JSON a few seconds after a change and when a field
// loses focus, and say so in the polite live region. The "Save draft" button works without it.
// Focus moving to one of the form's own buttons saves nothing: the button's submit carries the
// fields, and a draft saved beside it could land after the submission and be refused.
(function () {
  "use strict";
  var form = document.getElementById("review-form");
  if (!form || form.getAttribute("data-autosave") !== "on") return;
  var status = document.getElementById("draft-status");
  var tokenMeta = document.querySelector('meta[name="csrf-token"]');
  var url = form.getAttribute("data-draft-url");
  var DELAY_MS = 4000;
  var dirty = false, saving = false, stopped = false, pressing = false, timer = null;

  function say(text) { if (status) status.textContent = text; }

  function payload() {
    var data = {};
    new FormData(form).forEach(function (value, key) {
      if (key !== "action" && typeof value === "string") data[key] = value;
    });
    return data;
  }

  function save() {
    if (!dirty || saving || stopped) return;
    dirty = false;
    saving = true;
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-CSRFToken": tokenMeta ? tokenMeta.getAttribute("content") : ""
      },
      body: JSON.stringify(payload())
    }).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (body) {
        if (resp.ok) { say(body.message || "Draft saved."); return; }
        dirty = true;
        if (resp.status === 403 || resp.status === 409) stopped = true;
        say("Draft not saved: " + (body.message || "the server refused it (" + resp.status + ")."));
      });
    }).catch(function () {
      dirty = true;
      say("Draft not saved: no connection. It will be retried; you can also use “Save draft”.");
    }).then(function () {
      saving = false;
      if (dirty && !stopped) schedule();
    });
  }

  function schedule() {
    if (timer) clearTimeout(timer);
    timer = setTimeout(save, DELAY_MS);
  }

  function changed() { dirty = true; schedule(); }

  form.addEventListener("input", changed);
  form.addEventListener("change", changed);
  function isOwnButton(el) { return !!el && el.form === form && el.type === "submit"; }

  form.addEventListener("pointerdown", function (event) { if (isOwnButton(event.target.closest("button"))) pressing = true; });
  document.addEventListener("pointerup", function () { pressing = false; });
  document.addEventListener("pointercancel", function () { pressing = false; });
  form.addEventListener("focusout", function (event) {
    if (!dirty || pressing || isOwnButton(event.relatedTarget)) return;
    save();
  });
  form.addEventListener("submit", function () { stopped = true; if (timer) clearTimeout(timer); });
})();

// Small DOM helpers of the live room pages. Every piece of text from the server is inserted
// with textContent, never as HTML.

// el("button", {type: "button", class: "x", text: "Vote", on: {click: fn}}, [children])
export function el(tag, attrs, children) {
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

export function setText(node, text) {
  if (node && node.textContent !== text) node.textContent = text;
}

export function show(node, visible) {
  if (node) node.hidden = !visible;
}

export function badge(text, kind) {
  return el("span", {class: "badge " + (kind || "muted"), text: text});
}

// Keep a list's children in step with `items` without rebuilding them: existing nodes are
// updated in place (focus, open <details> and typed text survive), new ones created, stale
// ones removed, and nodes moved only when out of order.
export function syncList(list, items, key, create, update) {
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

export function field(label, control) {
  return el("div", {class: "field"}, [el("label", {for: control.id, text: label}), control]);
}

// A form inside <details>, opened on demand so lists stay short. onSubmit(form, button,
// fail) runs on submit; fail(text) shows an error inside the form. `describedBy` names the
// element (a question's text) that the summary and the submit button act on.
export function detailsForm(cls, summary, fields, submitText, onSubmit, describedBy) {
  var error = el("p", {class: "error", role: "alert", hidden: true});
  var submit = el("button", {type: "submit", class: "secondary", text: submitText, "aria-describedby": describedBy});
  var form = el("form", {novalidate: true}, fields.concat([error, submit]));
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    show(error, false);
    onSubmit(form, submit, function (text) { setText(error, text); show(error, true); });
  });
  return el("details", {class: cls}, [el("summary", {text: summary, "aria-describedby": describedBy}), form]);
}

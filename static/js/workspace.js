// The pass screen, from the keyboard: j/k move between triggers; the selected row's buttons answer to their
// data-key (y keep, x remove, r restore, K/J move, e edit), page-wide controls to data-gkey (a add, z undo,
// s submit, n next, S skip); + - 0 zoom the image (drag to pan, wheel to zoom). "?" lists them (app.js).
(function () {
  "use strict";
  var index = 0, selectedId = null;
  function typing(e) {
    var t = e.target;
    return t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
  }
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("#work .work-list > li.trigger")); }
  function select(i) {
    var all = rows();
    if (!all.length) { return; }
    index = Math.max(0, Math.min(all.length - 1, i));
    all.forEach(function (r) { r.classList.remove("selected"); });
    all[index].classList.add("selected");
    selectedId = all[index].getAttribute("data-id");
    all[index].scrollIntoView({ block: "nearest" });
  }
  function reselect() {
    var all = rows(), i = all.findIndex(function (r) { return r.getAttribute("data-id") === selectedId; });
    select(i >= 0 ? i : index);
  }
  function current() { return rows()[index]; }
  function reveal(form) {
    if (!form) { return; }
    form.hidden = false;
    var input = form.querySelector("input[type=text]");
    if (input) { input.focus(); input.setSelectionRange(input.value.length, input.value.length); }
  }
  function hideForms() {
    document.querySelectorAll("#work form.edit, #work form.reason").forEach(function (f) { f.hidden = true; });
  }

  // zoom and pan
  var zoom = { s: 1, x: 0, y: 0 }, drag = null;
  function img() { return document.querySelector(".zoom-stage img"); }
  function applyZoom() {
    var i = img(); if (!i) { return; }
    if (zoom.s <= 1) { zoom.s = 1; zoom.x = 0; zoom.y = 0; }
    i.style.transform = "translate(" + zoom.x + "px," + zoom.y + "px) scale(" + zoom.s + ")";
    i.parentNode.setAttribute("data-zoom", zoom.s.toFixed(2));
  }
  function zoomBy(f) { zoom.s = Math.max(1, Math.min(8, zoom.s * f)); applyZoom(); }
  document.addEventListener("wheel", function (e) {
    if (!e.target.closest || !e.target.closest(".zoom-stage")) { return; }
    e.preventDefault(); zoomBy(e.deltaY < 0 ? 1.2 : 1 / 1.2);
  }, { passive: false });
  document.addEventListener("mousedown", function (e) {
    if (e.target.closest && e.target.closest(".zoom-stage")) { drag = { x: e.clientX - zoom.x, y: e.clientY - zoom.y }; e.preventDefault(); }
  });
  document.addEventListener("mousemove", function (e) {
    if (drag && zoom.s > 1) { zoom.x = e.clientX - drag.x; zoom.y = e.clientY - drag.y; applyZoom(); }
  });
  document.addEventListener("mouseup", function () { drag = null; });

  document.addEventListener("keydown", function (e) {
    if (typing(e)) {
      if (e.key === "Escape") { hideForms(); e.target.blur(); }
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey || !document.getElementById("work")) { return; }
    var key = e.key, row = current(), el;
    if (key === "j" || key === "ArrowDown") { select(index + 1); e.preventDefault(); return; }
    if (key === "k" || key === "ArrowUp") { select(index - 1); e.preventDefault(); return; }
    if (key === "+" || key === "=") { zoomBy(1.25); return; }
    if (key === "-") { zoomBy(0.8); return; }
    if (key === "0") { zoom.s = 1; applyZoom(); return; }
    if (key === "h") { el = document.getElementById("home"); if (el) { el.click(); } return; }
    if (row && key === "e") { e.preventDefault(); reveal(row.querySelector("form.edit")); return; }
    if (row && key === "X") { e.preventDefault(); reveal(row.querySelector("form.reason")); return; }
    el = row && row.querySelector('[data-key="' + key + '"]');
    if (!el) { el = document.querySelector('#work [data-gkey="' + key + '"]'); }
    if (!el) { return; }
    e.preventDefault();
    if (el.tagName === "INPUT") { el.focus(); } else { el.click(); }
  });
  document.addEventListener("htmx:afterSettle", reselect);
  document.addEventListener("DOMContentLoaded", function () { select(0); applyZoom(); });
})();

// Keyboard shortcuts shared by every page: "?" toggles the help overlay; pages list theirs in it.
// A request the server could not complete (503: the database is not answering) shows its message in
// #unavailable, the form stays as it was, and "Retry" sends the same request again.
(function () {
  "use strict";
  var failed = null;
  function box() { return document.getElementById("unavailable"); }
  document.addEventListener("htmx:beforeSwap", function (e) {
    if (e.detail.xhr.status === 503) {
      var cfg = e.detail.requestConfig || {};
      failed = { elt: cfg.elt, verb: cfg.verb, path: cfg.path, event: cfg.triggeringEvent && cfg.triggeringEvent.type };
    }
  });
  document.addEventListener("htmx:afterRequest", function (e) {
    var b = box();
    if (b && e.detail.successful && e.detail.xhr.status !== 503 && failed && e.detail.elt === failed.elt) {
      b.innerHTML = ""; failed = null;
    }
  });
  document.addEventListener("click", function (e) {
    var t = e.target.closest && e.target.closest("#unavailable [data-retry], #unavailable [data-dismiss-unavailable]");
    if (!t) { return; }
    var f = failed, b = box();
    if (t.hasAttribute("data-dismiss-unavailable") || !f) { b.innerHTML = ""; failed = null; return; }
    if (f.elt && document.body.contains(f.elt)) {
      if (f.elt.tagName === "FORM" || f.event === "submit") { htmx.trigger(f.elt.closest("form") || f.elt, "submit"); }
      else { htmx.ajax(f.verb.toUpperCase(), f.path, { source: f.elt }); }
    } else {
      window.location.reload();
    }
  });
})();
(function () {
  "use strict";
  function typing(e) {
    var t = e.target;
    return t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
  }
  function go(id) { var a = document.getElementById(id); if (a) { a.click(); } }
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("[data-keynav] tbody tr[data-href]")); }
  function move(step) {
    var all = rows(); if (!all.length) { return; }
    var i = all.findIndex(function (r) { return r.classList.contains("selected"); });
    if (i >= 0) { all[i].classList.remove("selected"); }
    i = Math.max(0, Math.min(all.length - 1, i + step));
    all[i].classList.add("selected");
    all[i].scrollIntoView({ block: "nearest" });
  }
  // the top bar's "? Shortcuts" button, the overlay's close button and a click beside its card toggle it too
  document.addEventListener("click", function (e) {
    var t = e.target.closest && e.target.closest("[data-help-toggle]");
    var help = document.getElementById("help");
    if (!t || !help || (t === help && e.target !== help)) { return; }
    help.hidden = t === help ? true : !help.hidden;
  });
  document.addEventListener("keydown", function (e) {
    if (typing(e) || e.ctrlKey || e.metaKey || e.altKey) { return; }
    var help = document.getElementById("help");
    if (e.key === "?") { help.hidden = !help.hidden; return; }
    if (e.key === "Escape") { help.hidden = true; return; }
    var table = rows().length > 0;
    if (e.key === "j" || e.key === "ArrowRight") { if (table && e.key === "j") { move(1); } else { go("next"); } }
    else if (e.key === "k" || e.key === "ArrowLeft") { if (table && e.key === "k") { move(-1); } else { go("prev"); } }
    else if (e.key === "Enter" && table) {
      var sel = document.querySelector("[data-keynav] tr.selected");
      if (sel) { window.location.href = sel.getAttribute("data-href"); }
    }
    else if (e.key === "u") { go("up"); }
    else if (e.key === "n") { var b = document.querySelector("[data-next]"); if (b) { b.click(); } }
    else if (e.key === "e") { go("export-zip"); }
  });
})();

// Review pages, from the keyboard. My reviews: n rates the next sample. The rating screen: 0-5 choose the rating,
// t writes a note, Enter submits (Shift+Enter is a new line in the note); once rated, Enter or n opens the next
// sample; h goes back to my reviews. "?" lists them (app.js). Also: selects marked data-autosubmit submit their form
// on change (no inline handlers: the CSP allows only these files).
(function () {
  "use strict";
  document.addEventListener("change", function (e) {
    if (e.target.matches && e.target.matches("select[data-autosubmit]")) { e.target.form.submit(); }
  });
  function form() { return document.getElementById("rate-form"); }
  function submit(f) {
    if (!f.querySelector("input[name=score]:checked")) {
      var first = f.querySelector("input[name=score]"); if (first) { first.reportValidity(); }
      return;
    }
    if (f.requestSubmit) { f.requestSubmit(); } else { f.submit(); }
  }
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) { return; }
    var queue = document.getElementById("review-queue");
    if (queue && e.key === "n" && !/^(INPUT|TEXTAREA|SELECT)$/.test(e.target.tagName)) {
      var b = queue.querySelector("[data-review-next]"); if (b) { b.click(); }
      return;
    }
    if (!document.getElementById("review")) { return; }
    var f = form(), t = e.target, inNote = t && t.tagName === "TEXTAREA";
    if (inNote || (t && /^(INPUT|SELECT)$/.test(t.tagName) && t.type !== "radio")) {
      if (e.key === "Escape") { t.blur(); return; }
      if (e.key === "Enter" && !e.shiftKey && f && inNote) { e.preventDefault(); submit(f); }
      return;
    }
    if (f && /^[0-5]$/.test(e.key)) {
      var radio = f.querySelector('input[name=score][value="' + e.key + '"]');
      if (radio) { radio.checked = true; radio.closest("label").scrollIntoView({ block: "nearest" }); e.preventDefault(); }
      return;
    }
    if (f && e.key === "t") { e.preventDefault(); f.querySelector("textarea").focus(); return; }
    if (e.key === "Enter") {
      e.preventDefault();
      if (f) { submit(f); } else { var n = document.getElementById("next"); if (n) { n.click(); } }
      return;
    }
    if (e.key === "n") { var nx = document.getElementById("next"); if (nx) { nx.click(); } return; }
    if (e.key === "h") { var h = document.getElementById("home"); if (h) { h.click(); } }
  });
})();

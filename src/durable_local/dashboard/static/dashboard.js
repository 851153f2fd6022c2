// Durable dashboard: the few behaviours htmx does not cover. No build step, no inline script (the page's
// Content-Security-Policy allows scripts from this server only).
(function () {
  "use strict";

  // Validate JSON fields before anything is sent: a form with a [data-json] field that does not parse is
  // not submitted, and the reason shows next to it.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var form = event.detail.elt;
    if (!form || form.tagName !== "FORM") { return; }
    var field = form.querySelector("[data-json]");
    var message = form.querySelector(".json-error");
    if (!field) { return; }
    var text = field.value.trim();
    if (text === "") { if (message) { message.textContent = ""; } return; }
    try {
      JSON.parse(text);
      if (message) { message.textContent = ""; }
    } catch (error) {
      event.preventDefault();
      if (message) { message.textContent = "Not valid JSON (" + error.message + "). Nothing was sent."; }
      field.setAttribute("aria-invalid", "true");
      field.focus();
    }
  });

  // Cancel buttons of confirmation panels empty the panel and give focus back to the page.
  document.addEventListener("click", function (event) {
    var target = event.target;
    if (target instanceof Element && target.matches("[data-cancel]")) {
      var panel = target.closest("#action-panel");
      if (panel) { panel.innerHTML = ""; }
    }
  });

  // After a confirmation panel loads, move the keyboard focus into it. On settle, not on swap: htmx wires up
  // the swapped-in form only when it settles, and a form focused before that would be submitted by the
  // browser itself (a plain GET of the page, the action never sent) if Enter came first.
  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail.target;
    if (target && target.id === "action-panel") {
      var first = target.querySelector("input, textarea, button");
      if (first) { first.focus(); }
    }
  });

  // "/" focuses the free-text filter; Escape closes a confirmation panel.
  document.addEventListener("keydown", function (event) {
    var active = document.activeElement;
    var typing = active && (active.tagName === "INPUT" || active.tagName === "TEXTAREA" || active.tagName === "SELECT");
    if (event.key === "/" && !typing) {
      var q = document.getElementById("q");
      if (q) { event.preventDefault(); q.focus(); }
    } else if (event.key === "Escape") {
      var panel = document.getElementById("action-panel");
      if (panel && panel.innerHTML.trim() !== "") { panel.innerHTML = ""; }
    }
  });
})();

// GIL lab glue: when a measurement panel's request fails (busy lab, timeout, no server),
// say so in the panel instead of leaving "Measuring…" on screen forever.
(function () {
  function explain(event) {
    var target = event.detail.target;
    if (!target || !target.id || target.id.indexOf("-panel") < 0) { return; }
    var xhr = event.detail.xhr;
    var text = "The measurement could not run";
    if (xhr && xhr.status === 429) {
      text = "The lab is busy with other measurements; try again in " +
        (xhr.getResponseHeader("Retry-After") || "a few") + " s";
    } else if (xhr && xhr.status) {
      text += " (HTTP " + xhr.status + ")";
    }
    var message = document.createElement("p");
    message.className = "note panel-error";
    message.setAttribute("role", "alert");
    message.textContent = text + ". ";
    var again = document.createElement("a");
    again.href = event.detail.pathInfo ? event.detail.pathInfo.requestPath : window.location.href;
    again.textContent = "Open it on its own page";
    message.appendChild(again);
    var old = target.querySelector(".panel-error");
    if (old) { old.remove(); }
    target.prepend(message);
  }
  document.addEventListener("htmx:responseError", explain);
  document.addEventListener("htmx:sendError", explain);
})();

// /sim and /explore glue: keyboard shortcuts, the copy-link button, the address bar while a run
// plays over SSE, the scrubber's live label, and a readable line when a fragment request fails. The server computes every state; this file only clicks
// the links it rendered and reads the permalink it put on #stage.
(function () {
  "use strict";

  function click(id) {
    var target = document.getElementById(id);
    if (target && target.tagName === "A") {
      target.click();
      return true;
    }
    return false;
  }

  var KEYS = {
    ArrowRight: "go-next",
    ArrowLeft: "go-prev",
    Home: "go-first",
    End: "go-last",
    " ": "play-toggle",
    a: "choose-A",
    A: "choose-A",
    b: "choose-B",
    B: "choose-B",
    1: "predict-choice-1", // predict mode's answers
    2: "predict-choice-2",
    3: "predict-choice-3"
  };

  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey || event.defaultPrevented) return;
    var focused = event.target;
    // Form fields keep their own keys (the scrubber's arrows, typing in selects).
    if (focused && focused.closest && focused.closest("input, select, textarea, button, [contenteditable]")) return;
    var id = KEYS[event.key];
    if (!id || !document.getElementById("stage")) return;
    if (inFlight) {
      // The links on the page are about to be replaced: clicking one now would send the
      // step just requested again (and cancel it). Keep the key for when the swap settles.
      if (queued.length < 20) queued.push(id);
      event.preventDefault();
      return;
    }
    if (click(id)) event.preventDefault();
  });

  // Keys pressed while a step is on its way are replayed, in order, once it has settled.
  var inFlight = false;
  var queued = [];
  function insideSim(element) {
    return !!(element && element.closest && element.closest("#sim"));
  }
  function replayQueued() {
    window.clearTimeout(stuck);
    inFlight = false;
    while (queued.length && !inFlight) {
      click(queued.shift());
    }
  }
  var stuck = null;
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (!insideSim(event.detail.elt)) return;
    inFlight = true;
    // Never hold the keyboard hostage: should no swap ever settle, let keys through again.
    window.clearTimeout(stuck);
    stuck = window.setTimeout(replayQueued, 4000);
  });
  document.addEventListener("htmx:afterSettle", function () {
    if (inFlight) window.setTimeout(replayQueued, 0); // after the out-of-band panels settle too
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    if (insideSim(event.detail.elt) && !event.detail.successful) {
      queued = [];
      inFlight = false;
    }
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-copy-url]");
    if (!button) return;
    var note = document.getElementById("copied");
    var url = window.location.href;
    function done(text) { if (note) note.textContent = text; }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(url).then(
        function () { done("Link copied."); },
        function () { done(url); }
      );
    } else {
      done(url); // no clipboard outside https/localhost: show the link to copy by hand
    }
  });

  // Pause must win over steps already on their way: the moment Play/Pause sends its request,
  // close the player's EventSource, so no step that was in flight lands after the pause
  // (a detached player would still swap #stage, and the address bar would lag behind it).
  // htmx may arrive after this file (static/js/loader.js adds it once the page has loaded).
  var streams = [];
  function trackStreams() {
    if (!window.htmx || !window.htmx.createEventSource || window.htmx.createEventSource.tracked) return;
    var createEventSource = window.htmx.createEventSource;
    window.htmx.createEventSource = function (url) {
      var source = createEventSource(url);
      streams.push(source);
      return source;
    };
    window.htmx.createEventSource.tracked = true;
  }
  trackStreams();
  document.addEventListener("gillab:scripts-loaded", trackStreams);
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (event.detail.elt && event.detail.elt.id === "play-toggle") {
      streams.forEach(function (source) { source.close(); });
      streams = [];
    }
  });

  // While playing, each SSE step swaps #stage in; keep the address bar on its permalink
  // (replace, not push: one history entry per play, not one per step).
  document.addEventListener("htmx:sseMessage", function () {
    var stage = document.getElementById("stage");
    if (stage && stage.dataset.permalink) {
      window.history.replaceState(null, "", stage.dataset.permalink);
    }
  });

  // A link with a seed or without a schedule still shows one exact run: put its canonical
  // permalink in the address bar, so "copy link" and bookmarks name the whole schedule.
  function canonicalise() {
    var stage = document.getElementById("stage");
    var here = window.location.pathname + window.location.search;
    if (stage && stage.dataset.permalink && stage.dataset.permalink !== here) {
      window.history.replaceState(null, "", stage.dataset.permalink);
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", canonicalise);
  } else {
    canonicalise();
  }

  // htmx leaves the old content in place on a 4xx/5xx; say so where the result would have gone.
  document.addEventListener("htmx:responseError", function (event) {
    var target = event.detail.target;
    var xhr = event.detail.xhr;
    if (!target || !xhr) return;
    var text = xhr.status === 429
      ? "The server is busy counting for others; try again in a few seconds."
      : "That request failed (" + xhr.status + "). Reload the page to try again.";
    var line = document.createElement("p");
    line.className = "request-error";
    line.setAttribute("role", "alert");
    line.textContent = text;
    target.prepend(line);
  });

  document.addEventListener("input", function (event) {
    if (event.target.id !== "scrub") return;
    var out = document.getElementById("scrub-out");
    if (out) out.textContent = event.target.value;
  });
})();

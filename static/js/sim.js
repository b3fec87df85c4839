// /sim and /explore glue: keyboard shortcuts, the copy-link button, the address bar (as a run
// steps and plays), the next steps fetched ahead, the "morph" swap, the scrubber's live label,
// and a readable line when a fragment request fails. The server computes every state; this
// file only clicks the links it rendered (or swaps in what one of them answered, fetched
// ahead) and reads the permalink it put on #stage.
(function () {
  "use strict";

  function click(target) {
    if (target && target.tagName === "A" && target.getAttribute("aria-disabled") !== "true") {
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
    B: "choose-B"
  };

  // What a key clicks on the page as it is now: a control named in the legend, or predict
  // mode's answer whose key (shown on it) is this digit.
  function targetOf(key) {
    if (/^[0-9]$/.test(key)) {
      return document.querySelector('.predict-choice[aria-keyshortcuts="' + key + '"]');
    }
    return KEYS[key] ? document.getElementById(KEYS[key]) : null;
  }

  // Only a text field keeps the legend's keys (and any control keeps Space and Enter, which
  // press it). A picker keeps its ↑ ↓ but not ← → or letters, which would change the run.
  function keepsKey(element, key) {
    if (!element || !element.closest) return false;
    if (element.closest("textarea, [contenteditable]")) return true;
    var input = element.closest("input");
    if (input && !/^(range|checkbox|radio|button|submit|reset)$/.test(input.type)) return true;
    if (input && input.type === "range") return key !== "a" && key !== "A" && key !== "b" && key !== "B";
    if (key === " " || key === "Enter") return !!element.closest("button, a, select, input, summary");
    return false;
  }

  // Keys are applied one at a time, in the order they were pressed: each waits until the step
  // before it has been swapped in, since the links it clicks are those of the new step.
  var queued = [];
  var pending = null; // the step on its way, if any: htmx's request, or one fetched ahead
  var stuck = null;

  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey || event.defaultPrevented) return;
    if (!document.getElementById("stage") || keepsKey(event.target, event.key)) return;
    if (!/^[0-9]$/.test(event.key) && !KEYS[event.key]) return;
    event.preventDefault(); // a focused picker must not change the run, nor Space scroll
    if (queued.length < 40) queued.push(event.key);
    pump();
  });

  function pump() {
    while (queued.length && !pending) {
      var target = targetOf(queued.shift());
      if (!applyAhead(target)) click(target); // a disabled or missing control: nothing happens
    }
  }
  function settled() {
    window.clearTimeout(stuck);
    pending = null;
    pump();
  }
  function insideSim(element) {
    return !!(element && element.closest && element.closest("#sim"));
  }
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (!insideSim(event.detail.elt)) return;
    pending = event.detail.xhr;
    watch();
  });
  // A key waits for the step before it however slow the server is (it is never applied to a
  // page that has not caught up with the keys before it). But never hold the keyboard hostage:
  // should an answer that came never be swapped in, let keys through again after 4 s, dropping
  // those queued, which were meant for the step that never showed.
  function watch() {
    window.clearTimeout(stuck);
    stuck = window.setTimeout(function () {
      if (!pending) return;
      var onItsWay = pending instanceof XMLHttpRequest ? pending.readyState !== 4 : !pending.done;
      if (onItsWay) return watch();
      queued = [];
      settled();
    }, 4000);
  }
  // One swap settles several elements (the stage and the panels out of band), each with its
  // own afterSettle: only the first for the pending request moves the queue on.
  document.addEventListener("htmx:afterSettle", function (event) {
    var request = event.detail.xhr;
    if (!pending || request !== pending) return;
    var pushed = request.getResponseHeader("HX-Push-Url") || request.getResponseHeader("HX-Replace-Url");
    if (event.detail.elt && event.detail.elt.id === "stage" && !pushed) pushShown();
    // After the other settle events of this swap; the queue may have moved on by then.
    window.setTimeout(function () { if (pending === request) settled(); }, 0);
  });
  // The server names the address of a new run or state (htmx pushes it); for a step of the same
  // run it leaves the address to this file, which pushes the permalink on #stage once the step
  // has been drawn, so the browser's history call does not delay the step.
  function pushShown() {
    var url = shownNow();
    if (!url) return;
    window.requestAnimationFrame(function () {
      window.setTimeout(function () {
        if (url !== window.location.pathname + window.location.search) {
          window.history.pushState({ htmx: true }, "", url); // htmx restores it on back/forward
          // As htmx says of its own pushes: a live class's page watches its frame by it.
          if (window.htmx) window.htmx.trigger(document.body, "htmx:pushedIntoHistory", { path: url });
        }
      }, 0);
    });
  }
  document.addEventListener("htmx:afterRequest", function (event) {
    if (pending && event.detail.xhr === pending && !event.detail.successful) {
      queued = [];
      settled();
    }
  });

  function copy(text, note, copied) {
    function done(message) { if (note) note.textContent = message; }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(
        function () { done(copied); },
        function () { done(text); }
      );
    } else {
      done(text); // no clipboard outside https/localhost: show it to copy by hand
    }
  }
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("[data-copy-url]");
    if (link) copy(window.location.href, document.getElementById("copied"), "Link copied.");
  });

  // A step must win over a play: the moment any control of the simulator sends its request
  // (Pause, a step, a picker), close the player's EventSource, so no played step lands after it.
  // A step's answer carries only what changed since the state the page showed when it was
  // sent, so a played step landing in between would leave the page half at another step (and
  // a detached player would still swap #stage, and the address bar would lag behind it).
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
  // htmx copies the old class, style, width and height onto each swapped element with an id,
  // and back when it settles, so CSS can transition them. Nothing here transitions on those
  // (a cell keeps its element, the rc flash is an animation), and that copying, a query of the
  // whole simulator per id, was a good part of a step's swap at n = 30.
  function configure() {
    if (window.htmx) window.htmx.config.attributesToSettle = [];
    trackStreams();
    defineMorph();
  }
  // hx-swap "morph": a step keeps the page's elements and changes only what differs (idiomorph),
  // instead of replacing the stage and the controls: far less for the browser to clean up,
  // style and lay out, and the focus stays on the control that had it. Only "morph" is claimed:
  // every other swap style (the narration's text, the log's added entries) stays htmx's own.
  // Without idiomorph (a copy that failed to load) the part is replaced, as htmx would.
  function defineMorph() {
    if (!window.htmx || defineMorph.done) return;
    defineMorph.done = true;
    window.htmx.defineExtension("morph", {
      isInlineSwap: function (style) { return style === "morph"; },
      handleSwap: function (style, target, fragment) {
        if (style !== "morph") return false;
        if (window.Idiomorph) {
          return window.Idiomorph.morph(target, fragment.children, { morphStyle: "outerHTML" });
        }
        var parts = Array.prototype.slice.call(fragment.children);
        target.replaceWith.apply(target, parts);
        return parts;
      }
    });
  }
  configure();
  document.addEventListener("gillab:scripts-loaded", configure);
  function closeStreams() {
    streams.forEach(function (source) { source.close(); });
    streams = [];
  }
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (insideSim(event.detail.elt)) closeStreams();
  });

  // Send only what a step changes (issue 17.15): tell the server which state the page shows
  // (the permalink it rendered on #stage). For a step of the same run it answers with the
  // stage, the controls, the timeline cells whose marks move and the log entries that come or
  // go, instead of the whole timeline and log.
  document.addEventListener("htmx:configRequest", function (event) {
    var shown = shownNow();
    if (shown && insideSim(event.detail.elt)) event.detail.headers["Sim-Shown"] = shown;
  });
  // The next steps, fetched while the page is idle: when → (or the thread it runs) is pressed,
  // its answer is swapped in at once, in the key's own task, instead of waiting for the server.
  // Only a step of the same run is kept (the answer carrying only what changes, which the
  // server leaves the address bar of), and only for the state the page shows when it was asked.
  // Each answer names the state it leads to and the step after it, so the steps after are
  // fetched from it in turn, a few ahead: a held key (or keys pressed the moment a step is
  // drawn) then finds its answer there too, not on its way.
  var AHEAD = 3;
  // In order: the answer to `url` sent from the state `shown`, its `text` once `done` (null if
  // refused), `then` the step after it, and `ready`, a key's wait for it.
  var ahead = [];
  function shownNow() { // the permalink of the state the page shows
    var stage = document.getElementById("stage");
    return stage && stage.dataset.permalink;
  }
  // The step after a page (or an answer): the permalink it shows and what → asks from it.
  function nextFrom(root) {
    var next = root.querySelector("#go-next");
    var stage = root.querySelector("#stage");
    var url = next && next.getAttribute("hx-get");
    var shown = stage && stage.dataset.permalink;
    if (!url || !shown || next.getAttribute("aria-disabled") === "true") return null;
    return { url: url, shown: shown };
  }
  function read(text) {
    var parsed = document.createElement("template");
    parsed.innerHTML = text;
    return nextFrom(parsed.content);
  }
  function fetchAhead() {
    if (ahead.length && ahead[0].shown !== shownNow()) ahead = []; // the page went elsewhere
    if (!window.fetch || streams.length || ahead.length >= AHEAD) return;
    if (pending instanceof XMLHttpRequest) return; // htmx is asking: the page will change
    var from = ahead.length ? ahead[ahead.length - 1].then : nextFrom(document);
    if (!from) return; // the answer before is on its way, or there is no step after
    var asked = { url: from.url, shown: from.shown, text: null, then: null, ready: null, done: false };
    ahead.push(asked);
    function arrived(text) {
      asked.done = true;
      asked.text = text;
      if (text) asked.then = read(text);
      else if (ahead.indexOf(asked) >= 0) ahead.splice(ahead.indexOf(asked));
      if (asked.ready) asked.ready(text);
      else if (text) fetchAhead(); // the one after it; a refused step is not asked again here
    }
    window.fetch(asked.url, { headers: { "HX-Request": "true", "Sim-Shown": asked.shown } }).then(function (response) {
      var step = response.ok && !response.headers.get("HX-Push-Url") && !response.headers.get("HX-Replace-Url");
      return step ? response.text() : null;
    }).then(arrived, function () { arrived(null); });
  }
  // A key for the step fetched ahead: show it now, or, while it is on its way, as soon as it
  // comes (asking the server again would only wait behind it); should it fail, ask as usual.
  function applyAhead(target) {
    var answer = ahead[0];
    if (!answer || answer.ready || !target || !window.htmx || target.getAttribute("aria-disabled") === "true") return false;
    if (target.getAttribute("hx-get") !== answer.url || shownNow() !== answer.shown) return false;
    if (answer.text) {
      ahead.shift();
      show(answer.text, target);
      return true;
    }
    pending = answer; // first in line until it comes: the answers after it follow from it
    watch();
    answer.ready = function (text) {
      if (ahead[0] === answer) ahead.shift();
      if (pending !== answer) return; // overtaken (a control clicked meanwhile)
      window.clearTimeout(stuck);
      pending = null;
      if (text && shownNow() === answer.shown) show(text, target);
      else click(target);
      pump();
    };
    return true;
  }
  function show(text, target) {
    closeStreams();
    window.htmx.swap(document.getElementById("stage"), text,
      { swapStyle: "none", swapDelay: 0, settleDelay: 0 }, { contextElement: target });
    pushShown();
    fetchSoon();
  }
  function fetchSoon() { // after the step is drawn: the frame comes first
    window.requestAnimationFrame(function () { window.setTimeout(fetchAhead, 0); });
  }
  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.detail.elt && event.detail.elt.id === "stage" && event.detail.xhr) fetchSoon();
  });
  if (document.readyState === "complete") fetchSoon();
  else window.addEventListener("load", fetchSoon);

  // A timeline cell sent again keeps its element (and the focus on it, and its fade): take on
  // the server's marks instead of being replaced. Without this script htmx replaces it.
  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    var target = event.detail.target;
    var fresh = event.detail.fragment && event.detail.fragment.firstElementChild;
    if (!target || !fresh || !target.matches("li.cell") || fresh.id !== target.id) return;
    target.className = fresh.className;
    var button = target.querySelector("button");
    var current = fresh.querySelector("button[aria-current]");
    if (button && current) button.setAttribute("aria-current", current.getAttribute("aria-current"));
    else if (button) button.removeAttribute("aria-current");
    event.detail.shouldSwap = false;
  });

  // While playing, each SSE step swaps #stage in; keep the address bar on its permalink
  // (replace, not push: one history entry per play, not one per step).
  document.addEventListener("htmx:sseMessage", function () { canonicalise(); });

  // Back pressed twice in quick succession asks the server for two states at once (htmx keeps no
  // copy of the page: hx-history="false"), and htmx would show whichever answer came last:
  // only the latest is wanted.
  var restoring = null;
  document.addEventListener("htmx:historyCacheMiss", function (event) {
    if (restoring) restoring.abort();
    restoring = event.detail.xhr;
  });
  document.addEventListener("htmx:historyRestore", function () { restoring = null; });

  // A link with a seed or without a schedule still shows one exact run: put its canonical
  // permalink in the address bar, so "copy link" and bookmarks name the whole schedule.
  // The entry is marked as htmx's too, so Back to it from a step (pushed by pushShown, without
  // htmx) restores it: htmx's popstate handler restores only entries it marked.
  function canonicalise() {
    var shown = shownNow();
    if (shown) window.history.replaceState({ htmx: true }, "", shown);
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

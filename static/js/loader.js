// Loads the pinned front-end libraries (htmx, then its SSE extension) without ever holding up
// the first paint, and without waiting long for a CDN that does not answer (a school firewall
// that drops packets). Every page is server-rendered and works without them; they only add
// in-place swaps.
//
// How: each CDN file is first fetched with its integrity hash and a deadline (PATIENCE_MS).
// If every file arrives in time, the <script> tags use the CDN (now answered from the HTTP
// cache); otherwise the probes are aborted, so a late CDN copy can never run on top of the
// vendored one, and the site's own copies load instead. The tags go in after the window's load
// event: htmx starts itself on DOMContentLoaded, or at once when the document is complete, and
// would never start if it arrived in between.
(function () {
  "use strict";
  var PATIENCE_MS = 1000;
  var me = document.currentScript;
  var scripts = JSON.parse(me.dataset.scripts);

  function probe(script) {
    var controller = new AbortController();
    var deadline = window.setTimeout(function () { controller.abort(); }, PATIENCE_MS);
    return window.fetch(script.cdn, {
      integrity: script.integrity, mode: "cors", credentials: "same-origin",
      signal: controller.signal
    }).then(function (response) {
      if (!response.ok) throw new Error(script.cdn + " answered " + response.status);
      return response.arrayBuffer();
    }).finally(function () { window.clearTimeout(deadline); });
  }

  function insert(index, fromCdn) {
    if (index >= scripts.length) {
      document.documentElement.dataset.scripts = fromCdn ? "cdn" : "vendored";
      document.dispatchEvent(new CustomEvent("gillab:scripts-loaded"));
      return;
    }
    var script = scripts[index];
    var tag = document.createElement("script");
    if (fromCdn) {
      tag.src = script.cdn;
      tag.integrity = script.integrity;
      tag.crossOrigin = "anonymous";
    } else {
      tag.src = script.vendored;
    }
    tag.onload = function () { insert(index + 1, fromCdn); };
    // The CDN file passed its probe yet failed now: the site's own copy of it and of the rest.
    tag.onerror = function () { if (fromCdn) insert(index, false); };
    document.head.appendChild(tag);
  }

  var chosen = (window.fetch && window.AbortController)
    ? Promise.all(scripts.map(probe)).then(function () { return true; }, function () { return false; })
    : Promise.resolve(false);
  function start() { chosen.then(function (fromCdn) { insert(0, fromCdn); }); }
  if (document.readyState === "complete") start();
  else window.addEventListener("load", start);
})();

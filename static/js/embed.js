// Embedding this site's pages (templates/_embed.html). Two sides:
// - a page offering "Embed in slides" (/sim, a challenge, the page a refused frame shows): the
//   code for the view shown now, sized to show the whole of it, and its copy button;
// - a page in its embed layout (`embed=1`), framed by a page of this site (a lesson, a live
//   class's phone): it tells that page its height, so the frame can fit it, and a lesson's frame
//   lets a link that leaves the embed replace the lesson rather than open a tab.
// A frame of another site (slides) gets nothing from here: `window.frameElement` is null there.
(function () {
  "use strict";

  var SLIDE_WIDTH = 960; // the width the embed code gives; its height is measured at this width

  // The height of a page's content, however tall its frame (the root's scrollHeight would
  // never shrink below the frame's own height).
  function contentHeight(doc) {
    return Math.ceil(doc.documentElement.getBoundingClientRect().height);
  }

  function embedUrl(address) {
    return address + (address.indexOf("?") >= 0 ? "&" : "?") + "embed=1";
  }

  // The server writes the iframe's src as a path (it never trusts the Host header for an
  // address); put in front of it the address this browser reached the site at.
  function fill() {
    document.querySelectorAll("textarea.embed-snippet").forEach(function (field) {
      field.value = field.value.replace(/src="\//, 'src="' + window.location.origin + "/");
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", fill);
  else fill();

  // "Embed in slides", each time it is opened: the code for the view shown now (steps swap in
  // and push their address without reloading the box), with the height the embed view needs
  // at the slide's width, measured at the page's tallest state in a hidden frame of this site.
  document.addEventListener("toggle", function (event) {
    var details = event.target;
    if (!details.classList || !details.classList.contains("embed-code") || !details.open) return;
    var field = details.querySelector("textarea.embed-snippet");
    if (!field) return;
    var here = embedUrl(window.location.pathname + window.location.search);
    var link = details.querySelector("a[href]");
    if (link) link.href = here;
    field.value = field.value.replace(/src="[^"]*"/, 'src="' + window.location.origin + here + '"');
    var from = details.dataset.measureFrom && document.querySelector(details.dataset.measureFrom);
    var tallest = details.dataset.measure ||
      (from && from.tagName === "A" ? from.getAttribute("href") : null);
    var frame = document.createElement("iframe");
    frame.className = "embed-measure";
    frame.setAttribute("aria-hidden", "true");
    frame.tabIndex = -1;
    frame.width = String(SLIDE_WIDTH);
    frame.height = "600";
    frame.src = tallest ? embedUrl(tallest) : here;
    frame.addEventListener("load", function () {
      var doc = frame.contentDocument;
      if (doc && doc.documentElement) {
        var height = Math.ceil(contentHeight(doc) / 10) * 10 + 20;
        field.value = field.value.replace(/height="\d+"/, 'height="' + height + '"');
        field.dataset.height = String(height);
      }
      frame.remove();
    });
    document.body.appendChild(frame);
  }, true);

  function copied(note, text) { if (note) note.textContent = text; }
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-copy-from]");
    if (!button) return;
    var field = document.getElementById(button.dataset.copyFrom);
    var note = button.parentElement.querySelector(".copied");
    field.select();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(
        function () { copied(note, "Embed code copied."); },
        function () { copied(note, "Selected: copy it with Ctrl+C."); }
      );
    } else {
      copied(note, "Selected: copy it with Ctrl+C."); // no clipboard outside https/localhost
    }
  });

  // The embed side, framed by a page of this site only.
  var host = window.frameElement;
  if (!host || !document.body.classList.contains("embed")) return;

  if (host.dataset.embedLinks === "top") {
    document.addEventListener("click", function (event) {
      var link = event.target.closest && event.target.closest("a[data-leaves-embed]");
      if (link) link.target = "_top";
    });
  }

  // The page's height, each time it changes (a step, a hint, the proof opening): the parent
  // may size the frame to it (static/js/live.js does on a phone). Posted to this origin only.
  var posted = 0;
  function post() {
    var height = contentHeight(document);
    if (height === posted) return;
    posted = height;
    window.parent.postMessage({ type: "gil-lab:height", height: height }, window.location.origin);
  }
  if (window.ResizeObserver) new ResizeObserver(post).observe(document.documentElement);
  else post();
})();

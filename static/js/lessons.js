// Lessons: size each embedded tool to its own content, so a lesson reads as one page instead of
// boxes that scroll inside it. Same-origin iframes only; the CSS height stays as the fallback.
(function () {
  "use strict";

  function fit(frame) {
    var doc;
    try {
      doc = frame.contentDocument;
    } catch (error) {
      return; // not ours to measure
    }
    if (!doc || !doc.body) return;
    var height = Math.ceil(doc.body.getBoundingClientRect().height);
    // A small tolerance keeps a layout that depends on the frame's height from oscillating.
    if (height > 0 && Math.abs(frame.getBoundingClientRect().height - height) > 2) {
      frame.style.height = height + "px";
    }
  }

  function watch(frame) {
    fit(frame);
    var doc = frame.contentDocument;
    if (doc && doc.body && "ResizeObserver" in window) {
      var pending = false;
      new ResizeObserver(function () {
        if (pending) return;
        pending = true;
        window.requestAnimationFrame(function () {
          pending = false;
          fit(frame);
        });
      }).observe(doc.body);
    }
  }

  document.querySelectorAll("iframe.tool-embed").forEach(function (frame) {
    frame.addEventListener("load", function () { watch(frame); });
    var doc = frame.contentDocument;
    if (doc && doc.readyState === "complete" && doc.URL !== "about:blank") watch(frame);
  });
})();

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
    // The frame's height includes its border (box-sizing: border-box): without it the page
    // was 2 px taller than the frame's inside, and scrolled there.
    var inside = frame.clientHeight;
    // Never shorter than the page; a little taller is left alone, so a layout that depends on
    // the frame's height cannot oscillate.
    if (height > 0 && (inside < height || inside > height + 2)) {
      frame.style.height = height + frame.offsetHeight - inside + "px";
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

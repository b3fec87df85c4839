// Challenges glue: keyboard shortcuts, progress in localStorage, the "my solutions" link, copy.
// No simulation here: every state, verdict, hint and count comes from the server's HTML.
(function () {
  "use strict";

  var STORAGE_KEY = "gil-lab:challenges:solved"; // {slug: winning schedule, or "" if unknown}
  var KEYS = { a: "step-A", b: "step-B", Backspace: "undo" };

  function load() {
    try {
      var value = JSON.parse(window.localStorage.getItem(STORAGE_KEY) || "{}");
      return value && typeof value === "object" ? value : {};
    } catch (error) {
      return {};
    }
  }

  function save(solved) {
    try {
      window.localStorage.setItem(STORAGE_KEY, JSON.stringify(solved));
    } catch (error) {
      // Private windows may refuse storage: progress then lives only in the link.
    }
  }

  // A win reached by stepping (not a solution link opened, not a witness after giving up).
  function recordWin() {
    var win = document.querySelector("#win[data-solved-slug]");
    if (!win) return;
    var solved = load();
    solved[win.dataset.solvedSlug] = win.dataset.solvedSchedule;
    save(solved);
  }

  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (!document.getElementById("play") || typing(event.target)) return;
    var id = KEYS[event.key.length === 1 ? event.key.toLowerCase() : event.key];
    if (!id) return;
    event.preventDefault(); // Backspace must never navigate away on its own
    var control = document.getElementById(id);
    if (control && control.tagName === "A") control.click();
  });

  // Right after the swap (not after settling), so a reload straight after a win keeps it.
  document.addEventListener("htmx:afterSwap", recordWin);

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-copy]");
    if (!button) return;
    var field = document.querySelector(button.dataset.copy);
    var note = document.getElementById("copied");
    if (!field) return;
    // The page gives a path (never a host taken from the request); the link shared is whole.
    field.value = new URL(field.value, window.location.href).href;
    field.select();
    var done = function () { if (note) note.textContent = "Copied."; };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(done, function () {});
    } else {
      done(); // the text is selected: the student can copy it by hand
    }
  });

  function solutionsLink(solved, known) {
    var items = Object.keys(solved).filter(function (slug) { return known[slug]; }).map(
      function (slug) { return solved[slug] ? slug + ":" + solved[slug] : slug; }
    );
    return "/challenges?solved=" + encodeURIComponent(items.join(",")).replace(/%2C/g, ",").replace(/%3A/g, ":");
  }

  function renderIndex() {
    var root = document.getElementById("challenges");
    if (!root) return;
    var solved = load();
    var cards = root.querySelectorAll("[data-challenge]");
    var known = {};
    cards.forEach(function (card) {
      var slug = card.dataset.challenge;
      known[slug] = true;
      if (card.dataset.verifiedSchedule) solved[slug] = card.dataset.verifiedSchedule;
      else if (card.dataset.claimed && !(slug in solved)) solved[slug] = "";
    });
    save(solved);
    var count = 0;
    cards.forEach(function (card) {
      var slug = card.dataset.challenge;
      if (!(slug in solved)) return;
      count += 1;
      card.classList.add("solved");
      var replay = card.querySelector(".replay-link");
      if (replay && solved[slug]) {
        // "impossible": solved by claiming it; its page shows the claim and the proof again.
        replay.href = "/challenges/" + slug + (solved[slug] === "impossible"
          ? "?claim=1" : "?schedule=" + encodeURIComponent(solved[slug]));
        replay.hidden = false;
      }
    });
    var counter = document.getElementById("solved-count");
    if (counter) counter.textContent = String(count);
    var link = document.getElementById("my-solutions");
    if (link && count) {
      link.href = solutionsLink(solved, known);
      link.hidden = false;
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", renderIndex);
  } else {
    renderIndex();
  }
})();

// Embed code for slides: the server writes the iframe's src as a path (it never trusts the Host
// header for an address); put in front of it the address this browser reached the site at.
(function () {
  "use strict";
  function fill() {
    document.querySelectorAll("textarea.embed-snippet").forEach(function (field) {
      field.value = field.value.replace(/src="\//, 'src="' + window.location.origin + "/");
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", fill);
  else fill();
})();

// Runs right after a CDN <script>: when that copy did not arrive (a classroom with no internet),
// load the vendored copy named in data-vendored. document.write keeps the scripts in order, so
// the SSE extension always finds htmx defined.
(function () {
  var me = document.currentScript;
  var loaded = {
    htmx: function () { return !!window.htmx; },
    sse: function () { return !!(window.htmx && window.htmx.createEventSource); }
  }[me.dataset.need];
  if (!loaded()) {
    document.write('<script src="' + me.dataset.vendored + '"><\/script>');
  }
})();

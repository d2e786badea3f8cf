// Live refresh: every 10 s, fetch this same URL (so filters and page stay) and swap in each
// element marked data-live by its id. Scroll, focus and form inputs are outside those
// elements, so nothing the operator is doing is lost. Without JS the Refresh link does it.
(function () {
  "use strict";
  var PERIOD = 10000;
  function refresh() {
    if (document.hidden) { return; }
    fetch(window.location.href, { headers: { "X-Live": "1" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) { return; }
        var doc = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-live][id]").forEach(function (el) {
          var fresh = doc.getElementById(el.id);
          if (fresh) { el.replaceWith(fresh); }
        });
        document.documentElement.setAttribute("data-refreshed", String(Date.now()));
      })
      .catch(function () { /* the next tick tries again */ });
  }
  window.setInterval(refresh, PERIOD);
})();

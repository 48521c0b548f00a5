// Staff dashboard: replace the live section with the server's latest rendering every second.
// Without this script the page is complete and refreshes itself (noscript meta refresh).
(function () {
  "use strict";
  var live = document.getElementById("live");
  var state = document.getElementById("live-state");
  if (!live || !window.fetch) return;
  var src = live.getAttribute("data-src");
  var busy = false;
  if (state) state.textContent = live.getAttribute("data-auto") || "";
  function tick() {
    if (busy || document.hidden) return;
    busy = true;
    fetch(src, { credentials: "same-origin", cache: "no-store", redirect: "error" })
      .then(function (res) {
        if (res.status === 401) {
          window.location.assign("/staff/login?lang=" + (document.body.getAttribute("data-lang") || "ja"));
          return null;
        }
        return res.ok ? res.text() : null;
      })
      .then(function (html) {
        if (html !== null && html !== undefined) live.innerHTML = html;
      })
      .catch(function () { /* the next tick tries again */ })
      .then(function () { busy = false; });
  }
  window.setInterval(tick, 1000);
})();

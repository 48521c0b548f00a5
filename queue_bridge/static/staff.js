// Staff dashboard: replace the live section with the server's latest rendering every second.
// Without this script the page is complete and refreshes itself (noscript meta refresh).
// While a control in the live section has the focus (an operator choosing what an unanswered
// question meant), it is not replaced; a choice made and not yet sent is kept across updates.
(function () {
  "use strict";
  var live = document.getElementById("live");
  var state = document.getElementById("live-state");
  if (!live || !window.fetch) return;
  var src = live.getAttribute("data-src");
  var busy = false;
  var chosen = {}; // select id -> value chosen by the user
  if (state) state.textContent = live.getAttribute("data-auto") || "";
  live.addEventListener("change", function (ev) {
    var el = ev.target;
    if (el && el.tagName === "SELECT" && el.id) chosen[el.id] = el.value;
  });
  function inUse() {
    var el = document.activeElement;
    return !!el && el !== document.body && live.contains(el) && /^(SELECT|BUTTON|INPUT)$/.test(el.tagName);
  }
  function restore() {
    Object.keys(chosen).forEach(function (id) {
      var el = document.getElementById(id);
      if (!el || el.tagName !== "SELECT") {
        delete chosen[id]; // its row is gone (taught, or scrolled out of the log)
        return;
      }
      for (var i = 0; i < el.options.length; i++) {
        if (el.options[i].value === chosen[id]) el.selectedIndex = i;
      }
    });
  }
  function tick() {
    if (busy || document.hidden || inUse()) return;
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
        if (html !== null && html !== undefined && !inUse()) {
          live.innerHTML = html;
          restore();
        }
      })
      .catch(function () { /* the next tick tries again */ })
      .then(function () { busy = false; });
  }
  window.setInterval(tick, 1000);
})();

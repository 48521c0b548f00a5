/* Live updates for the public page. The page is complete without this script; it only keeps the
   numbers current over Server-Sent Events and watches "my ticket". ES5 for old phones. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("page-data").textContent);
  var t = data.t;
  var mine = null;
  try { mine = window.localStorage.getItem("lobby-ticket"); } catch (e) { /* private mode */ }
  var alerted = false;

  function fmt(s, v) { return s.replace(/\{(\w+)\}/g, function (_, k) { return v[k]; }); }

  function waitText(waiting, est) {
    if (waiting === 0) return t.no_wait;
    if (!est) return t.closed;
    var lo = Math.floor(est.lower_s / 300) * 5;
    var hi = Math.max(5, lo + 5, Math.ceil(est.upper_s / 300) * 5);
    return lo === 0 ? fmt(t.under, {hi: hi}) : fmt(t.minutes, {lo: lo, hi: hi});
  }

  function clock(iso) {
    var d = new Date(iso);
    try {
      return d.toLocaleTimeString("ja-JP", {timeZone: data.tz, hour12: false});
    } catch (e) { return d.toTimeString().slice(0, 8); }
  }

  function setText(card, field, text) {
    var el = card.querySelector('[data-f="' + field + '"]');
    if (el && el.textContent !== text) el.textContent = text;
    return el;
  }

  function render(s) {
    var card = document.getElementById("q-" + s.queue);
    if (!card) return;
    var calling = s.now_calling.map(function (c) {
      return fmt(t.window_of, {ticket: c.ticket, window: data.windows[c.window] || c.window});
    }).join("、") || t.none;
    setText(card, "now", calling);
    setText(card, "waiting", fmt(t.people, {n: s.waiting}));
    setText(card, "estimate", waitText(s.waiting, s.estimate));
    setText(card, "windows", String(s.open_windows.length));
    var time = setText(card, "updated", clock(s.updated_at));
    if (time) time.setAttribute("datetime", s.updated_at);
  }

  var result = document.getElementById("mine-result");
  function notify() {
    if (alerted) return;
    alerted = true;
    if (navigator.vibrate) navigator.vibrate([300, 150, 300]);
    try {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      var ctx = new Ctx(), osc = ctx.createOscillator();
      osc.connect(ctx.destination); osc.frequency.value = 880;
      osc.start(); osc.stop(ctx.currentTime + 0.4);
    } catch (e) { /* sound not allowed without a gesture: the visual alert remains */ }
  }

  function showTicket(info, number) {
    var msg, urgent = false;
    if (!info) msg = fmt(t.unknown, {ticket: number});
    else if (info.state === "waiting") {
      msg = fmt(t.ahead, {n: info.ahead}) + " · " + t.estimate + ": " + waitText(1, info.estimate);
      if (info.ahead <= 2) { msg += " " + t.soon; urgent = true; }
    } else if (info.state === "called") {
      msg = fmt(t.called, {ticket: number, window: data.windows[info.window] || info.window});
      urgent = true;
    } else msg = fmt(t.done, {ticket: number});
    result.hidden = false;
    result.className = urgent ? "mine alert" : "mine";
    if (result.textContent !== msg) result.textContent = msg;
    if (urgent) notify();
  }

  function checkTicket() {
    if (!mine || !window.fetch) return;
    fetch("/api/v1/tickets/" + encodeURIComponent(mine)).then(function (r) {
      return r.ok ? r.json() : null;
    }).then(function (info) { showTicket(info, mine); }).catch(function () {});
  }

  var form = document.getElementById("mine");
  if (form) form.addEventListener("submit", function (ev) {
    if (!window.fetch) return; /* old browser: the normal form submit works */
    ev.preventDefault();
    mine = document.getElementById("ticket").value.trim();
    alerted = false;
    try { window.localStorage.setItem("lobby-ticket", mine); } catch (e) {}
    checkTicket();
  });
  if (mine && !/[?&]ticket=/.test(location.search)) {
    document.getElementById("ticket").value = mine;
    checkTicket();
  }

  if (!window.EventSource) return;
  var live = document.getElementById("live-state");
  var source = new EventSource("/api/v1/stream");
  source.addEventListener("open", function () { live.textContent = t.live; });
  source.addEventListener("status", function (ev) {
    var s = JSON.parse(ev.data);
    render(s);
    if (mine) checkTicket();
  });
  source.addEventListener("error", function () { live.textContent = t.static; });
})();

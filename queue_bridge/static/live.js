/* Live updates for the public page. The page is complete without this script; it only keeps the
   numbers current over Server-Sent Events and watches "my ticket". ES5 for old phones.
   Screen readers: each card's polite region (data-f="say") gets one sentence per *new* call, and
   the assertive #mine-alert changes only when "my ticket" gets closer (soon, then called). */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("page-data").textContent);
  var t = data.t;
  var STORE = "lobby-ticket";

  function fmt(s, v) {
    return s.replace(/\{(\w+)\}/g, function (m, k) { return v.hasOwnProperty(k) ? String(v[k]) : m; });
  }

  /* The same rule as queue_bridge.i18n.wait_text: a range in 5-minute steps. */
  function waitText(waiting, est) {
    if (waiting === 0) return t.no_wait;
    if (!est) return t.closed;
    var lo = Math.floor(est.lower_s / 300) * 5;
    var hi = Math.max(5, lo + 5, Math.ceil(est.upper_s / 300) * 5);
    return lo === 0 ? fmt(t.under, {hi: hi}) : fmt(t.minutes, {lo: lo, hi: hi});
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function clock(iso) {
    var d = new Date(iso);
    try {
      return d.toLocaleTimeString("en-GB", {timeZone: data.tz, hour: "2-digit", minute: "2-digit",
        second: "2-digit", hourCycle: "h23"});
    } catch (e) { return pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds()); }
  }

  function normalize(s) {
    if (s.normalize) s = s.normalize("NFKC"); /* Ａ００３ typed on a Japanese keyboard -> A003 */
    return s.replace(/^\s+|\s+$/g, "").toUpperCase();
  }

  function field(card, name) { return card.querySelector('[data-f="' + name + '"]'); }
  function setText(el, text) { if (el && el.textContent !== text) el.textContent = text; }

  /* One call's identity, as page.py's _call_key builds it: a recall is a new call. */
  function callKey(c) {
    var ms = Date.parse(String(c.called_at).replace(/(\.\d{3})\d+/, "$1"));
    return c.window + "|" + c.ticket + "|" + (isNaN(ms) ? c.called_at : ms);
  }

  function renderCalls(card, s) {
    var list = field(card, "now");
    if (!list) return;
    var old = {}, items = list.getElementsByTagName("li"), i;
    for (i = 0; i < items.length; i++) old[items[i].getAttribute("data-k")] = true;
    var keys = s.now_calling.map(callKey);
    if (keys.join(" ") === (list.getAttribute("data-keys") || "")) return;
    list.setAttribute("data-keys", keys.join(" "));
    var fresh = [];
    while (list.firstChild) list.removeChild(list.firstChild);
    if (!s.now_calling.length) {
      var none = document.createElement("li");
      none.className = "none";
      none.textContent = t.none;
      list.appendChild(none);
    }
    s.now_calling.forEach(function (c, n) {
      var li = document.createElement("li"), b = document.createElement("b"), span = document.createElement("span");
      var win = data.windows[c.window] || c.window;
      li.setAttribute("data-k", keys[n]);
      var parts = t.ticket_no.split("{ticket}"), num = document.createElement("span");
      num.className = "n";
      num.textContent = c.ticket;
      b.appendChild(document.createTextNode(parts[0]));
      b.appendChild(num);
      b.appendChild(document.createTextNode(parts[1] || ""));
      span.textContent = win;
      li.appendChild(b); li.appendChild(document.createTextNode(" ")); li.appendChild(span);
      list.appendChild(li);
      if (!old[keys[n]]) fresh.push(fmt(t.announce, {queue: data.queues[s.queue] || s.queue, ticket: c.ticket, window: win}));
    });
    if (fresh.length) setText(field(card, "say"), fresh.join(" "));
  }

  /* Same rule as i18n.accuracy_text. */
  function accuracyText(a) {
    if (!a) return "";
    return fmt(t.accuracy, {min: Math.max(1, Math.round(a.mae_s / 60)), pct: Math.round(a.within_range * 100), n: a.samples});
  }

  function render(s) {
    var card = document.getElementById("q-" + s.queue);
    if (!card) return;
    renderCalls(card, s);
    setText(field(card, "waiting"), fmt(t.people, {n: s.waiting}));
    setText(field(card, "estimate"), waitText(s.waiting, s.estimate));
    setText(field(card, "windows"), fmt(t.windows_n, {n: s.open_windows.length}));
    setText(field(card, "accuracy"), accuracyText(s.accuracy_today));
    var time = field(card, "updated");
    setText(time, clock(s.updated_at));
    if (time) time.setAttribute("datetime", s.updated_at);
  }

  /* Fill the server-rendered lists' data-keys so the first (snapshot) event announces nothing. */
  (function () {
    var lists = document.querySelectorAll('[data-f="now"]'), i, j;
    for (i = 0; i < lists.length; i++) {
      var items = lists[i].getElementsByTagName("li"), keys = [];
      for (j = 0; j < items.length; j++) if (items[j].getAttribute("data-k")) keys.push(items[j].getAttribute("data-k"));
      lists[i].setAttribute("data-keys", keys.join(" "));
    }
  })();

  /* ---- my ticket ---- */
  var result = document.getElementById("mine-result");
  var alertBox = document.getElementById("mine-alert");
  var input = document.getElementById("ticket");
  var form = document.getElementById("mine");
  var mine = result.getAttribute("data-ticket") || null;
  var mineQueue = result.getAttribute("data-queue") || null;
  var level = -1; /* -1 unknown, 0 waiting, 1 soon, 2 called; an alert sounds when it rises */
  var audio = null;

  function today() { return new Date().toDateString(); }
  function remember(number) {
    try { window.localStorage.setItem(STORE, JSON.stringify({t: number, d: today()})); } catch (e) { /* private mode */ }
  }
  if (!mine) {
    try {
      var saved = JSON.parse(window.localStorage.getItem(STORE) || "null");
      /* Numbers start again every day: yesterday's ticket is someone else's today. */
      if (saved && saved.d === today() && saved.t) { mine = saved.t; input.value = mine; }
    } catch (e) { /* private mode or old value */ }
  } else remember(mine);

  function beep() {
    if (!audio) return;
    try {
      if (audio.resume) audio.resume();
      [0, 0.5].forEach(function (at) {
        var osc = audio.createOscillator(), gain = audio.createGain();
        osc.connect(gain); gain.connect(audio.destination);
        osc.frequency.value = 880; gain.gain.value = 0.3;
        osc.start(audio.currentTime + at); osc.stop(audio.currentTime + at + 0.3);
      });
    } catch (e) { /* no sound: the visual alert remains */ }
  }

  function notify() {
    try { if (navigator.vibrate) navigator.vibrate([300, 150, 300]); } catch (e) { /* not allowed */ }
    beep();
  }

  function showTicket(info, number, quiet) {
    var line = "", alert = "", now = 0;
    if (!info) line = fmt(t.unknown, {ticket: number});
    else if (info.state === "waiting") {
      var qname = data.queues[info.queue] || info.queue;
      var head = info.ahead === 0 ? fmt(t.next, {queue: qname}) : fmt(t.ahead, {queue: qname, n: info.ahead});
      line = fmt(t.ticket_wait, {head: head, wait: waitText(1, info.estimate)});
      if (info.ahead <= data.soon) { alert = t.soon; now = 1; }
    } else if (info.state === "called") {
      alert = fmt(t.called, {ticket: number, window: data.windows[info.window] || info.window || ""});
      now = 2;
    } else line = fmt(info.state === "no_show" ? t.no_show : t.done, {ticket: number});
    setText(result, line);
    setText(alertBox, alert);
    alertBox.className = alert ? "alert" : "";
    if (now > level && now > 0 && !quiet) notify();
    level = now;
  }

  var inFlight = false, again = false;
  function checkTicket(quiet, fromUser) {
    if (!mine || !window.fetch) return;
    if (inFlight) { again = true; return; }
    inFlight = true;
    var number = mine;
    fetch("/api/v1/tickets/" + encodeURIComponent(number), {cache: "no-store"}).then(function (r) {
      if (r.status === 404) return null;
      if (!r.ok) throw new Error(String(r.status));
      return r.json();
    }).then(function (info) {
      if (number !== mine) return;
      mineQueue = info ? info.queue : null;
      showTicket(info, number, quiet);
    }, function () {
      if (fromUser) { setText(result, t.check_failed); setText(alertBox, ""); alertBox.className = ""; }
    }).then(function () {
      inFlight = false;
      if (again) { again = false; checkTicket(false, false); }
    });
  }

  function withTicket(href, number) {
    var base = href.replace(/([?&])ticket=[^&]*&?/, "$1").replace(/[?&]$/, "");
    return base + (base.indexOf("?") < 0 ? "?" : "&") + "ticket=" + encodeURIComponent(number);
  }

  if (form) form.addEventListener("submit", function (ev) {
    if (!window.fetch) return; /* old browser: the normal form submit works */
    ev.preventDefault();
    var number = normalize(input.value);
    if (!number) return;
    input.value = number;
    mine = number; mineQueue = null; level = -1;
    remember(number);
    /* The tap on "check" is the gesture browsers want before they let a page make a sound. */
    try {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      if (Ctx && !audio) audio = new Ctx();
    } catch (e) { audio = null; }
    /* Reloading, sharing or switching language keeps the ticket. */
    var links = document.querySelectorAll("nav a, #reload");
    for (var i = 0; i < links.length; i++) links[i].setAttribute("href", withTicket(links[i].getAttribute("href"), number));
    try { if (window.history.replaceState) window.history.replaceState(null, "", withTicket(location.pathname + location.search, number)); } catch (e) { /* file: */ }
    checkTicket(false, true);
  });
  if (mine) checkTicket(true, false);

  /* ---- live updates ---- */
  if (!window.EventSource) return;
  var liveText = document.getElementById("live-text");
  var reload = document.getElementById("reload");
  var source = new EventSource("/api/v1/stream");
  source.addEventListener("open", function () {
    setText(liveText, t.live);
    reload.hidden = true;
    if (mine) checkTicket(level < 0, false); /* catch up on what happened while disconnected */
  });
  source.addEventListener("status", function (ev) {
    var s = JSON.parse(ev.data);
    render(s);
    /* Only the ticket's own queue can change how many are ahead of it (a transfer changes both). */
    if (mine && (!mineQueue || s.queue === mineQueue)) checkTicket(false, false);
  });
  source.addEventListener("error", function () {
    setText(liveText, source.readyState === 2 ? t.static : t.connecting);
    reload.hidden = false;
  });
})();

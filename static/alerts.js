/* Alerts: no handoff goes unnoticed (see desk/alerts.py for who is alerted of what).

   - The tab title counts what waits for me: "(3) Inbox · Desk", from
     #waiting-for-me[data-count], which the server keeps current over the socket.
   - #desk-alert[data-key, data-title, data-body, data-url] is one alert. It raises a
     browser notification and a short sound, each only if the agent left it on in the
     header's Alerts menu, and only while no Desk tab of theirs is in view. With several
     tabs open, one of them raises it (a claim in localStorage, under a Web Lock).
   - Permission for notifications is asked only from the "Allow browser notifications"
     button, never on page load.
   - Aging: a pending ticket's inbox row turns amber after body[data-aging-warn]
     seconds in the queue, red after body[data-aging-alert], live.
*/
(function () {
  "use strict";

  var TAB = Math.random().toString(36).slice(2);
  var VISIBLE_PREFIX = "desk:visible:";
  var ALERTED = "desk:alerted";
  var FRESH_MS = 2500;      // a tab that said "I am in view" this recently still is
  var KEEP_ALERTED_MS = 10 * 60 * 1000;

  function store() {
    try { return window.localStorage; } catch (e) { return null; }
  }

  // --- the title ------------------------------------------------------------------------
  var PREFIX = /^\(\d+\) /;
  function refreshTitle() {
    var el = document.getElementById("waiting-for-me");
    if (!el) return;
    var n = parseInt(el.dataset.count, 10) || 0;
    var base = document.title.replace(PREFIX, "");
    var title = n > 0 ? "(" + n + ") " + base : base;
    if (document.title !== title) document.title = title;
  }

  // --- is any Desk tab in view? ------------------------------------------------------------
  function sayVisible() {
    var s = store();
    if (!s) return;
    try {
      if (document.visibilityState === "visible") s.setItem(VISIBLE_PREFIX + TAB, String(Date.now()));
      else s.removeItem(VISIBLE_PREFIX + TAB);
    } catch (e) { /* storage full or blocked: this tab alone decides */ }
  }
  function anyTabInView() {
    if (document.visibilityState === "visible") return true;
    var s = store();
    if (!s) return false;
    var now = Date.now();
    for (var i = 0; i < s.length; i++) {
      var k = s.key(i);
      if (k && k.indexOf(VISIBLE_PREFIX) === 0 && k !== VISIBLE_PREFIX + TAB) {
        if (now - (parseInt(s.getItem(k), 10) || 0) < FRESH_MS) return true;
      }
    }
    return false;
  }
  document.addEventListener("visibilitychange", sayVisible);
  window.addEventListener("pagehide", function () {
    var s = store();
    if (s) try { s.removeItem(VISIBLE_PREFIX + TAB); } catch (e) { /* ignore */ }
  });
  setInterval(sayVisible, 1000);

  // --- once across tabs --------------------------------------------------------------------
  function claimed(key) {
    // True when this tab is the one to raise the alert `key`.
    var s = store();
    if (!s) return true;
    var seen;
    try { seen = JSON.parse(s.getItem(ALERTED) || "{}"); } catch (e) { seen = {}; }
    if (seen[key]) return false;
    var now = Date.now();
    Object.keys(seen).forEach(function (k) { if (now - seen[k] > KEEP_ALERTED_MS) delete seen[k]; });
    seen[key] = now;
    try { s.setItem(ALERTED, JSON.stringify(seen)); } catch (e) { /* ignore */ }
    return true;
  }
  function once(key, raise) {
    if (navigator.locks && navigator.locks.request) {
      navigator.locks.request("desk-alerts", function () { if (claimed(key)) raise(); });
    } else if (claimed(key)) {
      raise();
    }
  }

  // --- raising one -----------------------------------------------------------------------
  function wants(name) {
    var box = document.querySelector('#alerts-menu input[name="' + name + '"]');
    return !!(box && box.checked);
  }

  var audio = null;
  function beep() {
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    try {
      audio = audio || new Context();
      var osc = audio.createOscillator(), gain = audio.createGain(), t = audio.currentTime;
      osc.type = "sine";
      osc.frequency.setValueAtTime(880, t);
      osc.frequency.setValueAtTime(660, t + 0.12);
      gain.gain.setValueAtTime(0.0001, t);
      gain.gain.exponentialRampToValueAtTime(0.2, t + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.3);
      osc.connect(gain).connect(audio.destination);
      osc.start(t);
      osc.stop(t + 0.32);
      document.documentElement.dataset.lastBeep = String(Date.now());
    } catch (e) { /* a browser that refuses sound without a click: the notification stays */ }
  }

  function notify(el) {
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    try {
      var n = new Notification(el.dataset.title, { body: el.dataset.body || "", tag: el.dataset.key });
      n.onclick = function () {
        window.focus();
        if (el.dataset.url) window.location.assign(el.dataset.url);
        n.close();
      };
    } catch (e) { /* e.g. a browser that allows them only from a service worker */ }
  }

  var lastKey = null;
  function maybeAlert() {
    var el = document.getElementById("desk-alert");
    if (!el || !el.dataset.key || el.dataset.key === lastKey) return;
    lastKey = el.dataset.key;
    if (anyTabInView()) return;
    var desktop = wants("notify_desktop"), sound = wants("notify_sound");
    if (!desktop && !sound) return;
    var copy = { dataset: { key: el.dataset.key, title: el.dataset.title, body: el.dataset.body, url: el.dataset.url } };
    once(el.dataset.key, function () {
      if (desktop) notify(copy);
      if (sound) beep();
    });
  }

  // --- asking for permission, from the button only ----------------------------------------
  function showPermission() {
    var box = document.querySelector("[data-notify-permission]");
    if (!box) return;
    if (!("Notification" in window) || Notification.permission === "granted") {
      box.hidden = true;
      return;
    }
    box.hidden = false;
    var denied = Notification.permission === "denied";
    var button = box.querySelector("[data-enable-notifications]");
    var note = box.querySelector("[data-permission-denied]");
    if (button) button.hidden = denied;
    if (note) note.hidden = !denied;
  }
  document.addEventListener("click", function (e) {
    var button = e.target.closest && e.target.closest("[data-enable-notifications]");
    if (!button || !("Notification" in window)) return;
    e.preventDefault();
    var asked = Notification.requestPermission(showPermission);
    if (asked && asked.then) asked.then(showPermission);
  });

  // --- aging rows -------------------------------------------------------------------------
  function refreshAging() {
    var warn = parseInt(document.body.dataset.agingWarn, 10);
    var alarm = parseInt(document.body.dataset.agingAlert, 10);
    if (isNaN(warn) || isNaN(alarm)) return;
    var now = Date.now();
    document.querySelectorAll(".ticket-row").forEach(function (row) {
      var since = row.classList.contains("row-pending") && row.querySelector("time[data-waiting]");
      var age = since ? (now - Date.parse(since.getAttribute("datetime"))) / 1000 : -1;
      row.classList.toggle("aging-alert", age >= alarm);
      row.classList.toggle("aging-warn", age >= warn && age < alarm);
    });
  }

  function refresh() {
    refreshTitle();
    maybeAlert();
    refreshAging();
  }
  document.addEventListener("htmx:wsAfterMessage", refresh);
  document.addEventListener("htmx:afterSwap", function () { refreshTitle(); refreshAging(); showPermission(); });
  document.addEventListener("DOMContentLoaded", function () {
    lastKey = (document.getElementById("desk-alert") || { dataset: {} }).dataset.key || null;
    sayVisible();
    refreshTitle();
    refreshAging();
    showPermission();
    setInterval(refreshAging, 5000);
  });
})();

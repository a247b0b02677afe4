/* Desk: the little JavaScript there is. Every page works without it; this adds the
   live parts htmx does not do itself:
   - each (re)connect of the websocket says what the tab already has (resume),
   - pushed rows/lines replace their older copy and the inbox keeps its order,
   - "waiting 4 min" keeps counting, the transcript follows new lines,
   - keyboard: j/k/Enter/c// in the inbox, Enter/Shift+Enter in the composer,
   - the typing indicator, the connection state, error toasts. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  var socket = null;        // the ws extension's public wrapper, once open
  var opened = false;

  // --- resume: the server replays what this tab missed ------------------------------
  function lastMessageId() {
    var items = document.querySelectorAll("#message-list [data-message-id]");
    var max = 0;
    items.forEach(function (el) { max = Math.max(max, parseInt(el.dataset.messageId, 10) || 0); });
    return max;
  }

  function resumeUrl(url) {
    var u = new URL(url, location.href);
    if (document.getElementById("message-list")) u.searchParams.set("after", String(lastMessageId()));
    var list = document.getElementById("ticket-list");
    if (list) {
      u.searchParams.set("t", list.dataset.versionT || "0");
      u.searchParams.set("m", list.dataset.versionM || "0");
    }
    // The approvals count in the top bar: the server corrects it when it differs.
    var approvals = document.getElementById("approvals-count");
    if (approvals) u.searchParams.set("ac", approvals.dataset.count || "");
    // What waits for me (the title's number): corrected the same way.
    var waiting = document.getElementById("waiting-for-me");
    if (waiting) u.searchParams.set("w", waiting.dataset.count || "0");
    return u.toString();
  }

  function installSocketFactory() {
    if (!window.htmx) return;
    htmx.createWebSocket = function (url) {
      var sock = new WebSocket(resumeUrl(url), []);
      sock.binaryType = htmx.config.wsBinaryType;
      return sock;
    };
  }
  installSocketFactory();

  // --- connection state ----------------------------------------------------------------
  function liveState(text, state) {
    var el = document.getElementById("live-state");
    if (!el) return;
    el.hidden = false;
    el.textContent = text;
    el.dataset.state = state;
  }

  document.addEventListener("htmx:wsConnecting", function () {
    liveState(opened ? "Reconnecting…" : "Connecting…", "connecting");
  });
  document.addEventListener("htmx:wsOpen", function (e) {
    socket = e.detail.socketWrapper;
    opened = true;
    liveState("Live", "live");
  });
  document.addEventListener("htmx:wsClose", function (e) {
    socket = null;
    liveState("Offline, reconnecting…", "offline");
    // htmx retries by itself after abnormal closes; a server shutting down cleanly
    // (1001) would otherwise leave the tab offline for good.
    var code = e.detail.event && e.detail.event.code;
    if (code === 4401) {
      // Signed out elsewhere: reloading shows the login page, then comes back here.
      window.location.reload();
      return;
    }
    if (code === 1001 || code === 1000) {
      var wrapper = e.detail.socketWrapper;
      setTimeout(function () { if (!socket && wrapper) wrapper.reconnect(); }, 1000 + Math.random() * 2000);
    }
  });

  // --- after every pushed frame ----------------------------------------------------------
  var stickToBottom = true;
  var toastArrived = false;
  document.addEventListener("htmx:wsBeforeMessage", function (e) {
    toastArrived = String(e.detail.message).indexOf('id="toast"') !== -1;
    var list = document.getElementById("message-list");
    stickToBottom = !list || list.scrollHeight - list.scrollTop - list.clientHeight < 120;
  });

  function tidy(container) {
    // Newest copy wins: a pushed element replaces an earlier one with the same id.
    var seen = {};
    var children = Array.prototype.slice.call(container.children);
    for (var i = children.length - 1; i >= 0; i--) {
      var el = children[i];
      if (!el.id) continue;
      if (seen[el.id]) { el.remove(); continue; }
      seen[el.id] = true;
      if (el.classList.contains("gone")) el.remove();
    }
    if (container.hasAttribute("data-sorted")) {
      var rows = Array.prototype.slice.call(container.querySelectorAll(":scope > [data-sort]"));
      var sorted = rows.slice().sort(function (a, b) {
        return a.dataset.sort < b.dataset.sort ? -1 : a.dataset.sort > b.dataset.sort ? 1 : 0;
      });
      var changed = sorted.some(function (row, index) { return row !== rows[index]; });
      if (changed) {
        var empty = container.querySelector(":scope > .empty");
        sorted.forEach(function (row) { container.insertBefore(row, empty); });
      }
    }
  }

  document.addEventListener("htmx:wsAfterMessage", function () {
    document.querySelectorAll("[data-upsert]").forEach(tidy);
    restoreSelection();
    refreshTimes();
    markTypers();
    if (toastArrived) showToast();
    var list = document.getElementById("message-list");
    if (list && stickToBottom) list.scrollTop = list.scrollHeight;
  });

  // --- "waiting 4 min" ---------------------------------------------------------------------
  function waited(since) {
    var minutes = Math.floor((Date.now() - since.getTime()) / 60000);
    if (minutes < 1) return "<1 min";
    if (minutes < 60) return minutes + " min";
    var hours = Math.floor(minutes / 60), rest = minutes % 60;
    if (hours < 24) return rest ? hours + " h " + rest + " min" : hours + " h";
    return Math.floor(hours / 24) + " d";
  }
  function refreshTimes() {
    document.querySelectorAll("time[data-waiting]").forEach(function (el) {
      var since = new Date(el.getAttribute("datetime"));
      if (!isNaN(since)) el.textContent = "waiting " + waited(since);
    });
  }
  setInterval(refreshTimes, 30000);

  // --- typing indicator ----------------------------------------------------------------------
  function markTypers() {
    document.querySelectorAll("#typing .typer").forEach(function (el) {
      if (!el.dataset.until) el.dataset.until = String(Date.now() + 6000);
    });
  }
  setInterval(function () {
    document.querySelectorAll("#typing .typer").forEach(function (el) {
      if (Number(el.dataset.until) < Date.now()) el.remove();
    });
  }, 1000);

  var lastTyping = 0;
  document.addEventListener("input", function (e) {
    if (!e.target.matches("#composer textarea") || !socket) return;
    if (Date.now() - lastTyping < 2500 || !e.target.value.trim()) return;
    lastTyping = Date.now();
    socket.send(JSON.stringify({ action: "typing" }));
  });

  // --- the composer: Enter sends, Shift+Enter is a new line ----------------------------------
  var unsent = "";
  document.addEventListener("keydown", function (e) {
    if (!e.target.matches("#composer textarea")) return;
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing && !e.altKey && !e.ctrlKey && !e.metaKey) {
      e.preventDefault();
      if (e.target.value.trim()) e.target.form.requestSubmit();
    }
  });
  document.addEventListener("htmx:wsAfterSend", function (e) {
    var form = e.target.closest && e.target.closest("#composer");
    if (!form) return;
    var area = form.querySelector("textarea");
    unsent = area.value;
    area.value = "";
    area.focus();
    lastTyping = 0;
  });

  // --- errors for this tab only ----------------------------------------------------------------
  var toastTimer = null;
  function showToast() {
    var toast = document.getElementById("toast");
    if (!toast || !toast.textContent.trim()) return;
    toast.classList.add("show");
    var source = toast.dataset.source;
    var area = document.querySelector("#composer textarea");
    if ((source === "reply" || source === "note") && area && !area.value && unsent) {
      area.value = unsent;  // the message was refused: give the text back
    }
    unsent = "";
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { toast.classList.remove("show"); }, 6000);
  }

  document.addEventListener("click", function (e) {
    if (e.target.id === "toast") e.target.classList.remove("show");
  });

  // --- inbox keyboard: j/k move, Enter opens, c claims, / searches --------------------------------
  var selectedId = null;
  function rows() { return Array.prototype.slice.call(document.querySelectorAll("#ticket-rows > .ticket-row")); }
  function select(row) {
    rows().forEach(function (r) { r.classList.remove("selected"); r.removeAttribute("aria-selected"); });
    if (!row) return;
    row.classList.add("selected");
    row.setAttribute("aria-selected", "true");
    selectedId = row.id;
    row.scrollIntoView({ block: "nearest" });
  }
  function restoreSelection() {
    if (!selectedId) return;
    var row = document.getElementById(selectedId);
    if (row) { row.classList.add("selected"); row.setAttribute("aria-selected", "true"); }
  }
  document.addEventListener("keydown", function (e) {
    if (!document.getElementById("ticket-rows")) return;
    if (e.ctrlKey || e.metaKey || e.altKey || e.isComposing) return;
    if (e.target.closest("input, textarea, select, [contenteditable]")) {
      if (e.key === "Escape") e.target.blur();
      return;
    }
    var list = rows();
    var current = selectedId && document.getElementById(selectedId);
    var index = current ? list.indexOf(current) : -1;
    if (e.key === "j" || e.key === "ArrowDown" && current) {
      e.preventDefault();
      select(list[Math.min(index + 1, list.length - 1)]);
    } else if (e.key === "k" || e.key === "ArrowUp" && current) {
      e.preventDefault();
      select(list[Math.max(index - 1, 0)]);
    } else if (e.key === "Enter" && current) {
      e.preventDefault();
      current.querySelector("a.row-link").click();
    } else if (e.key === "c" && current) {
      var claim = current.querySelector("[data-claim]");
      if (claim) { e.preventDefault(); claim.click(); }
    } else if (e.key === "/") {
      var search = document.querySelector(".search input[type=search]");
      if (search) { e.preventDefault(); search.focus(); search.select(); }
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    installSocketFactory();
    refreshTimes();
    var list = document.getElementById("message-list");
    if (list) list.scrollTop = list.scrollHeight;
  });
})();

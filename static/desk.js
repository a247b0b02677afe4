/* Desk: the little JavaScript there is. Every page works without it; this adds the
   live parts htmx does not do itself:
   - each (re)connect of the websocket says what the tab already has (resume),
   - pushed rows/lines replace their older copy and the inbox keeps its order,
   - "waiting 4 min" keeps counting, the transcript follows new lines,
   - keyboard: j/k/Enter/c// in the inbox, Enter/Shift+Enter in the composer,
   - the typing indicator, the connection state, error toasts,
   - focus stays where it was when pushed rows replace their older copy, and a new
     escalation is told to screen readers (#inbox-announcer),
   - the panels behind a button on narrow screens (the menu, the inbox's filters, a
     ticket's details): [data-disclosure] buttons, [data-closes] buttons, Escape. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // The page's language: Django's JavaScriptCatalog (/jsi18n/, loaded first) defines these.
  var gettext = window.gettext || function (s) { return s; };
  var ngettext = window.ngettext || function (s, p, n) { return n === 1 ? s : p; };
  var interpolate = window.interpolate || function (f, o) {
    return f.replace(/%\((\w+)\)s/g, function (m, k) { return String(o[k]); });
  };
  var lang = document.documentElement.lang || "en";
  function number(n, digits) {
    return Number(n).toLocaleString(lang, { maximumFractionDigits: digits || 0 });
  }

  // --- the agent's time zone: the browser's, unless they chose one on their profile -------
  // The page says where to report it (data-time-zone-url) only while none is chosen.
  function reportTimeZone() {
    var body = document.body;
    var url = body && body.dataset.timeZoneUrl;
    var zone = "";
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { return; }
    if (!url || !zone || zone === body.dataset.browserTimeZone) return;
    body.dataset.browserTimeZone = zone;
    var data = new FormData();
    data.append("time_zone", zone);
    fetch(url, { method: "POST", body: data, headers: { "X-CSRFToken": csrfToken() },
                 credentials: "same-origin" }).catch(function () {});
  }

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
    liveState(opened ? gettext("Reconnecting…") : gettext("Connecting…"), "connecting");
  });
  document.addEventListener("htmx:wsOpen", function (e) {
    socket = e.detail.socketWrapper;
    opened = true;
    liveState(gettext("Live"), "live");
  });
  document.addEventListener("htmx:wsClose", function (e) {
    socket = null;
    liveState(gettext("Offline, reconnecting…"), "offline");
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
    rememberFocus();
    rowsBefore = rowIds();
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

  // A picture or player that finishes loading after its line arrived makes the line taller:
  // a transcript that was following the conversation keeps following it.
  var followUntil = 0;
  document.addEventListener("load", function (e) {
    var list = document.getElementById("message-list");
    if (!list || Date.now() > followUntil || !list.contains(e.target)) return;
    var grew = e.target.offsetHeight || 0;  // how much the line grew as it loaded
    if (list.scrollHeight - list.scrollTop - list.clientHeight < 120 + grew) {
      list.scrollTop = list.scrollHeight;
    }
  }, true);

  document.addEventListener("htmx:wsAfterMessage", function () {
    document.querySelectorAll("[data-upsert]").forEach(tidy);
    restoreFocus();
    announceNewRows();
    restoreSelection();
    refreshTimes();
    markTypers();
    if (toastArrived) showToast();
    var list = document.getElementById("message-list");
    if (list && stickToBottom) {
      list.scrollTop = list.scrollHeight;
      followUntil = Date.now() + 5000;
    }
  });

  // --- focus stays put when pushed content replaces what held it --------------------------
  // A pushed row, side bar or form replaces its older copy: if that copy held the focus,
  // the same control in the new copy gets it (or, when it is gone, the nearest part of
  // the page that is still there), without scrolling. Rows arriving never take it.
  var focusMemo = null;
  function signature(el) {
    return [el.tagName, el.getAttribute("name") || "", el.className || "", el.hasAttribute("data-claim")].join("|");
  }
  function rememberFocus() {
    var el = document.activeElement;
    focusMemo = null;
    if (!el || el === document.body || el === document.documentElement) return;
    var path = [], anchors = [], node = el;
    if (el.id) anchors.push(el.id);
    while (node.parentElement && node !== document.body) {
      if (!anchors.length) path.unshift(Array.prototype.indexOf.call(node.parentElement.children, node));
      node = node.parentElement;
      if (node.id) anchors.push(node.id);
    }
    focusMemo = { el: el, path: path, anchors: anchors, signature: signature(el) };
  }
  function restoreFocus() {
    var memo = focusMemo;
    focusMemo = null;
    if (!memo || document.contains(memo.el)) return;
    var active = document.activeElement;
    if (active && active !== document.body && active !== document.documentElement) return;
    for (var i = 0; i < memo.anchors.length; i++) {
      var anchor = document.getElementById(memo.anchors[i]);
      if (!anchor) continue;
      var target = anchor;
      if (i === 0) {
        memo.path.forEach(function (index) { target = target && target.children[index]; });
        if (!target || signature(target) !== memo.signature) target = anchor;
      }
      if (target === anchor && target.tabIndex < 0 && !target.hasAttribute("tabindex")) {
        target.setAttribute("tabindex", "-1");
      }
      target.focus({ preventScroll: true });
      return;
    }
  }

  // --- a new escalation, told to screen readers once --------------------------------------
  var rowsBefore = null;
  function rowIds() {
    var ids = {};
    document.querySelectorAll("#ticket-rows > .ticket-row").forEach(function (row) { ids[row.id] = true; });
    return ids;
  }
  function announceNewRows() {
    var announcer = document.getElementById("inbox-announcer");
    if (!announcer || !rowsBefore) return;
    var fresh = rows().filter(function (row) {
      return !rowsBefore[row.id] && row.classList.contains("row-pending");
    });
    rowsBefore = null;
    if (!fresh.length) return;
    var title = fresh[0].querySelector(".row-link");
    announcer.textContent = fresh.length === 1
      ? interpolate(gettext("New ticket: %(title)s"), { title: title ? title.textContent.trim() : "" }, true)
      : interpolate(ngettext("%(count)s new ticket", "%(count)s new tickets", fresh.length), { count: fresh.length }, true);
  }

  // --- the header's height, for the layouts below it (it takes two rows in some languages) --
  function measureTopbar() {
    var bar = document.querySelector(".topbar");
    if (bar) document.documentElement.style.setProperty("--topbar-h", bar.offsetHeight + "px");
  }
  if (window.ResizeObserver) {
    document.addEventListener("DOMContentLoaded", function () {
      var bar = document.querySelector(".topbar");
      if (bar) new ResizeObserver(measureTopbar).observe(bar);
    });
  }

  // --- panels behind a button on narrow screens ---------------------------------------------
  function visible(el) { return !!(el && el.getClientRects().length); }
  function togglesOf(panel) {
    return Array.prototype.slice.call(
      document.querySelectorAll('[data-disclosure][aria-controls="' + panel.id + '"]'));
  }
  function setPanel(panel, open) {
    panel.classList.toggle("open", open);
    togglesOf(panel).forEach(function (button) { button.setAttribute("aria-expanded", String(open)); });
  }
  function closePanel(panel) {
    var hadFocus = panel.contains(document.activeElement);
    setPanel(panel, false);
    var toggle = togglesOf(panel).filter(visible)[0];
    if (toggle && (hadFocus || document.activeElement === document.body)) toggle.focus();
  }
  function openPanelAround(el) {
    for (var node = el; node && node !== document.body; node = node.parentElement) {
      if (node.id && node.classList.contains("open") && togglesOf(node).length) return node;
    }
    return null;
  }
  document.addEventListener("click", function (e) {
    var toggle = e.target.closest("[data-disclosure]");
    if (toggle) {
      var panel = document.getElementById(toggle.getAttribute("aria-controls"));
      if (!panel) return;
      setPanel(panel, toggle.getAttribute("aria-expanded") !== "true");
      // A panel shown in place of its button (a ticket's details) takes the focus.
      if (panel.classList.contains("open") && !visible(toggle)) {
        var back = panel.querySelector("[data-closes]");
        if (back) back.focus();
      }
      return;
    }
    var closer = e.target.closest("[data-closes]");
    if (closer) {
      var target = document.getElementById(closer.dataset.closes);
      if (target) closePanel(target);
      return;
    }
    var menu = document.getElementById("topbar-menu");
    if (menu && menu.classList.contains("open") && !e.target.closest(".topbar")) setPanel(menu, false);
  });
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Escape" || e.defaultPrevented) return;
    if (e.target.closest && e.target.closest("details.nav-menu[open]")) return;  // it closes first
    var panel = openPanelAround(e.target);
    if (!panel && e.target.matches && e.target.matches('[data-disclosure][aria-expanded="true"]')) {
      panel = document.getElementById(e.target.getAttribute("aria-controls"));
    }
    if (panel) closePanel(panel);
  });

  // --- "waiting 4 min" ---------------------------------------------------------------------
  // The same words as desk/templatetags/durations.py, from the same catalog entries.
  function waited(since) {
    var minutes = Math.floor((Date.now() - since.getTime()) / 60000);
    if (minutes < 1) return gettext("<1 min");
    if (minutes < 60) return interpolate(gettext("%(minutes)s min"), { minutes: minutes }, true);
    var hours = Math.floor(minutes / 60), rest = minutes % 60;
    if (hours < 24) {
      return rest ? interpolate(gettext("%(hours)s h %(minutes)s min"), { hours: hours, minutes: rest }, true)
                  : interpolate(gettext("%(hours)s h"), { hours: hours }, true);
    }
    return interpolate(gettext("%(days)s d"), { days: Math.floor(hours / 24) }, true);
  }
  function refreshTimes() {
    document.querySelectorAll("time[data-waiting]").forEach(function (el) {
      var since = new Date(el.getAttribute("datetime"));
      if (!isNaN(since)) el.textContent = interpolate(gettext("waiting %(time)s"), { time: waited(since) }, true);
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
  var unsentFiles = [];
  document.addEventListener("keydown", function (e) {
    if (!e.target.matches("#composer textarea")) return;
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing && !e.altKey && !e.ctrlKey && !e.metaKey) {
      e.preventDefault();
      if (e.target.value.trim() || attachedCount(e.target.form)) e.target.form.requestSubmit();
    }
  });
  document.addEventListener("htmx:wsAfterSend", function (e) {
    var form = e.target.closest && e.target.closest("#composer");
    if (!form) return;
    var area = form.querySelector("textarea");
    unsent = area.value;
    area.value = "";
    var list = attachmentList(form);
    if (list) {
      unsentFiles = Array.prototype.slice.call(list.children);
      list.replaceChildren();
      list.hidden = true;
      syncRequired(form);
    }
    area.focus();
    lastTyping = 0;
  });

  // --- attachments: the button, drag and drop, paste; uploaded before sending ---------------
  // Each file is stored by Desk first (POST /tickets/ID/files/, with a progress bar); the
  // message then names the stored files (hidden inputs "files"), so a message is only
  // sent once its files are kept. A file can be removed before sending.
  function csrfToken() {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || ""; }
    catch (e) { return ""; }
  }
  function attachmentList(form) { return form.querySelector(".attachments"); }
  function uploading(form) { return form.querySelectorAll(".attachment.uploading").length; }
  function attachedCount(form) { return form.querySelectorAll(".attachment input[name=files]").length; }
  function syncRequired(form) {
    var area = form.querySelector("textarea");
    if (area) area.required = attachedCount(form) === 0 && uploading(form) === 0;
  }
  function humanSize(n) {
    if (n < 1024) return interpolate(ngettext("%(size)s byte", "%(size)s bytes", n), { size: number(n) }, true);
    if (n < 1024 * 1024) return interpolate(gettext("%(size)s KiB"), { size: number(n / 1024, 1) }, true);
    return interpolate(gettext("%(size)s MiB"), { size: number(n / 1024 / 1024, 1) }, true);
  }
  function attach(form, file) {
    var list = attachmentList(form);
    if (!list || !form.dataset.uploadUrl) return;
    var item = document.createElement("li");
    item.className = "attachment uploading";
    var name = file.name || gettext("pasted-image.png");
    var label = document.createElement("span");
    label.className = "attachment-name";
    label.textContent = name + " · " + humanSize(file.size);
    var bar = document.createElement("progress");
    bar.max = 100; bar.value = 0;
    bar.setAttribute("aria-label", interpolate(gettext("Uploading %(name)s"), { name: name }, true));
    var remove = document.createElement("button");
    remove.type = "button"; remove.className = "attachment-remove";
    remove.textContent = "×";
    remove.setAttribute("aria-label", interpolate(gettext("Remove %(name)s"), { name: name }, true));
    item.append(label, bar, remove);
    list.append(item);
    list.hidden = false;
    syncRequired(form);
    var xhr = new XMLHttpRequest();
    remove.addEventListener("click", function () {
      xhr.abort();
      item.remove();
      list.hidden = !list.children.length;
      syncRequired(form);
    });
    xhr.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) bar.value = Math.round(100 * e.loaded / e.total);
    });
    xhr.addEventListener("load", function () {
      var data = {};
      try { data = JSON.parse(xhr.responseText); } catch (e) {}
      item.classList.remove("uploading");
      bar.remove();
      if (xhr.status !== 201) {
        item.classList.add("failed");
        label.textContent = interpolate(gettext("%(name)s: %(error)s"),
          { name: name, error: data.message || gettext("the upload failed.") }, true);
        syncRequired(form);
        return;
      }
      var input = document.createElement("input");
      input.type = "hidden"; input.name = "files"; input.value = data.fileId;
      item.append(input);
      item.dataset.fileId = data.fileId;
      if (data.kind === "image" && data.thumbnailUrl) {
        var img = document.createElement("img");
        img.src = data.thumbnailUrl; img.alt = data.name; img.className = "attachment-thumb";
        item.insertBefore(img, label);
      } else {
        var icon = document.createElement("span");
        icon.className = "file-icon"; icon.setAttribute("aria-hidden", "true");
        icon.textContent = (data.name.split(".").pop() || "file").slice(0, 4).toUpperCase();
        item.insertBefore(icon, label);
      }
      label.textContent = data.name + " · " + data.sizeLabel;
      syncRequired(form);
    });
    xhr.addEventListener("error", function () {
      item.classList.remove("uploading"); item.classList.add("failed"); bar.remove();
      label.textContent = interpolate(gettext("%(name)s: %(error)s"),
        { name: name, error: gettext("the upload failed. Check your connection.") }, true);
      syncRequired(form);
    });
    xhr.open("POST", form.dataset.uploadUrl);
    xhr.setRequestHeader("X-CSRFToken", csrfToken());
    xhr.setRequestHeader("Accept", "application/json");
    var body = new FormData();
    body.append("file", file, name);
    xhr.send(body);
  }
  function attachAll(form, files) {
    Array.prototype.forEach.call(files || [], function (file) { attach(form, file); });
  }
  document.addEventListener("change", function (e) {
    if (!e.target.matches("#composer .attach-input")) return;
    attachAll(e.target.form, e.target.files);
    e.target.value = "";
  });
  document.addEventListener("paste", function (e) {
    var form = e.target.closest && e.target.closest("#composer");
    var files = e.clipboardData && e.clipboardData.files;
    if (!form || !files || !files.length) return;
    e.preventDefault();
    attachAll(form, files);
  });
  function dropTarget(e) {
    var section = e.target.closest && e.target.closest(".conversation");
    return section && section.querySelector("#composer[data-upload-url]") ? section : null;
  }
  document.addEventListener("dragover", function (e) {
    var section = dropTarget(e);
    if (!section || !e.dataTransfer || Array.prototype.indexOf.call(e.dataTransfer.types, "Files") < 0) return;
    e.preventDefault();
    section.classList.add("dropping");
  });
  document.addEventListener("dragleave", function (e) {
    var section = dropTarget(e);
    if (section && !section.contains(e.relatedTarget)) section.classList.remove("dropping");
  });
  document.addEventListener("drop", function (e) {
    var section = dropTarget(e);
    if (!section || !e.dataTransfer || !e.dataTransfer.files.length) return;
    e.preventDefault();
    section.classList.remove("dropping");
    attachAll(section.querySelector("#composer"), e.dataTransfer.files);
  });
  // Never send while a file is still uploading: its id would be missing from the message.
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (form.id !== "composer" || !uploading(form)) return;
    e.preventDefault();
    e.stopImmediatePropagation();
    var toast = document.getElementById("toast");
    if (toast) { toast.textContent = gettext("Wait for the upload to finish, then send."); toast.dataset.source = ""; showToast(); }
  }, true);

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
    var list = area && attachmentList(area.form);
    if ((source === "reply" || source === "note") && list && !list.children.length && unsentFiles.length) {
      unsentFiles.forEach(function (item) { list.append(item); });  // and the files
      list.hidden = false;
      syncRequired(area.form);
    }
    unsent = "";
    unsentFiles = [];
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { toast.classList.remove("show"); }, 6000);
  }

  document.addEventListener("click", function (e) {
    if (e.target.id === "toast") e.target.classList.remove("show");
  });

  // --- the top bar's Settings menu: a click elsewhere or Escape closes it --------------------
  document.addEventListener("click", function (e) {
    document.querySelectorAll("details.nav-menu[open]").forEach(function (menu) {
      if (!menu.contains(e.target)) menu.open = false;
    });
  });
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Escape") return;
    var menu = e.target.closest && e.target.closest("details.nav-menu[open]");
    if (menu) { menu.open = false; menu.querySelector("summary").focus(); }
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
      var filters = document.getElementById("inbox-filters");
      if (search && !visible(search) && filters) setPanel(filters, true);  // a narrow screen
      if (search) { e.preventDefault(); search.focus(); search.select(); }
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    installSocketFactory();
    refreshTimes();
    reportTimeZone();
    var list = document.getElementById("message-list");
    if (list) {
      list.scrollTop = list.scrollHeight;
      followUntil = Date.now() + 5000;
    }
  });
})();

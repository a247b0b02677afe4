/* Desk: canned responses in the composer. Typing "/" at the start of a word opens a list
   of the agent's responses (#canned-list, drawn by the ticket page with each body already
   filled in for this ticket), filtered as they type by code and title. Arrow keys move,
   Enter or a click inserts, Escape closes; the agent edits the text before sending.

   The message box is an ARIA combobox (role, aria-expanded, aria-controls,
   aria-activedescendant) while the list exists; focus never leaves it. The keys are
   caught before desk.js's "Enter sends", and only while the list is open. An inserted
   response adds a hidden "canned" field to the form: sending counts one use of it. */
(function () {
  "use strict";
  var gettext = window.gettext || function (s) { return s; };
  var ngettext = window.ngettext || function (s, p, n) { return n === 1 ? s : p; };
  var interpolate = window.interpolate || function (f, o) {
    return f.replace(/%\((\w+)\)s/g, function (m, k) { return String(o[k]); });
  };

  var start = -1;  // where the "/" of the word being completed is

  function box() { return document.querySelector("#composer textarea"); }
  function list() { return document.getElementById("canned-list"); }
  function isOpen() { var l = list(); return !!l && !l.hidden; }
  function options() { return Array.prototype.slice.call(list().querySelectorAll("[role=option]")); }
  function shown() { return options().filter(function (o) { return !o.hidden; }); }
  function active() { return list().querySelector("[role=option][aria-selected=true]"); }

  function setUp() {
    var area = box(), picker = list();
    if (!area || !picker || area.dataset.canned) return;
    area.dataset.canned = "on";
    area.setAttribute("role", "combobox");
    area.setAttribute("aria-autocomplete", "list");
    area.setAttribute("aria-haspopup", "listbox");
    area.setAttribute("aria-controls", picker.id);
    area.setAttribute("aria-expanded", "false");
    // The order the page drew (most used first), to come back to after a filter.
    options().forEach(function (o, i) { o.dataset.order = String(i); });
  }

  // The word before the caret, when it starts with "/" at the start of the text or of a
  // line or after a space: {start, query}; otherwise null ("and/or" opens nothing).
  function word(area) {
    if (area.selectionStart !== area.selectionEnd) return null;
    var before = area.value.slice(0, area.selectionStart);
    var m = /(^|\s)\/([^\s/]*)$/.exec(before);
    if (!m) return null;
    return { start: before.length - m[2].length - 1, query: m[2].toLowerCase() };
  }

  // Codes that start with what was typed first, then codes that contain it and titles
  // with a word that starts with it ("pol" finds "Refund policy"); within each, the
  // page's order (most used first).
  function titleMatches(title, query) {
    return title.split(/[^\p{L}\p{N}]+/u).some(function (w) { return w.indexOf(query) === 0; });
  }
  function filter(query) {
    var ranked = [];
    options().forEach(function (o) {
      var code = o.dataset.code.toLowerCase(), title = o.dataset.title.toLowerCase();
      var rank = code.indexOf(query) === 0 ? 0
        : code.indexOf(query) > 0 || titleMatches(title, query) ? 1 : -1;
      o.hidden = rank < 0;
      if (rank >= 0) ranked.push([rank, Number(o.dataset.order), o]);
    });
    ranked.sort(function (a, b) { return a[0] - b[0] || a[1] - b[1]; });
    var picker = list();
    ranked.forEach(function (r) { picker.appendChild(r[2]); });
    return ranked.map(function (r) { return r[2]; });
  }

  function say(text) {
    var status = document.getElementById("canned-status");
    if (status && status.textContent !== text) status.textContent = text;
  }

  function activate(option) {
    var area = box();
    options().forEach(function (o) { o.setAttribute("aria-selected", o === option ? "true" : "false"); });
    if (option) {
      area.setAttribute("aria-activedescendant", option.id);
      option.scrollIntoView({ block: "nearest" });
    } else {
      area.removeAttribute("aria-activedescendant");
    }
  }

  function open(matches) {
    var picker = list(), area = box();
    var current = active();
    picker.hidden = false;
    area.setAttribute("aria-expanded", "true");
    activate(current && !current.hidden ? current : matches[0]);
    say(interpolate(ngettext("%(n)s canned response", "%(n)s canned responses", matches.length),
                    { n: matches.length }, true));
  }

  function close() {
    var picker = list(), area = box();
    if (!picker || !area) return;
    if (!picker.hidden) say("");
    picker.hidden = true;
    area.setAttribute("aria-expanded", "false");
    activate(null);
    start = -1;
  }

  function update() {
    var area = box();
    if (!area || !list()) return;
    var found = word(area);
    var matches = found ? filter(found.query) : [];
    if (!found) { close(); return; }
    start = found.start;
    if (!matches.length) {
      close();
      say(gettext("No canned response matches."));
      return;
    }
    open(matches);
  }

  function insert(option) {
    var area = box();
    if (!area || !option || start < 0) return;
    var body = option.dataset.body;
    var end = area.selectionStart;
    area.value = area.value.slice(0, start) + body + area.value.slice(end);
    var from = start, to = start + body.length;
    close();
    area.focus();
    // A placeholder the ticket has no value for (a customer without a name) is selected,
    // to be typed over; otherwise the caret goes after the inserted text.
    var gap = /\{(customerName|agentName|ticketNumber|botName)\}/.exec(body);
    if (gap) area.setSelectionRange(from + gap.index, from + gap.index + gap[0].length);
    else area.setSelectionRange(to, to);
    var form = area.form;
    var id = option.dataset.cannedId;
    if (form && !form.querySelector('input[name=canned][value="' + id + '"]')) {
      var used = document.createElement("input");
      used.type = "hidden"; used.name = "canned"; used.value = id;
      form.appendChild(used);
    }
    say(interpolate(gettext("Inserted %(title)s."), { title: option.dataset.title }, true));
    area.dispatchEvent(new Event("input", { bubbles: true }));  // the typing indicator
  }

  function move(step) {
    var matches = shown();
    if (!matches.length) return;
    var index = matches.indexOf(active());
    index = index < 0 ? 0 : (index + step + matches.length) % matches.length;
    activate(matches[index]);
  }

  document.addEventListener("input", function (e) {
    if (!e.target.matches("#composer textarea")) return;
    setUp();
    update();
  });

  // Caught before desk.js's handler (capture), and only while the list is open: Enter
  // then picks instead of sending, Escape closes the list and nothing else.
  document.addEventListener("keydown", function (e) {
    if (!e.target.matches("#composer textarea") || !isOpen() || e.isComposing) return;
    var handled = true;
    if (e.key === "ArrowDown") move(1);
    else if (e.key === "ArrowUp") move(-1);
    else if (e.key === "Enter" && !e.shiftKey && !e.altKey && !e.ctrlKey && !e.metaKey) insert(active());
    else if (e.key === "Escape") close();
    else handled = false;
    if (handled) { e.preventDefault(); e.stopImmediatePropagation(); }
  }, true);

  // The caret moved without typing (arrow keys, a click): the word under it may differ.
  document.addEventListener("keyup", function (e) {
    if (!e.target.matches("#composer textarea") || !list()) return;
    if (["ArrowLeft", "ArrowRight", "Home", "End"].indexOf(e.key) >= 0) update();
  });
  document.addEventListener("click", function (e) {
    if (e.target.matches && e.target.matches("#composer textarea") && list()) update();
  });

  // A click on an option inserts it; pressing the mouse keeps the focus in the box.
  document.addEventListener("mousedown", function (e) {
    if (e.target.closest && e.target.closest("#canned-list [role=option]")) e.preventDefault();
  });
  document.addEventListener("click", function (e) {
    var option = e.target.closest && e.target.closest("#canned-list [role=option]");
    if (option) insert(option);
  });
  document.addEventListener("focusout", function (e) {
    if (e.target.matches && e.target.matches("#composer textarea")) close();
  });

  // Sent: the next message starts without the responses this one was made with.
  document.addEventListener("htmx:wsAfterSend", function (e) {
    var form = e.target.closest && e.target.closest("#composer");
    if (!form) return;
    form.querySelectorAll("input[name=canned]").forEach(function (input) { input.remove(); });
    close();
  });

  document.addEventListener("DOMContentLoaded", setUp);
})();

/* Desk: the approvals pages' JavaScript. Every page works without it; this adds
   - "expires in 12 min" that keeps counting (and "expired"),
   - on an approval: which approve button applies (as asked, or with your changes),
     changed arguments marked, JSON text areas checked before sending, a reason
     asked for before rejecting, and the keys a (approve) and r (reject). */
(function () {
  "use strict";
  // The page's language: Django's JavaScriptCatalog (/jsi18n/, loaded first) defines these.
  var gettext = window.gettext || function (s) { return s; };
  var interpolate = window.interpolate || function (f, o) {
    return f.replace(/%\((\w+)\)s/g, function (m, k) { return String(o[k]); });
  };

  // --- "expires in 12 min" -------------------------------------------------------------------
  function expiresIn(when) {
    var seconds = (when.getTime() - Date.now()) / 1000;
    if (seconds <= 0) return gettext("expired");
    return interpolate(gettext("expires in %(time)s"), { time: span(Math.floor(seconds / 60)) }, true);
  }
  // The same words as desk/templatetags/durations.py, from the same catalog entries.
  function span(minutes) {
    if (minutes < 1) return gettext("<1 min");
    if (minutes < 60) return interpolate(gettext("%(minutes)s min"), { minutes: minutes }, true);
    var hours = Math.floor(minutes / 60), rest = minutes % 60;
    if (hours < 24) {
      return rest ? interpolate(gettext("%(hours)s h %(minutes)s min"), { hours: hours, minutes: rest }, true)
                  : interpolate(gettext("%(hours)s h"), { hours: hours }, true);
    }
    return interpolate(gettext("%(days)s d"), { days: Math.floor(hours / 24) }, true);
  }
  function refreshExpiries() {
    document.querySelectorAll("time[data-expires]").forEach(function (el) {
      var when = new Date(el.getAttribute("datetime"));
      if (isNaN(when)) return;
      el.textContent = expiresIn(when);
      var left = when.getTime() - Date.now();
      el.classList.toggle("over", left <= 0);
      el.classList.toggle("soon", left > 0 && left < 5 * 60000);
    });
  }
  setInterval(refreshExpiries, 15000);
  document.addEventListener("htmx:wsAfterMessage", function () { refreshExpiries(); wire(); });

  // --- the decision form ----------------------------------------------------------------------
  function form() { return document.getElementById("approval-form"); }

  // Changed from what the bot asked (data-original), not from what the page loaded
  // with: a form sent back with an error already holds the agent's changes.
  function fieldChanged(el) {
    var original = el.dataset.original || "";
    if (el.type === "checkbox") return String(el.checked) !== original;
    if (el.dataset.json !== undefined) return el.value.replace(/\r\n/g, "\n") !== original;
    return el.value !== original;
  }

  function argumentInputs(f) {
    return Array.prototype.slice.call(f.querySelectorAll(".arg input, .arg select, .arg textarea"));
  }

  function update() {
    var f = form();
    if (!f) return;
    var dirty = false;
    argumentInputs(f).forEach(function (el) {
      var changed = fieldChanged(el);
      el.closest(".arg").classList.toggle("changed", changed);
      dirty = dirty || changed;
    });
    f.dataset.dirty = dirty ? "true" : "false";
    var approve = f.querySelector("[data-approve]");
    var withChanges = f.querySelector("[data-approve-changes]");
    if (approve) approve.disabled = dirty;
    if (withChanges) {
      withChanges.disabled = !dirty;
      withChanges.classList.toggle("primary", dirty);
    }
    if (approve) approve.classList.toggle("primary", !dirty);
  }

  function jsonProblems(f) {
    var bad = null;
    f.querySelectorAll("textarea[data-json]").forEach(function (area) {
      area.setCustomValidity("");
      if (!area.value.trim()) return;
      try { JSON.parse(area.value); } catch (err) {
        area.setCustomValidity(interpolate(gettext("This is not valid JSON: %(error)s"), { error: err.message }, true));
        bad = bad || area;
      }
    });
    return bad;
  }

  function wire() {
    var f = form();
    if (!f || f.dataset.wired) return;
    f.dataset.wired = "true";
    f.addEventListener("input", update);
    f.addEventListener("change", update);
    f.addEventListener("submit", function (e) {
      var button = e.submitter;
      var decision = button && button.value;
      if (decision === "reject") {
        var reason = document.getElementById("reason");
        if (!reason.value.trim()) {
          e.preventDefault();
          reason.setCustomValidity(gettext("Write why you reject it: the bot tells the customer."));
          reason.reportValidity();
          reason.focus();
        }
        return;
      }
      var bad = jsonProblems(f);
      if (bad) { e.preventDefault(); bad.reportValidity(); bad.focus(); }
    });
    document.getElementById("reason").addEventListener("input", function (e) { e.target.setCustomValidity(""); });
    document.getElementById("reason").addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.target.value.trim()) {
        e.preventDefault();
        f.querySelector("[data-reject]").click();
      }
    });
    update();
  }

  // --- keyboard: a approves, r rejects --------------------------------------------------------
  document.addEventListener("keydown", function (e) {
    var f = form();
    if (!f || e.ctrlKey || e.metaKey || e.altKey || e.isComposing) return;
    if (e.target.closest("input, textarea, select, [contenteditable]")) {
      if (e.key === "Escape") e.target.blur();
      return;
    }
    if (e.key === "a") {
      e.preventDefault();
      var dirty = f.dataset.dirty === "true";
      f.querySelector(dirty ? "[data-approve-changes]" : "[data-approve]").click();
    } else if (e.key === "r") {
      e.preventDefault();
      var reason = document.getElementById("reason");
      if (reason.value.trim()) { f.querySelector("[data-reject]").click(); return; }
      reason.focus();
      reason.setAttribute("placeholder", gettext("Why do you reject it? Enter rejects."));
    }
  });

  document.addEventListener("DOMContentLoaded", function () { refreshExpiries(); wire(); });
})();

// Cellule's only script besides htmx. No inline script anywhere: the CSP forbids it.
(function () {
  "use strict";

  // Every htmx request carries the CSRF token of the page.
  document.addEventListener("htmx:configRequest", function (event) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) {
      event.detail.headers["X-CSRFToken"] = meta.getAttribute("content");
    }
  });

  // Selects marked .autosubmit submit their form on change (the button stays for no-JS use).
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.classList && target.classList.contains("autosubmit") && target.form) {
      target.form.requestSubmit();
    }
  });

  // With JS on, hide the buttons only needed without it.
  document.documentElement.classList.add("js");

  // No health data in browser storage: htmx 2 keeps the current path (with its query string,
  // which may hold a search) in sessionStorage for its history cache; the cache is off
  // (historyCacheSize 0, refreshOnHistoryMiss), so forget the path whenever htmx writes it.
  function forgetHistoryPath() {
    try {
      window.sessionStorage.removeItem("htmx-current-path-for-history");
      window.sessionStorage.removeItem("htmx-history-cache");
    } catch (e) {
      // storage disabled: nothing to forget
    }
  }
  document.addEventListener("DOMContentLoaded", forgetHistoryPath);
  ["htmx:pushedIntoHistory", "htmx:replacedInHistory", "htmx:historyRestore", "htmx:afterSettle"]
    .forEach(function (name) { document.addEventListener(name, forgetHistoryPath); });

  // htmx swaps error responses too when the server marks them as form re-renders (422/409).
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    if (status === 422 || status === 409) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // A live part that re-renders the answers it holds (the triage's safety section, marked
  // data-stale-guard): an answer given while its request was in flight queues the next
  // request (hx-sync "queue last"); the first answer's response, older than what is on
  // screen, is not swapped in, else it would uncheck the newer answer before the queued
  // request reads the form. (An abort instead would log htmx:sendAbort as an error.)
  function guarded(event) {
    var elt = event.detail.elt;
    return elt && elt.hasAttribute && elt.hasAttribute("data-stale-guard") ? elt : null;
  }
  document.addEventListener("htmx:trigger", function (event) {
    var elt = guarded(event);
    if (elt) { elt.celluleTriggers = (elt.celluleTriggers || 0) + 1; }
  });
  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = guarded(event);
    if (elt && event.detail.xhr) { event.detail.xhr.celluleSeen = elt.celluleTriggers || 0; }
  });
  document.addEventListener("htmx:beforeSwap", function (event) {
    var elt = guarded(event);
    if (elt && event.detail.xhr.celluleSeen !== (elt.celluleTriggers || 0)) {
      event.detail.shouldSwap = false;
    }
  });

  // An htmx call that failed (server error, 503 during an outage, network down) is not
  // swapped: say so where flashes appear, once, instead of a click that seems to do nothing.
  function sayUnreachable() {
    var flashes = document.getElementById("flashes");
    if (!flashes || flashes.querySelector(".flash-unreachable")) { return; }
    var p = document.createElement("p");
    p.className = "flash flash-error flash-unreachable";
    p.setAttribute("role", "alert");
    p.textContent = flashes.getAttribute("data-unreachable");
    flashes.appendChild(p);
  }
  function byPerson(event) {
    // Polling (the live alerts) retries by itself: only what a person did is reported.
    var elt = event.detail.elt;
    return !(elt && elt.closest && elt.closest("#live-alerts"));
  }
  document.addEventListener("htmx:responseError", function (event) {
    if (byPerson(event)) { sayUnreachable(); }
  });
  document.addEventListener("htmx:sendError", function (event) {
    if (byPerson(event)) { sayUnreachable(); }
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    // Back to normal: the next successful request takes the notice away.
    if (event.detail.successful) {
      var notice = document.querySelector("#flashes .flash-unreachable");
      if (notice) { notice.remove(); }
    }
  });
  /* homes18: the grouped navigation (its groups are <details>; on a phone the bar folds
     into one menu behind .nav-toggle) and the keyboard shortcuts with their "?" help. */
  var PHONE = window.matchMedia("(max-width: 48rem)");
  function navGroups() {
    return Array.prototype.slice.call(document.querySelectorAll(".mainnav details"));
  }
  function closeGroups(except) {
    navGroups().forEach(function (d) { if (d !== except) { d.open = false; } });
  }
  function setMenu(nav, open) {
    var toggle = nav.querySelector(".nav-toggle");
    nav.classList.toggle("open", open);
    if (toggle) { toggle.setAttribute("aria-expanded", open ? "true" : "false"); }
    // In the phone menu every group is unfolded: one tap to any entry.
    navGroups().forEach(function (d) { d.open = open && PHONE.matches; });
  }
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest && event.target.closest(".nav-toggle");
    if (toggle) {
      var nav = toggle.closest(".mainnav");
      setMenu(nav, !nav.classList.contains("open"));
      return;
    }
    if (!(event.target.closest && event.target.closest(".mainnav"))) { closeGroups(null); }
  });
  document.addEventListener("toggle", function (event) {
    var d = event.target;
    // On a wide screen, one group's menu open at a time.
    if (d.open && d.closest && d.closest(".mainnav") && !PHONE.matches) { closeGroups(d); }
  }, true);

  function typing(target) {
    if (!target || !target.closest) { return false; }
    return !!target.closest("input, textarea, select, [contenteditable=''], [contenteditable='true']");
  }
  function press(selector) {
    var control = document.querySelector(selector);
    if (control) { control.click(); }
    return !!control;
  }
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      var nav = document.querySelector(".mainnav");
      var open = navGroups().filter(function (d) { return d.open; });
      if (nav && nav.classList.contains("open")) {
        setMenu(nav, false);
        nav.querySelector(".nav-toggle").focus();
      } else if (open.length) {
        closeGroups(null);
        open[0].querySelector("summary").focus();
      }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) { return; }
    if (typing(event.target) || document.querySelector("dialog[open]")) { return; }
    var key = event.key;
    var done = false;
    if (key === "?") {
      var help = document.getElementById("shortcuts-help");
      if (help) { help.showModal(); done = true; }
    } else if (key === "/") {
      var field = document.querySelector('#main [data-shortcut="search"], #main input[type="search"]');
      if (field) {
        field.focus();
        done = true;
      } else {
        done = press('.mainnav a[data-shortcut-key="/"]');
      }
    } else if (key === "j") {
      done = press('[data-shortcut="next"]');
    } else if (key === "k") {
      done = press('[data-shortcut="previous"]');
    } else if (key.length === 1) {
      var link = document.querySelector('.mainnav a[data-shortcut-key="' + key.replace(/["\\]/g, "") + '"]');
      if (link) { window.location.assign(link.href); done = true; }
    }
    if (done) { event.preventDefault(); }
  });
})();

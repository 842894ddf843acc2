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
})();

// Flight data quality: follow the Airflow UI's light or dark mode. Loaded in <head>, before the
// stylesheet is applied, so the page never flashes the wrong colours.
//
// Airflow 3.3's UI (Chakra UI 3 with next-themes) keeps the user's choice in localStorage under
// "theme" ("light", "dark" or "system") and puts the resolved mode on its <html> as the class
// "light" or "dark". It tells a plugin's frame nothing, but the frame is on the same origin (its
// sandbox allows same-origin), so this page reads, in order:
//   1. the class on the Airflow UI's <html> (window.top): what the user sees around the frame;
//   2. Airflow's stored choice (localStorage "theme"), for the page opened on its own;
//   3. the browser's prefers-color-scheme.
// It then sets data-theme="light|dark" on its own <html>, and follows later changes (the UI's
// toggle, another tab, the system).
(function () {
  "use strict";
  var root = document.documentElement;
  var media = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;

  function parentMode() {
    try {
      if (window.top !== window.self) {
        var classes = window.top.document.documentElement.classList;
        if (classes.contains("dark")) {
          return "dark";
        }
        if (classes.contains("light")) {
          return "light";
        }
      }
    } catch (err) {
      // another origin, or no access: fall through
    }
    return null;
  }

  function storedMode() {
    try {
      var value = window.localStorage.getItem("theme");
      return value === "dark" || value === "light" ? value : null;
    } catch (err) {
      return null;
    }
  }

  function mode() {
    return parentMode() || storedMode() || (media && media.matches ? "dark" : "light");
  }

  function apply() {
    var m = mode();
    if (root.getAttribute("data-theme") !== m) {
      root.setAttribute("data-theme", m);
    }
    root.style.colorScheme = m;
  }

  apply();
  if (media) {
    if (media.addEventListener) {
      media.addEventListener("change", apply);
    } else if (media.addListener) {
      media.addListener(apply);
    }
  }
  window.addEventListener("storage", function (event) {
    if (event.key === "theme") {
      apply();
    }
  });
  try {
    if (window.top !== window.self && window.MutationObserver) {
      new MutationObserver(apply).observe(window.top.document.documentElement, {
        attributes: true,
        attributeFilter: ["class"],
      });
    }
  } catch (err) {
    // not readable: the stored choice and the system preference still apply
  }
})();

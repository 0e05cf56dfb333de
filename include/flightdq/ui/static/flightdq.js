// Flight data quality: links that leave the page when it is framed by the Airflow UI.
//
// The UI frames plugin pages in a sandboxed iframe (allow-scripts allow-same-origin allow-forms
// allow-downloads): a plain link navigates the frame, and target=_top / _blank are blocked.
// Links to Airflow pages (data-top) therefore move the UI itself, through its router (history
// pushState + popstate, what a click inside the UI does); links to other sites (target=_blank) are
// opened by an anchor in the top document. When anything fails, the browser's default applies.
(function () {
  "use strict";
  var framed = window.top !== window.self;
  if (!framed) {
    return;
  }
  function routeTop(href) {
    var top = window.top;
    var url = new URL(href, top.location.href);
    if (url.origin !== top.location.origin) {
      return false;
    }
    var state = top.history.state || {};
    var idx = typeof state.idx === "number" ? state.idx + 1 : 0;
    var key = Math.random().toString(36).slice(2, 10);
    top.history.pushState({ usr: null, key: key, idx: idx }, "", url.pathname + url.search + url.hash);
    top.dispatchEvent(new PopStateEvent("popstate", { state: top.history.state }));
    return true;
  }
  function openOutside(href) {
    var doc = window.top.document;
    var a = doc.createElement("a");
    a.href = href;
    a.target = "_blank";
    a.rel = "noopener noreferrer";
    a.style.display = "none";
    doc.body.appendChild(a);
    a.click();
    a.remove();
    return true;
  }
  document.addEventListener("click", function (event) {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) {
      return;
    }
    var a = event.target.closest && event.target.closest("a[href]");
    if (!a) {
      return;
    }
    try {
      if (a.hasAttribute("data-top") && routeTop(a.href)) {
        event.preventDefault();
      } else if (a.target === "_blank" && openOutside(a.href)) {
        event.preventDefault();
      }
    } catch (err) {
      // leave it to the browser
    }
  });
})();

// Flight data quality: the page's few behaviours, no library, nothing fetched from elsewhere.
//
// - links that leave the page when it is framed by the Airflow UI (see routeTop below);
// - the calendar opens scrolled to its latest days;
// - the Now view's clocks tick, and the view reloads itself every minute unless paused (the choice
//   is remembered in localStorage);
// - "Acknowledge" / "Undo acknowledgement" and "Add a note" post to this app with the page's own
//   header (the app refuses a request without it: another site cannot send it);
// - the remediation runs' states follow Airflow without a reload: the page polls the small
//   runs.json of the day while a run is unfinished (and after a trigger), every few seconds;
// - "Dry-run repair", "Repair", "Re-check" open a confirmation dialog, then trigger the DAG through
//   Airflow's REST API with the user's own login (see flightdq/ui/actions.py for why).
(function () {
  "use strict";
  var framed = window.top !== window.self;
  var body = document.body;

  // --- links out of the frame ---------------------------------------------------------------------
  // The UI frames plugin pages in a sandboxed iframe (allow-scripts allow-same-origin allow-forms
  // allow-downloads): a plain link navigates the frame, and target=_top / _blank are blocked.
  // Links to Airflow pages (data-top) therefore move the UI itself, through its router (history
  // pushState + popstate, what a click inside the UI does); links to other sites (target=_blank) are
  // opened by an anchor in the top document. When anything fails, the browser's default applies.
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
  if (framed) {
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
  }

  // --- the calendar opens on its latest days --------------------------------------------------------
  document.querySelectorAll("[data-scroll-end]").forEach(function (box) {
    box.scrollLeft = box.scrollWidth;
  });

  // --- requests to this app and to Airflow ----------------------------------------------------------
  function actionHeaders(extra) {
    var headers = { Accept: "application/json" };
    headers[body.dataset.actionHeader || "X-Requested-By"] = body.dataset.actionValue || "flightdq";
    Object.keys(extra || {}).forEach(function (k) {
      headers[k] = extra[k];
    });
    return headers;
  }
  function reply(response) {
    return response.text().then(function (text) {
      var data = null;
      try {
        data = text ? JSON.parse(text) : null;
      } catch (err) {
        data = null;
      }
      return { ok: response.ok, status: response.status, data: data, text: text };
    });
  }
  function problem(result) {
    var detail = result.data && result.data.detail;
    if (Array.isArray(detail)) {
      detail = detail
        .map(function (d) {
          return d.msg || JSON.stringify(d);
        })
        .join("; ");
    } else if (detail && typeof detail === "object") {
      detail = JSON.stringify(detail);
    }
    var why = {
      401: "your Airflow login has expired: reload the page",
      403: "refused: your Airflow role may not do this",
      404: "not found",
      409: "refused",
    }[result.status];
    return (why ? why + ": " : "HTTP " + result.status + ": ") + (detail || result.text || "").slice(0, 500);
  }

  // --- acknowledge ----------------------------------------------------------------------------------
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-ack]");
    if (!button || button.disabled) {
      return;
    }
    var idle = button.textContent;
    button.disabled = true;
    button.textContent = button.dataset.busy || "…";
    fetch(button.dataset.ack, { method: "POST", credentials: "same-origin", headers: actionHeaders() })
      .then(reply)
      .then(function (result) {
        if (result.ok) {
          window.location.reload();
          return;
        }
        var note = document.createElement("span");
        note.className = "ack-error";
        note.textContent = problem(result);
        button.after(note);
        button.textContent = idle;
        button.disabled = false;
      })
      .catch(function (err) {
        button.textContent = idle + " (failed: " + err + ")";
        button.disabled = false;
      });
  });

  // --- a note on an incident ------------------------------------------------------------------------
  document.addEventListener("submit", function (event) {
    var form = event.target.closest && event.target.closest("form[data-note-form]");
    if (!form) {
      return;
    }
    event.preventDefault();
    var text = form.querySelector("textarea").value;
    var status = form.querySelector(".note-result");
    var submit = form.querySelector("button[type=submit]");
    submit.disabled = true;
    status.className = "note-result";
    status.textContent = "Saving…";
    fetch(form.dataset.noteForm, {
      method: "POST",
      credentials: "same-origin",
      headers: actionHeaders({ "Content-Type": "application/json" }),
      body: JSON.stringify({ text: text }),
    })
      .then(reply)
      .then(function (result) {
        if (result.ok) {
          window.location.reload();
          return;
        }
        status.className = "note-result error";
        status.textContent = problem(result);
        submit.disabled = false;
      })
      .catch(function (err) {
        status.className = "note-result error";
        status.textContent = "The request failed: " + err;
        submit.disabled = false;
      });
  });

  // --- live run states ------------------------------------------------------------------------------
  // One small JSON request of this app (Airflow's remediation runs of a day) every few seconds, only
  // while something is unfinished: a finished run stops the polling.
  var LIVE_EVERY_MS = 3000;
  var LIVE_FOR_MS = 15 * 60 * 1000;
  var FINISHED = { success: true, failed: true };
  function runsUrl(day) {
    return (body.dataset.base || "") + "/runs.json?day=" + encodeURIComponent(day);
  }
  function follow(day, update) {
    var started = Date.now();
    var poll = function () {
      fetch(runsUrl(day), { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(reply)
        .then(function (result) {
          var more = result.ok && result.data ? update(result.data.runs || []) : true;
          if (more && Date.now() - started < LIVE_FOR_MS) {
            setTimeout(poll, LIVE_EVERY_MS);
          }
        })
        .catch(function () {
          if (Date.now() - started < LIVE_FOR_MS) {
            setTimeout(poll, LIVE_EVERY_MS * 3);
          }
        });
    };
    setTimeout(poll, 500);
  }
  function stateSpan(state) {
    var span = document.createElement("span");
    span.className = "runstate runstate-" + state;
    span.textContent = state;
    return span;
  }
  var runsTable = document.querySelector("table[data-live-runs]");
  var followingTable = false;
  function followTable(expected) {
    if (!runsTable || followingTable) {
      return;
    }
    followingTable = true;
    follow(runsTable.dataset.liveRuns, function (runs) {
      var tbody = runsTable.querySelector("tbody");
      runs.forEach(function (run) {
        var row = tbody.querySelector('tr[data-run="' + CSS.escape(run.run_id) + '"]');
        if (!row) {
          row = document.createElement("tr");
          row.dataset.run = run.run_id;
          var link = document.createElement("a");
          link.className = "runlink";
          link.setAttribute("data-top", "");
          link.href = runsTable.dataset.runBase + encodeURIComponent(run.run_id);
          var code = document.createElement("code");
          code.textContent = run.run_id.replace(/^(\w+__\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)[^_]*/, "$1");
          link.appendChild(code);
          var cells = [link, null, document.createTextNode(run.days), null, document.createTextNode(run.run_after.replace("T", " ").slice(0, 16))];
          var kind = document.createElement("span");
          if (run.dry_run) {
            kind.className = "drymark";
            kind.textContent = "dry run";
          } else {
            kind.textContent = "repair";
          }
          cells[1] = kind;
          cells[3] = stateSpan(run.state);
          cells.forEach(function (content, i) {
            var td = document.createElement("td");
            if (i === 4) {
              td.className = "when";
            }
            td.appendChild(content);
            row.appendChild(td);
          });
          tbody.insertBefore(row, tbody.firstChild);
          var empty = document.querySelector(".runs-empty");
          if (empty) {
            empty.hidden = true;
          }
        }
        row.dataset.dryRun = run.dry_run ? "true" : "false";
        if (row.dataset.state !== run.state) {
          row.dataset.state = run.state;
          var old = row.querySelector(".runstate");
          if (old) {
            old.replaceWith(stateSpan(run.state));
          }
        }
        var waiting = row.querySelector("a.approval");
        if (waiting && !run.awaiting_approval) {
          waiting.remove();
        }
      });
      var seen = runs.map(function (r) {
        return r.run_id;
      });
      var open = runs.some(function (r) {
        return !r.finished;
      });
      var missing = expected && seen.indexOf(expected) < 0;
      followingTable = open || missing;
      return followingTable;
    });
  }
  if (runsTable && [].some.call(runsTable.querySelectorAll("tr[data-state]"), function (row) {
    return !FINISHED[row.dataset.state];
  })) {
    followTable();
  }
  document.addEventListener("flightdq:triggered", function (event) {
    var detail = event.detail;
    if (detail.dag !== "flightdq_remediation") {
      return; // runs.json follows the remediation runs
    }
    if (runsTable && runsTable.dataset.liveRuns === detail.day) {
      followTable(detail.runId);
    }
    document.querySelectorAll('[data-live-day="' + detail.day + '"]').forEach(function (line) {
      line.hidden = false;
      line.dataset.run = detail.runId;
      line.textContent = detail.label + ": " + (detail.state || "queued");
      follow(detail.day, function (runs) {
        var run = runs.filter(function (r) {
          return r.run_id === detail.runId;
        })[0];
        if (!run) {
          return true;
        }
        line.dataset.state = run.state;
        line.textContent = detail.label + ": " + run.state + (run.awaiting_approval ? " (waiting for approval)" : "");
        return !run.finished;
      });
    });
  });

  // --- trigger a DAG run, after a confirmation ------------------------------------------------------
  var dialog = document.getElementById("trigger-dialog");
  var pending = null;
  function field(name) {
    return dialog.querySelector('[data-field="' + name + '"]');
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-trigger]");
    if (!button || !dialog || typeof dialog.showModal !== "function") {
      return;
    }
    pending = {
      label: button.dataset.label,
      api: button.dataset.api,
      dag: button.dataset.dag,
      conf: JSON.parse(button.dataset.conf),
      note: button.dataset.note,
      paused: button.dataset.paused === "yes",
    };
    field("paused").hidden = !pending.paused;
    field("paused-dag").textContent = button.dataset.dag;
    field("label").textContent = button.dataset.label;
    field("dag").textContent = button.dataset.dag;
    field("explain").textContent = button.dataset.explain;
    field("conf").textContent = JSON.stringify(pending.conf, null, 2);
    field("dag-link").setAttribute("href", button.dataset.dagPath);
    var result = field("result");
    result.hidden = true;
    result.className = "result";
    result.textContent = "";
    var confirm = dialog.querySelector("[data-confirm]");
    confirm.hidden = false;
    confirm.disabled = false;
    confirm.textContent = "Trigger " + button.dataset.label.toLowerCase();
    dialog.querySelector("[data-cancel]").textContent = "Cancel";
    dialog.showModal();
  });
  if (dialog) {
    dialog.querySelector("[data-confirm]").addEventListener("click", function () {
      if (!pending) {
        return;
      }
      var confirm = this;
      var result = field("result");
      confirm.disabled = true;
      confirm.textContent = "Triggering…";
      var payload = { logical_date: null, conf: pending.conf, note: pending.note };
      fetch(pending.api, {
        method: "POST",
        credentials: "same-origin",
        headers: actionHeaders({ "Content-Type": "application/json" }),
        body: JSON.stringify(payload),
      })
        .then(reply)
        .then(function (answer) {
          result.hidden = false;
          if (answer.ok && answer.data && answer.data.dag_run_id) {
            var runId = answer.data.dag_run_id;
            var href =
              (body.dataset.uiRoot || "") +
              "/dags/" +
              encodeURIComponent(pending.dag) +
              "/runs/" +
              encodeURIComponent(runId);
            result.className = "result ok";
            result.textContent = "Triggered " + pending.dag + ": run " + runId + " (" + (answer.data.state || "queued") + "). ";
            if (pending.paused) {
              result.className = "result ok warning";
              result.textContent += pending.dag + " is paused: the run waits until someone unpauses it. ";
            }
            var link = document.createElement("a");
            link.href = href;
            link.setAttribute("data-top", "");
            link.className = "runlink";
            link.dataset.run = runId;
            link.textContent = "Open the run in Airflow";
            result.appendChild(link);
            confirm.hidden = true;
            dialog.querySelector("[data-cancel]").textContent = "Close";
            if (pending.conf && pending.conf.date) {
              document.dispatchEvent(
                new CustomEvent("flightdq:triggered", {
                  detail: { day: pending.conf.date, dag: pending.dag, runId: runId, label: pending.label, state: answer.data.state },
                })
              );
            }
            pending = null;
          } else {
            result.className = "result error";
            result.textContent = problem(answer);
            confirm.disabled = false;
            confirm.textContent = "Try again";
          }
        })
        .catch(function (err) {
          result.hidden = false;
          result.className = "result error";
          result.textContent = "The request failed: " + err;
          confirm.disabled = false;
          confirm.textContent = "Try again";
        });
    });
  }

  // --- the Now view: clocks and the auto-refresh ----------------------------------------------------
  function durationText(minutes) {
    minutes = Math.max(0, Math.round(minutes));
    if (minutes < 60) {
      return minutes + " min";
    }
    if (minutes < 1440) {
      return Math.floor(minutes / 60) + " h " + String(minutes % 60).padStart(2, "0") + " min";
    }
    return Math.floor(minutes / 1440) + " d " + Math.floor((minutes % 1440) / 60) + " h";
  }
  var clocks = document.querySelectorAll(".clock[data-opened]");
  if (clocks.length) {
    var skew = Date.parse(clocks[0].dataset.now) - Date.now(); // the server's clock is the reference
    var tick = function () {
      clocks.forEach(function (clock) {
        var age = (Date.now() + skew - Date.parse(clock.dataset.opened)) / 60000;
        var response = Number(clock.dataset.response);
        var overdue = age > response;
        clock.classList.toggle("overdue", overdue);
        var item = clock.closest(".now-incident");
        if (item) {
          item.classList.toggle("overdue", overdue);
          var ageText = item.querySelector(".age");
          if (ageText) {
            ageText.textContent = durationText(age);
          }
        }
        clock.querySelector(".clock-text").textContent = overdue
          ? "overdue by " + durationText(age - response)
          : durationText(response - age) + " left";
        clock.querySelector(".clock-bar span").style.width = Math.min(100, Math.round((age / response) * 100)) + "%";
      });
    };
    setInterval(tick, 15000);
  }

  var refresh = document.querySelector("[data-refresh]");
  if (refresh) {
    var every = Number(refresh.dataset.refresh) || 60;
    var toggle = refresh.querySelector(".refresh-toggle");
    var label = refresh.querySelector(".refresh-state");
    var storageKey = "flightdq-refresh-paused";
    var paused = false;
    try {
      paused = window.localStorage.getItem(storageKey) === "1";
    } catch (err) {
      paused = false;
    }
    var left = every;
    var show = function () {
      toggle.textContent = paused ? "Resume" : "Pause";
      toggle.setAttribute("aria-pressed", paused ? "true" : "false");
      refresh.dataset.paused = paused ? "true" : "false";
      label.textContent = paused ? "auto-refresh paused" : "refreshes in " + left + " s";
    };
    toggle.addEventListener("click", function () {
      paused = !paused;
      left = every;
      try {
        window.localStorage.setItem(storageKey, paused ? "1" : "0");
      } catch (err) {
        // not remembered, still toggled
      }
      show();
    });
    setInterval(function () {
      if (paused) {
        return;
      }
      if (dialog && dialog.open) {
        left = every; // never reload under an open dialog
      } else if (--left <= 0) {
        window.location.reload();
        return;
      }
      show();
    }, 1000);
    show();
  }
})();

// tallyfy-guests ui: the little the page does in the browser. Everything works without it
// (forms post, the server renders); with it, a chosen or dropped file is sent at once, the
// counts filter the rows, and a running job's progress arrives by Server-Sent Events.
"use strict";

(function () {
  function upload() {
    var form = document.getElementById("upload");
    var input = document.getElementById("file");
    if (!form || !input) return;
    input.addEventListener("change", function () {
      if (input.files && input.files.length) form.submit();
    });
    var drop = document.getElementById("drop");
    if (!drop) return;
    ["dragenter", "dragover"].forEach(function (name) {
      drop.addEventListener(name, function (e) {
        e.preventDefault();
        drop.classList.add("dragging");
      });
    });
    ["dragleave", "drop"].forEach(function (name) {
      drop.addEventListener(name, function () {
        drop.classList.remove("dragging");
      });
    });
    drop.addEventListener("drop", function (e) {
      e.preventDefault();
      if (e.dataTransfer && e.dataTransfer.files.length) {
        input.files = e.dataTransfer.files;
        form.submit();
      }
    });
  }

  function filters() {
    document.addEventListener("click", function (e) {
      var button = e.target.closest ? e.target.closest("button.filter") : null;
      if (!button) return;
      var wanted = button.getAttribute("data-filter");
      document.querySelectorAll("button.filter").forEach(function (b) {
        b.setAttribute("aria-pressed", b === button ? "true" : "false");
      });
      document.querySelectorAll("#rows tbody tr").forEach(function (tr) {
        tr.hidden = wanted !== "" && tr.getAttribute("data-status") !== wanted;
      });
    });
  }

  function once() {
    // A form sent once: its button is not pressed twice while the server works.
    document.addEventListener("submit", function (e) {
      var form = e.target;
      setTimeout(function () {
        form.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
        form.classList.add("sent");
      }, 0);
    });
  }

  // A count's tone comes with it from the server (the engine's colour family of its status).
  function count(status, tone, n) {
    var span = document.querySelector('[data-test="count"][data-status="' + status + '"]');
    if (span) {
      span.textContent = String(n);
      return;
    }
    var box = document.querySelector(".counts");
    if (!box) return;
    var button = document.createElement("button");
    button.type = "button";
    button.className = "filter " + (tone || "pending");
    button.setAttribute("data-filter", status);
    button.setAttribute("aria-pressed", "false");
    span = document.createElement("span");
    span.setAttribute("data-test", "count");
    span.setAttribute("data-status", status);
    span.textContent = String(n);
    button.appendChild(span);
    button.appendChild(document.createTextNode(" " + status));
    box.appendChild(button);
  }

  function row(update) {
    var tr = document.querySelector('tr[data-test="row"][data-row="' + update.row + '"]');
    if (!tr) return;
    tr.setAttribute("data-status", update.status);
    tr.className = update.tone || "pending";
    var status = tr.querySelector(".status");
    if (status) status.textContent = update.status;
    var message = tr.querySelector(".message");
    if (message) message.textContent = update.message;
  }

  function live() {
    var run = document.getElementById("run");
    if (!run || !window.EventSource) return;
    var version = run.getAttribute("data-version");
    var source = new EventSource("/runs/" + run.getAttribute("data-run") + "/events");
    source.onmessage = function (e) {
      var note;
      try { note = JSON.parse(e.data); } catch (_) { return; }
      if (String(note.version) !== version) {
        source.close();
        window.location.reload();
        return;
      }
      var state = document.getElementById("state");
      if (state && note.state) state.textContent = note.state;
      if (state && note.data_state) state.setAttribute("data-state", note.data_state);
      if (note.counts) note.counts.forEach(function (c) { count(c.status, c.tone, c.n); });
      if (note.row) row(note.row);
    };
  }

  document.addEventListener("DOMContentLoaded", function () {
    upload();
    filters();
    once();
    live();
  });
})();

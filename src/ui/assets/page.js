// tallyfy-guests ui: the little the page does in the browser. Everything works without it
// (forms post, links filter and page the rows, the server renders); with it, a chosen or
// dropped file is sent at once, a running job's progress arrives by Server-Sent Events, and a
// banner says when the server is gone.
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

  // How a status looks (tone, icon, words) comes with each update from the server: the
  // script has no words of its own for them.
  function count(run, status, n, look) {
    var span = document.querySelector('[data-test="count"][data-status="' + status + '"]');
    if (span) {
      span.textContent = String(n);
      return;
    }
    var box = document.querySelector(".counts");
    if (!box || !look) return;
    var link = document.createElement("a");
    link.className = "filter " + look.tone;
    link.setAttribute("data-filter", status);
    link.href = "/runs/" + run + "?status=" + encodeURIComponent(status);
    var icon = document.createElement("span");
    icon.className = "icon";
    icon.setAttribute("aria-hidden", "true");
    icon.textContent = look.icon;
    span = document.createElement("span");
    span.setAttribute("data-test", "count");
    span.setAttribute("data-status", status);
    span.textContent = String(n);
    var words = document.createElement("span");
    words.className = "words";
    words.textContent = look.words;
    link.appendChild(icon);
    link.appendChild(document.createTextNode(" "));
    link.appendChild(span);
    link.appendChild(document.createTextNode(" "));
    link.appendChild(words);
    box.appendChild(link);
  }

  function row(update, look) {
    var tr = document.querySelector('tr[data-test="row"][data-row="' + update.row + '"]');
    if (!tr || !look) return;
    tr.setAttribute("data-status", update.status);
    tr.className = look.tone;
    var icon = tr.querySelector(".status .icon");
    if (icon) icon.textContent = look.icon;
    var words = tr.querySelector(".status .words");
    if (words) words.textContent = look.words;
    var message = tr.querySelector(".message");
    if (message) message.textContent = update.message;
  }

  // The server is gone (stopped, or the machine asleep): a banner says so, rather than the
  // next click landing on the browser's error page. The stream reconnects by itself; the
  // banner goes once it answers again.
  function gone(shown) {
    var banner = document.getElementById("gone");
    if (!banner) {
      if (!shown) return;
      banner = document.createElement("div");
      banner.id = "gone";
      banner.className = "banner";
      banner.setAttribute("role", "alert");
      banner.setAttribute("data-test", "gone");
      banner.textContent = "The page's server has stopped, so nothing here can change now. " +
        "Start tallyfy-guests ui again, then reload this page: your runs are kept.";
      document.body.insertBefore(banner, document.body.firstChild);
    }
    banner.hidden = !shown;
  }

  function live() {
    var run = document.getElementById("run");
    if (!run || !window.EventSource) return;
    var id = run.getAttribute("data-run");
    var version = run.getAttribute("data-version");
    var source = new EventSource("/runs/" + id + "/events");
    source.onerror = function () {
      // An error is also a stream the server ended on purpose: ask before saying it is gone.
      fetch("/assets/page.css", { cache: "no-store" }).then(
        function () { gone(false); },
        function () { gone(true); }
      );
    };
    source.onmessage = function (e) {
      var note;
      try { note = JSON.parse(e.data); } catch (_) { return; }
      gone(false);
      if (String(note.version) !== version) {
        source.close();
        window.location.reload();
        return;
      }
      var state = document.getElementById("state");
      if (note.state && state) {
        state.textContent = note.state;
        if (note.data_state) state.setAttribute("data-state", note.data_state);
      }
      var looks = note.statuses || {};
      if (note.counts) Object.keys(note.counts).forEach(function (s) { count(id, s, note.counts[s], looks[s]); });
      if (note.row) row(note.row, looks[note.row.status]);
    };
  }

  document.addEventListener("DOMContentLoaded", function () {
    upload();
    once();
    live();
  });
})();

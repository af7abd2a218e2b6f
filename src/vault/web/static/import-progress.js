// Import progress: polls the job's status and updates the bar. When the import has
// finished it reloads the page, so that the server renders the summary. Without
// JavaScript the page refreshes itself instead (see import_job.html).
(function () {
  "use strict";
  var box = document.getElementById("import-progress");
  if (!box) { return; }
  var url = box.getAttribute("data-status-url");
  var bar = document.getElementById("progress-bar");
  var rows = document.getElementById("progress-rows");

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("status " + response.status); }
        return response.json();
      })
      .then(function (status) {
        if (status.state !== "running") { window.location.reload(); return; }
        rows.textContent = status.rows.toLocaleString();
        if (status.expected) {
          bar.max = status.expected;
          bar.value = Math.min(status.rows, status.expected);
        }
        window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(function () { window.location.reload(); }, 3000); });
  }

  window.setTimeout(poll, 500);
}());

// Progressive enhancements; every page works without JavaScript.
(function () {
  "use strict";
  // Live result on the assessment form: post the form to its preview URL as findings change and swap in the
  // server-rendered result; the risk group is repeated in the form's sticky action bar (near the fields on a
  // phone, where the result sits below the form).  Without JavaScript the Assess button does the same.
  var form = document.getElementById("findings");
  var target = document.getElementById("result");
  var live = document.getElementById("live-group");
  if (form && target && window.fetch) {
    var url = form.getAttribute("data-preview");
    var timer = null, seq = 0;
    var refresh = function () {
      var mine = ++seq;
      fetch(url, { method: "POST", body: new FormData(form), credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (html === null || mine !== seq) { return; }
          target.innerHTML = html;
          if (live) {
            var g = target.querySelector("#risk-group .group");
            live.textContent = g ? "Risk group: " + g.textContent.trim() : "Not assessed: see below";
          }
        })
        .catch(function () { /* keep the last result; the Assess button still works */ });
    };
    var later = function () { clearTimeout(timer); timer = setTimeout(refresh, 250); };
    form.addEventListener("input", later);
    form.addEventListener("change", later);
  }
  // The encounter form: a planned item keeps its own examination, so the ad hoc fields are off while one is chosen.
  var item = document.getElementById("enc-item");
  var adhoc = document.getElementById("enc-adhoc");
  if (item && adhoc) {
    var sync = function () { adhoc.disabled = item.value !== ""; };
    item.addEventListener("change", sync);
    sync();
  }
  // Print buttons.
  Array.prototype.forEach.call(document.querySelectorAll("[data-print]"), function (b) {
    b.addEventListener("click", function () { window.print(); });
  });
  // Sortable tables (the work list): a header button sorts by its column, again for the other direction.
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    Array.prototype.forEach.call(table.querySelectorAll("th[data-sort]"), function (th, col) {
      var b = th.querySelector("button");
      if (!b) { return; }
      b.addEventListener("click", function () {
        var idx = Array.prototype.indexOf.call(th.parentNode.children, th);
        var asc = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(table.querySelectorAll("th[data-sort]"), function (o) { o.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        var num = th.getAttribute("data-sort") === "num";
        rows.sort(function (a, b2) {
          var x = a.cells[idx].getAttribute("data-v") || a.cells[idx].textContent.trim();
          var y = b2.cells[idx].getAttribute("data-v") || b2.cells[idx].textContent.trim();
          var c = num ? (parseFloat(x) - parseFloat(y)) : x.localeCompare(y, undefined, { numeric: true });
          return asc ? c : -c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
})();

// Live result on the assessment form: post the form to its preview URL as findings change
// and swap in the server-rendered result.  Without JavaScript the Assess button does the same.
(function () {
  "use strict";
  var form = document.getElementById("findings");
  var target = document.getElementById("result");
  if (!form || !target || !window.fetch) { return; }
  var url = form.getAttribute("data-preview");
  var timer = null, seq = 0;
  function refresh() {
    var mine = ++seq;
    fetch(url, { method: "POST", body: new FormData(form), credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) { if (html !== null && mine === seq) { target.innerHTML = html; } })
      .catch(function () { /* keep the last result; the Assess button still works */ });
  }
  function later() { clearTimeout(timer); timer = setTimeout(refresh, 250); }
  form.addEventListener("input", later);
  form.addEventListener("change", later);
})();

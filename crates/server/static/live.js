// Live refresh of the board: every 10 s, fetch the columns and swap them in.
// Without JavaScript the page is complete; this only keeps it current.
(function () {
  var box = document.getElementById("live");
  if (!box || !window.fetch) return;
  var url = box.getAttribute("data-live");
  function tick() {
    if (document.hidden) return;
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) { if (html !== null && box.innerHTML !== html) box.innerHTML = html; })
      .catch(function () {});
  }
  setInterval(tick, 10000);
})();

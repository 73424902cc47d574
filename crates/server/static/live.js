// Live refresh of the board: every 10 s, fetch it again and swap in only the
// parts that changed (each environment, each release's row, the recent
// list: the elements marked data-unit). A part someone is working in (a
// focused or edited field, an open <details>) is left alone until they are
// done. Without JavaScript the page is complete; this only keeps it current.
(function () {
  var box = document.getElementById("live");
  if (!box || !window.fetch || !window.DOMParser) return;
  var url = box.getAttribute("data-live");
  var seen = {};
  function units(root) {
    var m = {}, list = root.querySelectorAll("[data-unit]");
    for (var i = 0; i < list.length; i++) m[list[i].id] = list[i];
    return m;
  }
  function order(root) {
    var ids = [], list = root.querySelectorAll("[data-unit]");
    for (var i = 0; i < list.length; i++) ids.push(list[i].id);
    return ids.join(" ");
  }
  function remember(root) {
    var m = units(root);
    seen = {};
    for (var id in m) seen[id] = m[id].outerHTML;
  }
  function edited(el) {
    var a = document.activeElement;
    if (a && a !== document.body && el.contains(a) && /^(INPUT|SELECT|TEXTAREA|BUTTON)$/.test(a.tagName)) return true;
    if (el.querySelector("details[open]")) return true;
    var fields = el.querySelectorAll("input, select, textarea");
    for (var i = 0; i < fields.length; i++) {
      var f = fields[i];
      if (f.type === "hidden") continue;
      if (f.tagName === "SELECT") {
        for (var j = 0; j < f.options.length; j++) if (f.options[j].selected !== f.options[j].defaultSelected) return true;
      } else if (f.type === "checkbox" || f.type === "radio") {
        if (f.checked !== f.defaultChecked) return true;
      } else if (f.value !== f.defaultValue) {
        return true;
      }
    }
    return false;
  }
  remember(box);
  function tick() {
    if (document.hidden) return;
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html === null) return;
        var doc = new DOMParser().parseFromString(html, "text/html");
        if (order(doc.body) !== order(box)) {
          // Parts came or went: the whole board, unless someone works in it.
          if (!edited(box)) { box.innerHTML = doc.body.innerHTML; remember(box); }
          return;
        }
        var fresh = units(doc.body), here = units(box);
        for (var id in fresh) {
          var next = fresh[id].outerHTML;
          if (next === seen[id] || !here[id] || edited(here[id])) continue;
          here[id].outerHTML = next;
          seen[id] = next;
        }
      })
      .catch(function () {});
  }
  setInterval(tick, 10000);
})();

// Sort (click a column header) and search (type in the box) the customer table. Runs offline:
// no network, no library. Numeric cells carry their raw value in data-v, so a sort compares
// numbers, not formatted text. Sorting is stable: ties keep the order of the previous sort.
(function () {
  var table = document.getElementById("customer-table");
  var box = document.getElementById("customer-search");
  var shown = document.getElementById("customer-count");
  if (!table || !box) { return; }
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var heads = table.tHead.rows[0].cells;
  function key(row, col) {
    var cell = row.cells[col];
    var v = cell.getAttribute("data-v");
    return v === null ? cell.textContent.toLowerCase() : parseFloat(v);
  }
  function sortBy(col) {
    var head = heads[col];
    var numeric = head.getAttribute("data-type") === "number";
    var current = head.getAttribute("aria-sort");
    // numbers first from the highest (the manager's first question), words from A
    var descending = current ? current === "ascending" : numeric;
    for (var i = 0; i < heads.length; i++) { heads[i].removeAttribute("aria-sort"); }
    head.setAttribute("aria-sort", descending ? "descending" : "ascending");
    var sign = descending ? -1 : 1;
    rows = rows.map(function (r, i) { return [r, i]; }).sort(function (a, b) {
      var x = key(a[0], col), y = key(b[0], col);
      if (x < y) { return -sign; }
      if (x > y) { return sign; }
      return a[1] - b[1];
    }).map(function (p) { return p[0]; });
    var frag = document.createDocumentFragment();
    rows.forEach(function (r) { frag.appendChild(r); });
    body.appendChild(frag);
  }
  function filter() {
    var q = box.value.trim().toLowerCase();
    var n = 0;
    rows.forEach(function (r) {
      var hit = q === "" || r.textContent.toLowerCase().indexOf(q) >= 0;
      r.style.display = hit ? "" : "none";
      if (hit) { n++; }
    });
    if (shown) { shown.textContent = n.toLocaleString("en-US"); }
  }
  for (var i = 0; i < heads.length; i++) {
    (function (col) {
      heads[col].addEventListener("click", function () { sortBy(col); });
      heads[col].setAttribute("tabindex", "0");
      heads[col].addEventListener("keydown", function (e) { if (e.key === "Enter") { sortBy(col); } });
    })(i);
  }
  box.addEventListener("input", filter);
})();

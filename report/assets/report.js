// The study report's script: dosewatch.report.html inlines this file into every
// report.html. Sortable tables (click a heading, or #sort=TABLE.COLUMN, a leading
// '-' for descending); it marks <html data-script="ran"> for the browser test.
(function(){
  function cellValue(row, index, numeric){
    var cell = row.cells[index];
    var v = cell.hasAttribute('data-value') ? cell.getAttribute('data-value')
                                             : cell.textContent.trim();
    if (numeric) { var x = parseFloat(v); return isNaN(x) ? -Infinity : x; }
    return v.toLowerCase();
  }
  function sortBy(th, direction){
    var table = th.closest('table');
    var headings = Array.prototype.slice.call(th.parentNode.children);
    var index = headings.indexOf(th);
    var numeric = th.getAttribute('data-type') === 'number';
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var sign = direction === 'descending' ? -1 : 1;
    rows.sort(function(a, b){
      var x = cellValue(a, index, numeric), y = cellValue(b, index, numeric);
      return x < y ? -sign : x > y ? sign : 0;
    });
    rows.forEach(function(r){ body.appendChild(r); });
    headings.forEach(function(h){ h.setAttribute('aria-sort', 'none'); });
    th.setAttribute('aria-sort', direction);
    table.setAttribute('data-sorted-by', th.getAttribute('data-key') + ':' + direction);
  }
  document.querySelectorAll('table.sortable th[data-key] button').forEach(function(b){
    b.addEventListener('click', function(){
      var th = b.parentNode;
      sortBy(th, th.getAttribute('aria-sort') === 'ascending' ? 'descending' : 'ascending');
    });
  });
  function fromHash(){
    var m = /sort=(-?)([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)/.exec(location.hash);
    if (!m) return;
    var th = document.querySelector('table#' + m[2] + ' th[data-key="' + m[3] + '"]');
    if (th) sortBy(th, m[1] ? 'descending' : 'ascending');
  }
  fromHash();
  window.addEventListener('hashchange', fromHash);
  document.documentElement.setAttribute('data-script', 'ran');
})();

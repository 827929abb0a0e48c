/**
 * The HTML report's script, inlined into the page. It reads the run's data from the page's
 * `<script type="application/json">` block and draws everything: the figures, the SVG chart and the tables.
 *
 * Security rules (attacker-controlled text: observables, URLs, SourceText, statuses):
 * - every piece of data reaches the page through `textContent` (or an SVG attribute holding a number), never
 *   through innerHTML or a string of markup;
 * - the only links are VirusTotal GUI links this script builds from a fixed prefix, the type's page kind and the
 *   URI-encoded object id; no href ever comes from a row's text;
 * - the page's Content-Security-Policy allows this script alone (by its hash), no network, no other script.
 *
 * Written as plain ES2020 in a string (no template literals) so that it is inlined as it is.
 */
export const CLIENT_SCRIPT = String.raw`(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var SEVERITIES = ['', 'information', 'warning', 'high'];
  var SEVERITY_LABELS = ['no verdict', 'information', 'warning', 'high'];
  var SEVERITY_COLORS = ['#9aa0a6', '#4caf50', '#f5a623', '#d93025'];
  var VT_KINDS = { ipv4: 'ip-address', ipv6: 'ip-address', dns: 'domain', url: 'url', md5_hash: 'file', sha1_hash: 'file', sha256_hash: 'file' };
  var VT_PREFIX = 'https://www.virustotal.com/gui/';
  var PAGE = 100;
  var number = new Intl.NumberFormat('en-US');

  function byId(id) { return document.getElementById(id); }
  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }
  function setText(id, value) { byId(id).textContent = typeof value === 'number' ? number.format(value) : String(value); }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  // Rows: [type index, value, status index, positives, total, severity index, occurrences, VirusTotal id or null, samples]
  var rows = data.rows;
  var types = data.types;
  var statuses = data.statuses;

  function vtLink(row) {
    var kind = VT_KINDS[types[row[0]]];
    if (!kind) return null;
    var id = row[7] === null ? row[1] : row[7];
    var a = document.createElement('a');
    a.href = VT_PREFIX + kind + '/' + encodeURIComponent(id);
    a.textContent = 'VirusTotal';
    a.rel = 'noopener noreferrer';
    a.target = '_blank';
    return a;
  }

  function verdict(row) {
    if (row[3] === null) return '';
    return row[3] + '/' + (row[4] === null ? '?' : row[4]);
  }

  // Header and accounting.
  document.title = 'ioc-enrich report: ' + data.source;
  setText('source', data.source);
  setText('started', data.startedAt);
  setText('finished', data.finishedAt);
  var accounting = data.accounting;
  ['occurrences', 'rejected', 'allowlisted', 'duplicates', 'lookedUp', 'notSubmitted', 'failed'].forEach(function (key) {
    setText('count-' + key, accounting[key]);
  });
  setText('count-distinct', rows.length);
  setText('count-detected', data.detected);
  setText('count-cache-hits', data.cacheHits);
  setText('count-lookups-sent', data.lookupsSent);

  function fillTable(id, pairs) {
    var body = byId(id);
    clear(body);
    pairs.forEach(function (pair) {
      var tr = el('tr');
      tr.appendChild(el('td', pair[0]));
      tr.appendChild(el('td', typeof pair[1] === 'number' ? number.format(pair[1]) : pair[1], 'num'));
      body.appendChild(tr);
    });
  }
  fillTable('by-status', data.byStatus);
  fillTable('by-severity', SEVERITIES.slice(1).reverse().map(function (name) {
    return [name, data.bySeverity[name] || 0];
  }));
  if (data.rejectedByReason.length === 0) byId('rejections-none').hidden = false;
  fillTable('rejections', data.rejectedByReason);

  // Quota.
  var quota = byId('quota');
  if (data.quota) {
    var q = data.quota;
    fillTable('quota-table', [
      ['HTTP requests this run', q.requests],
      ['used today', q.perDay === null ? number.format(q.dayUsed) : number.format(q.dayUsed) + ' of ' + number.format(q.perDay)],
      ['left today', q.perDay === null ? 'unlimited' : Math.max(0, q.perDay - q.dayUsed)],
      ['used this month', q.perMonth === null ? number.format(q.monthUsed) : number.format(q.monthUsed) + ' of ' + number.format(q.perMonth)],
      ['left this month', q.perMonth === null ? 'unlimited' : Math.max(0, q.perMonth - q.monthUsed)]
    ]);
  } else {
    quota.appendChild(el('p', 'The results file does not hold the quota figures; enrich --report includes them.', 'note'));
  }

  // Counts by type and severity (distinct observables), and the chart.
  var perType = {};
  rows.forEach(function (row) {
    var type = types[row[0]];
    if (!perType[type]) perType[type] = [0, 0, 0, 0];
    perType[type][row[5]]++;
  });
  var typeNames = Object.keys(perType).sort();
  var typeBody = byId('by-type');
  typeNames.forEach(function (type) {
    var tr = el('tr');
    tr.appendChild(el('td', type));
    var counts = perType[type];
    [3, 2, 1, 0].forEach(function (index) { tr.appendChild(el('td', number.format(counts[index]), 'num')); });
    tr.appendChild(el('td', number.format(counts[0] + counts[1] + counts[2] + counts[3]), 'num'));
    typeBody.appendChild(tr);
  });
  drawChart(typeNames, perType);

  function svg(tag, attributes) {
    var node = document.createElementNS('http://www.w3.org/2000/svg', tag);
    Object.keys(attributes).forEach(function (key) { node.setAttribute(key, String(attributes[key])); });
    return node;
  }
  function drawChart(names, counts) {
    var holder = byId('chart');
    var barHeight = 22, gap = 8, labelWidth = 110, width = 640, legend = 28;
    var max = 1;
    names.forEach(function (name) {
      var c = counts[name];
      max = Math.max(max, c[0] + c[1] + c[2] + c[3]);
    });
    var height = legend + names.length * (barHeight + gap) + 4;
    var chart = svg('svg', { width: width, height: height, viewBox: '0 0 ' + width + ' ' + height, role: 'img' });
    var title = svg('title', {});
    title.textContent = 'Distinct observables by type and severity';
    chart.appendChild(title);
    [3, 2, 1, 0].forEach(function (severity, position) {
      var x = labelWidth + position * 120;
      chart.appendChild(svg('rect', { x: x, y: 4, width: 12, height: 12, fill: SEVERITY_COLORS[severity] }));
      var text = svg('text', { x: x + 16, y: 14, 'font-size': 12 });
      text.textContent = SEVERITY_LABELS[severity];
      chart.appendChild(text);
    });
    names.forEach(function (name, index) {
      var y = legend + index * (barHeight + gap);
      var label = svg('text', { x: labelWidth - 8, y: y + barHeight / 2 + 4, 'text-anchor': 'end', 'font-size': 12 });
      label.textContent = name;
      chart.appendChild(label);
      var x = labelWidth;
      var c = counts[name];
      [3, 2, 1, 0].forEach(function (severity) {
        if (c[severity] === 0) return;
        var w = Math.max(1, (c[severity] / max) * (width - labelWidth - 60));
        var bar = svg('rect', { x: x, y: y, width: w, height: barHeight, fill: SEVERITY_COLORS[severity] });
        var tip = svg('title', {});
        tip.textContent = name + ', ' + SEVERITY_LABELS[severity] + ': ' + number.format(c[severity]);
        bar.appendChild(tip);
        chart.appendChild(bar);
        x += w;
      });
      var total = svg('text', { x: x + 6, y: y + barHeight / 2 + 4, 'font-size': 12 });
      total.textContent = number.format(c[0] + c[1] + c[2] + c[3]);
      chart.appendChild(total);
    });
    holder.appendChild(chart);
  }

  // Detected observables, most detections first.
  var detected = [];
  rows.forEach(function (row, index) { if (row[3] !== null && row[3] >= data.minPositives) detected.push(index); });
  detected.sort(function (a, b) { return rows[b][3] - rows[a][3] || rows[b][6] - rows[a][6] || (rows[a][1] < rows[b][1] ? -1 : 1); });
  var detectedPage = 0;
  function sampleList(row) {
    var list = el('ul', null, 'samples');
    row[8].forEach(function (sample) {
      var item = el('li');
      item.appendChild(el('span', 'row ' + sample[0] + (sample[1] ? ' · ' + sample[1] : ''), 'where'));
      item.appendChild(el('code', sample[2]));
      list.appendChild(item);
    });
    return list;
  }
  function drawDetected() {
    var body = byId('detected-body');
    clear(body);
    byId('no-detections').hidden = detected.length !== 0;
    byId('detected-table').hidden = detected.length === 0;
    var start = detectedPage * PAGE;
    detected.slice(start, start + PAGE).forEach(function (index) {
      var row = rows[index];
      var tr = el('tr', null, 'sev-' + SEVERITIES[row[5]]);
      tr.appendChild(el('td', verdict(row), 'num'));
      tr.appendChild(el('td', types[row[0]]));
      var value = el('td');
      value.appendChild(el('code', row[1]));
      tr.appendChild(value);
      tr.appendChild(el('td', number.format(row[6]), 'num'));
      var link = el('td');
      var a = vtLink(row);
      if (a) link.appendChild(a);
      tr.appendChild(link);
      var samples = el('td');
      samples.appendChild(sampleList(row));
      tr.appendChild(samples);
      body.appendChild(tr);
    });
    pager('detected-pager', detected.length, detectedPage, function (page) { detectedPage = page; drawDetected(); });
  }

  function pager(id, count, page, go) {
    var holder = byId(id);
    clear(holder);
    var pages = Math.max(1, Math.ceil(count / PAGE));
    var first = count === 0 ? 0 : page * PAGE + 1;
    var last = Math.min(count, (page + 1) * PAGE);
    var prev = el('button', 'previous');
    prev.type = 'button';
    prev.disabled = page === 0;
    prev.addEventListener('click', function () { go(page - 1); });
    var next = el('button', 'next');
    next.type = 'button';
    next.disabled = page >= pages - 1;
    next.addEventListener('click', function () { go(page + 1); });
    holder.appendChild(prev);
    holder.appendChild(el('span', number.format(first) + '–' + number.format(last) + ' of ' + number.format(count), 'range'));
    holder.appendChild(next);
  }

  // All distinct observables: filtered, sorted and paged (only one page of rows is ever in the document).
  var typeFilter = byId('filter-type');
  typeNames.forEach(function (name) { typeFilter.appendChild(el('option', name)); });
  var statusFilter = byId('filter-status');
  statuses.slice().sort().forEach(function (name) { statusFilter.appendChild(el('option', name)); });
  var state = { type: '', severity: '', status: '', text: '', sort: 'positives', descending: true, page: 0 };
  var view = [];
  var SORTS = {
    positives: function (a, b) { return (a[3] === null ? -1 : a[3]) - (b[3] === null ? -1 : b[3]); },
    type: function (a, b) { return types[a[0]] < types[b[0]] ? -1 : types[a[0]] > types[b[0]] ? 1 : 0; },
    value: function (a, b) { return a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0; },
    status: function (a, b) { return statuses[a[2]] < statuses[b[2]] ? -1 : statuses[a[2]] > statuses[b[2]] ? 1 : 0; },
    severity: function (a, b) { return a[5] - b[5]; },
    occurrences: function (a, b) { return a[6] - b[6]; }
  };
  function refilter() {
    var text = state.text.toLowerCase();
    var severity = state.severity === '' ? -1 : SEVERITIES.indexOf(state.severity === 'none' ? '' : state.severity);
    view = [];
    for (var i = 0; i < rows.length; i++) {
      var row = rows[i];
      if (state.type !== '' && types[row[0]] !== state.type) continue;
      if (severity !== -1 && row[5] !== severity) continue;
      if (state.status !== '' && statuses[row[2]] !== state.status) continue;
      if (text !== '' && row[1].toLowerCase().indexOf(text) === -1 &&
          !row[8].some(function (sample) { return sample[2].toLowerCase().indexOf(text) !== -1; })) continue;
      view.push(row);
    }
    var compare = SORTS[state.sort];
    var sign = state.descending ? -1 : 1;
    view.sort(function (a, b) { return sign * compare(a, b) || SORTS.value(a, b); });
    state.page = 0;
    drawTable();
  }
  function drawTable() {
    var body = byId('table-body');
    clear(body);
    var start = state.page * PAGE;
    view.slice(start, start + PAGE).forEach(function (row) {
      var tr = el('tr', null, 'sev-' + SEVERITIES[row[5]]);
      tr.appendChild(el('td', types[row[0]]));
      var value = el('td');
      value.appendChild(el('code', row[1]));
      tr.appendChild(value);
      tr.appendChild(el('td', statuses[row[2]]));
      tr.appendChild(el('td', verdict(row), 'num'));
      tr.appendChild(el('td', SEVERITIES[row[5]]));
      tr.appendChild(el('td', number.format(row[6]), 'num'));
      var link = el('td');
      var a = row[3] === null ? null : vtLink(row);
      if (a) link.appendChild(a);
      tr.appendChild(link);
      var sample = el('td');
      if (row[8].length > 0) sample.appendChild(el('code', row[8][0][2]));
      tr.appendChild(sample);
      body.appendChild(tr);
    });
    setText('table-count', view.length);
    pager('table-pager', view.length, state.page, function (page) { state.page = page; drawTable(); });
    Array.prototype.forEach.call(document.querySelectorAll('#observables th[data-sort]'), function (th) {
      th.setAttribute('aria-sort', th.getAttribute('data-sort') === state.sort ? (state.descending ? 'descending' : 'ascending') : 'none');
    });
  }
  typeFilter.addEventListener('change', function () { state.type = typeFilter.value; refilter(); });
  var severityFilter = byId('filter-severity');
  severityFilter.addEventListener('change', function () { state.severity = severityFilter.value; refilter(); });
  statusFilter.addEventListener('change', function () { state.status = statusFilter.value; refilter(); });
  var textFilter = byId('filter-text');
  var typing = null;
  textFilter.addEventListener('input', function () {
    clearTimeout(typing);
    typing = setTimeout(function () { state.text = textFilter.value; refilter(); }, 150);
  });
  Array.prototype.forEach.call(document.querySelectorAll('#observables th[data-sort]'), function (th) {
    th.addEventListener('click', function () {
      var key = th.getAttribute('data-sort');
      if (state.sort === key) state.descending = !state.descending;
      else { state.sort = key; state.descending = key === 'positives' || key === 'occurrences' || key === 'severity'; }
      refilter();
    });
  });

  drawDetected();
  refilter();
  document.body.setAttribute('data-ready', 'true');
})();
`;

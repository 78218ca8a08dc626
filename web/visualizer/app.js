// The StreamForge UI: one page per hash route, plain ES module, data from the visualizer's API.
const $ = (sel, root = document) => root.querySelector(sel);
const page = $('#page');
const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
const params = () => new URLSearchParams(location.hash.split('?')[1] || '');
let cleanup = [];
const onLeave = (f) => cleanup.push(f);

async function api(path, options = {}) {
  const headers = { ...(options.headers || {}) };
  const token = sessionStorage.getItem('token');
  if (token && options.method === 'POST') headers.Authorization = 'Bearer ' + token;
  const r = await fetch(path, { ...options, headers });
  const body = await r.json().catch(() => ({ status: 'error', message: 'not JSON (HTTP ' + r.status + ')' }));
  if (!r.ok || body.status === 'error') throw new Error(body.message || ('HTTP ' + r.status));
  return body;
}

function socket(path, onMessage) {
  const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + path);
  ws.onmessage = (e) => { try { onMessage(JSON.parse(e.data)); } catch (_) { /* not JSON */ } };
  onLeave(() => ws.close());
  return ws;
}

function form(fields, values) {
  return fields.map(([name, label, def]) =>
    `<label>${esc(label)} <input name="${name}" value="${esc(values.get(name) ?? def)}" size="${Math.max(8, String(def).length + 2)}"></label>`).join(' ');
}

function readForm(el) {
  const p = new URLSearchParams();
  el.querySelectorAll('input[name]').forEach((i) => { if (i.value) p.set(i.name, i.value); });
  return p;
}

const fmtTime = (ms) => ms ? new Date(ms).toISOString().replace('T', ' ').slice(0, 19) : '';
const pct = (x) => x == null ? '-' : (x * 100).toFixed(1) + '%';

// ---------------------------------------------------------------- Queues
const SEEDS = {
  historical: { symbol: 'BTCUSDT', time_range: '2024-06-01:2024-06-30', requests: [
    { target: 'loader-producer', type: 'api_candles_5m', interval: '5m' },
    { target: 'loader-producer', type: 'api_trades' },
    { target: 'arango-connector', type: 'api_candles_5m' },
    { target: 'arango-connector', type: 'api_trades' },
    { target: 'graph-builder', type: 'gnn_graph', collection_inputs: ['btc_candles_5m_2024_06', 'btc_trades_2024_06'], collection_output: 'btc_graph_2024_06' },
    { target: 'gnn-trainer', type: 'gnn_train', graph_collection: 'btc_graph_2024_06', model_output: 'gnn_model_btc_2024_06' }] },
  realtime: { symbol: 'BTCUSDT', time_range: '2024-08-01:2024-08-01', requests: [
    { target: 'loader-producer', type: 'ws_candles_1m' },
    { target: 'loader-producer', type: 'ws_trades' },
    { target: 'arango-connector', type: 'ws_candles_1m' },
    { target: 'arango-connector', type: 'ws_trades' },
    { target: 'graph-builder', type: 'realtime_graph', collection_inputs: ['btc_ws_candles_1m_2024_08_01', 'btc_ws_trades_2024_08_01'], collection_output: 'btc_graph_rt_2024_08_01' },
    { target: 'gnn-trainer', type: 'realtime_gnn_infer', graph_collection: 'btc_graph_rt_2024_08_01', inference_interval: '5m' },
    { target: 'visualizer', type: 'graph_metrics_stream', source: 'btc_graph_rt_2024_08_01' }] },
};

function jobRows(q) {
  return (q.jobs || []).map((j) => {
    const prog = j.progress == null ? '' : `<span class="bar"><span style="width:${Math.round(j.progress * 100)}%"></span></span> ${pct(j.progress)}`;
    const waits = (j.waits_for || []).length ? `waits for ${esc(j.waits_for.join(', '))}` : '';
    const err = j.error_message ? `<div class="err">${esc(j.error_message)}</div>` : '';
    const link = j.collection ? ` -> <a href="#/candles?collection=${esc(j.collection)}&symbol=${esc(q.symbol)}">${esc(j.collection)}</a>` : '';
    const metrics = j.metrics ? Object.entries(j.metrics).slice(0, 6).map(([k, v]) => `${esc(k)}=${+v.toFixed ? +v.toFixed(4) : v}`).join(' ') : '';
    return `<tr class="job"><td>&nbsp;&nbsp;${esc(j.target)}</td><td>${esc(j.type)}${link}</td>
      <td class="status-${esc(j.status)}">${esc(j.status)}</td><td>${j.records_written ?? 0}</td><td>${prog}</td>
      <td class="muted">${waits} ${esc(metrics)}${err}</td></tr>`;
  }).join('');
}

async function queuesPage() {
  page.innerHTML = `<div class="card"><h3>Start a workflow</h3>
    <div class="row">${form([['symbol', 'symbol', 'BTCUSDT'], ['type', 'type', 'api_candles_1m'], ['time_range', 'time range', '2024-08-08:2024-08-09']], new URLSearchParams())}
      <button id="start-form">Start</button></div>
    <div class="row"><button id="seed-historical">Seed example: historical</button><button id="seed-realtime">Seed example: real time</button>
      <label>API token <input id="token" type="password" size="12" value="${esc(sessionStorage.getItem('token') || '')}"></label></div>
    <textarea id="workflow" placeholder="or paste a workflow JSON"></textarea>
    <div class="row"><button id="start-json">Start pasted JSON</button><span id="start-result"></span></div></div>
    <div class="card"><h3>Queues</h3><table id="queues"><thead><tr><th>queue</th><th>type</th><th>status</th><th>records</th><th>progress</th><th></th></tr></thead><tbody></tbody></table></div>`;
  $('#token').onchange = (e) => sessionStorage.setItem('token', e.target.value);
  const show = (msg, bad) => { $('#start-result').innerHTML = `<span class="${bad ? 'err' : ''}">${esc(msg)}</span>`; };
  const start = async (body) => {
    try {
      const r = await api('/api/queues/start', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
      show('started ' + r.data.queue_id); refresh();
    } catch (e) { show(e.message, true); }
  };
  $('#start-form').onclick = () => start(JSON.stringify(Object.fromEntries(readForm($('.card .row')))));
  $('#start-json').onclick = () => start($('#workflow').value);
  $('#seed-historical').onclick = () => { $('#workflow').value = JSON.stringify(SEEDS.historical, null, 1); };
  $('#seed-realtime').onclick = () => { $('#workflow').value = JSON.stringify(SEEDS.realtime, null, 1); };
  const body = $('#queues tbody');
  async function refresh() {
    try {
      const r = await api('/api/queues?limit=50');
      body.innerHTML = r.data.map((q) => `<tr class="queue" data-id="${esc(q.queue_id)}"><td><b>${esc(q.queue_id)}</b><br><span class="muted">${esc(q.symbol)} ${esc(q.time_range || '')}</span></td>
        <td>${esc(q.type)}</td><td class="status-${esc(q.status)}" data-status>${esc(q.status)}</td><td>${q.records_written ?? 0}</td><td></td>
        <td>${['finished', 'error', 'interrupted'].includes(q.status) ? '' : `<button data-stop="${esc(q.queue_id)}">Stop</button>`}</td></tr>${jobRows(q)}`).join('');
      body.querySelectorAll('button[data-stop]').forEach((b) => { b.onclick = async () => {
        try { await api('/api/queues/stop?queue_id=' + encodeURIComponent(b.dataset.stop), { method: 'POST', headers: { 'Content-Type': 'application/json' } }); refresh(); } catch (e) { show(e.message, true); }
      }; });
    } catch (e) { body.innerHTML = `<tr><td colspan="6" class="err">${esc(e.message)}</td></tr>`; }
  }
  await refresh();
  const timer = setInterval(refresh, 1500);
  onLeave(() => clearInterval(timer));
  const cfg = await api('/api/config').catch(() => null);
  if (cfg && cfg.data.live) socket('/ws/events', (m) => { if (m.event === 'message') refresh(); });
}

// ---------------------------------------------------------------- Events and Kafka topics
function feedPage(title, path, fields) {
  const p = params();
  page.innerHTML = `<div class="card"><h3>${esc(title)}</h3><div class="row" id="filters">${form(fields, p)}
    <button id="pause">Pause</button><span id="rate" class="muted"></span></div><div id="feed"></div></div>`;
  const feed = $('#feed');
  let paused = false, count = 0, lastCount = 0;
  $('#pause').onclick = () => { paused = !paused; $('#pause').textContent = paused ? 'Resume' : 'Pause'; };
  const filters = () => readForm($('#filters'));
  const timer = setInterval(() => { $('#rate').textContent = `${count - lastCount} msg/s, ${count} received`; lastCount = count; }, 1000);
  onLeave(() => clearInterval(timer));
  return (onMessage) => socket(path(filters()), (m) => {
    if (m.event === 'dropped') { feed.insertAdjacentHTML('afterbegin', `<div class="err">${m.messages} messages dropped: this page fell behind</div>`); return; }
    if (m.event !== 'message') return;
    count++;
    if (paused) return;
    const line = onMessage(m, filters());
    if (line == null) return;
    feed.insertAdjacentHTML('afterbegin', `<div class="msg">${line}</div>`);
    while (feed.childNodes.length > 500) feed.removeChild(feed.lastChild);
  });
}

function eventsPage() {
  const connect = feedPage('Live telemetry events', () => '/ws/events', [['queue', 'queue', ''], ['symbol', 'symbol', ''], ['status', 'status', '']]);
  connect((m, f) => {
    const v = m.value || {};
    for (const [k, field] of [['queue', 'queue_id'], ['symbol', 'symbol'], ['status', 'status']]) {
      if (f.get(k) && !String(v[field] || '').includes(f.get(k))) return null;
    }
    return `${esc(new Date((v.timestamp || 0) * 1000).toISOString().slice(11, 19))} <b>${esc(v.queue_id)}</b> ${esc(v.producer)} <span class="status-${esc(v.status)}">${esc(v.status)}</span> records=${esc(v.records_written)} ${esc(v.message)} ${v.error_message ? `<span class="err">${esc(v.error_message)}</span>` : ''}`;
  });
}

function topicPage() {
  const p = params();
  if (!p.get('topic')) {
    page.innerHTML = `<div class="card"><h3>Kafka topic</h3><div class="row">${form([['topic', 'topic', 'queue-events']], p)}<button id="go">Watch</button></div>
      <p class="muted">Data topics are named &lt;queue_id&gt;-&lt;type&gt; (see the Queues page).</p></div>`;
    $('#go').onclick = () => { location.hash = '#/topic?' + readForm(page); };
    return;
  }
  const connect = feedPage('Topic ' + p.get('topic'), () => '/ws/topic/' + encodeURIComponent(p.get('topic')), [['symbol', 'filter by symbol', '']]);
  connect((m, f) => {
    const v = m.value;
    const sym = (v && v.symbol) || m.key;
    if (f.get('symbol') && sym !== f.get('symbol')) return null;
    return `p${m.partition}@${m.offset} <b>${esc(sym)}</b> ${esc(JSON.stringify(v)).slice(0, 400)}`;
  });
}

// ---------------------------------------------------------------- Candles
async function candlesPage() {
  const p = params();
  page.innerHTML = `<div class="card"><div class="row" id="q">${form([['collection', 'collection', 'btc_candles_5m_2024_06'], ['symbol', 'symbol', 'BTCUSDT'], ['predictions', 'predictions from', ''], ['limit', 'bars', '2000']], p)}
    <button id="go">Show</button><span id="info" class="muted"></span></div><div id="chart" class="chart"></div></div>`;
  $('#go').onclick = () => { location.hash = '#/candles?' + readForm($('#q')); };
  if (!p.get('collection')) return;
  const LC = window.LightweightCharts;
  const chart = LC.createChart($('#chart'), { autoSize: true, layout: { attributionLogo: true }, timeScale: { timeVisible: true } });
  onLeave(() => chart.remove());
  const candles = chart.addSeries(LC.CandlestickSeries, {});
  const volume = chart.addSeries(LC.HistogramSeries, { priceScaleId: 'vol', priceFormat: { type: 'volume' } });
  chart.priceScale('vol').applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
  const q = `/api/candles/${encodeURIComponent(p.get('collection'))}/${encodeURIComponent(p.get('symbol') || 'BTCUSDT')}?limit=${p.get('limit') || 2000}`;
  let last = 0;
  async function load(first) {
    try {
      const r = await api(q);
      const data = r.data.filter((c) => first || c.time >= last);
      if (first) {
        candles.setData(r.data.map((c) => ({ time: c.time, open: c.open, high: c.high, low: c.low, close: c.close })));
        volume.setData(r.data.map((c) => ({ time: c.time, value: c.volume, color: c.close >= c.open ? '#26a69a80' : '#ef535080' })));
      } else {
        data.forEach((c) => { candles.update({ time: c.time, open: c.open, high: c.high, low: c.low, close: c.close }); volume.update({ time: c.time, value: c.volume }); });
      }
      if (r.data.length) last = r.data[r.data.length - 1].time;
      $('#info').textContent = r.message;
    } catch (e) { $('#info').innerHTML = `<span class="err">${esc(e.message)}</span>`; }
  }
  await load(true);
  if (p.get('predictions')) {
    try {
      const pr = await api(`/api/predictions/${encodeURIComponent(p.get('predictions'))}?symbol=${encodeURIComponent(p.get('symbol') || '')}&limit=2000`);
      const markers = pr.data.predictions.map((x) => ({
        time: Math.floor(x.open_time / 1000), position: x.pred === 1 || x.pred === 2 ? 'belowBar' : 'aboveBar',
        shape: x.pred === 0 ? 'arrowDown' : 'arrowUp', color: x.correct == null ? '#7a8592' : x.correct ? '#1a7f37' : '#c62828',
      }));
      LC.createSeriesMarkers(candles, markers);
    } catch (e) { $('#info').innerHTML += ` <span class="err">${esc(e.message)}</span>`; }
  }
  chart.timeScale().fitContent();
  const timer = setInterval(() => load(false), 2000);  // live while a ws_* collection grows
  onLeave(() => clearInterval(timer));
}

// ---------------------------------------------------------------- Indicators
async function indicatorsPage() {
  const p = params();
  page.innerHTML = `<div class="card"><div class="row" id="q">${form([['collection', 'collection', 'btc_candles_5m_2024_06'], ['symbol', 'symbol', 'BTCUSDT'], ['limit', 'bars', '1000']], p)}
    <button id="go">Show</button><span id="info" class="muted"></span></div><div id="price"></div><div id="rsi"></div></div>`;
  $('#go').onclick = () => { location.hash = '#/indicators?' + readForm($('#q')); };
  if (!p.get('collection')) return;
  try {
    const r = await api(`/api/indicators/${encodeURIComponent(p.get('collection'))}/${encodeURIComponent(p.get('symbol') || 'BTCUSDT')}?limit=${p.get('limit') || 1000}`);
    const col = (k) => r.data.map((x) => x[k]);
    const width = page.clientWidth - 40;
    const u1 = new uPlot({ width, height: 360, title: 'Close, SMA-20, EMA-20, Bollinger(20, 2), VWAP',
      series: [{}, { label: 'close', stroke: '#1d232b' }, { label: 'SMA-20', stroke: '#4da3ff' }, { label: 'EMA-20', stroke: '#f0b400' },
        { label: 'BB upper', stroke: '#9aa5b1', dash: [4, 4] }, { label: 'BB lower', stroke: '#9aa5b1', dash: [4, 4] }, { label: 'VWAP', stroke: '#8e44ad' }] },
      [col('time'), col('close'), col('sma20'), col('ema20'), col('bb_upper'), col('bb_lower'), col('vwap')], $('#price'));
    const u2 = new uPlot({ width, height: 180, title: 'RSI-14 (Wilder)', scales: { y: { range: [0, 100] } },
      series: [{}, { label: 'RSI-14', stroke: '#c62828' }] }, [col('time'), col('rsi14')], $('#rsi'));
    onLeave(() => { u1.destroy(); u2.destroy(); });
    $('#info').textContent = r.message;
  } catch (e) { $('#info').innerHTML = `<span class="err">${esc(e.message)}</span>`; }
}

// ---------------------------------------------------------------- Heatmap
async function heatmapPage() {
  const p = params();
  page.innerHTML = `<div class="card"><div class="row" id="q">${form([['collection', 'trade collection', 'btc_trades_2024_08'], ['symbol', 'symbol', 'BTCUSDT'], ['bucket_ms', 'bucket ms', '60000'], ['bins', 'price bins', '40']], p)}
    <button id="go">Show</button><span id="info" class="muted"></span></div><canvas id="heat" width="1100" height="420"></canvas>
    <p class="muted">Green: taker buys, red: taker sells; brightness: traded volume.</p></div>`;
  $('#go').onclick = () => { location.hash = '#/heatmap?' + readForm($('#q')); };
  if (!p.get('collection')) return;
  try {
    const r = await api(`/api/heatmap/${encodeURIComponent(p.get('collection'))}/${encodeURIComponent(p.get('symbol') || 'BTCUSDT')}?bucket_ms=${p.get('bucket_ms') || 60000}&bins=${p.get('bins') || 40}`);
    const d = r.data, cv = $('#heat'), g = cv.getContext('2d');
    const W = cv.width, H = cv.height, nb = d.buckets.length, cw = W / Math.max(1, nb), ch = H / d.bins;
    let max = 0;
    d.buckets.forEach((b) => b.buy.forEach((v, i) => { max = Math.max(max, v + b.sell[i]); }));
    g.fillStyle = '#0e141b'; g.fillRect(0, 0, W, H);
    d.buckets.forEach((b, x) => b.buy.forEach((buy, i) => {
      const sell = b.sell[i], tot = buy + sell;
      if (!tot) return;
      const a = Math.sqrt(tot / max), share = buy / tot;
      g.fillStyle = `rgba(${Math.round(255 * (1 - share))},${Math.round(200 * share)},60,${a})`;
      g.fillRect(x * cw, H - (i + 1) * ch, Math.ceil(cw), Math.ceil(ch));
    }));
    $('#info').textContent = `${r.message}; price ${d.price_low} .. ${d.price_high}, ${nb} buckets`;
  } catch (e) { $('#info').innerHTML = `<span class="err">${esc(e.message)}</span>`; }
}

// ---------------------------------------------------------------- Graph
async function graphPage() {
  const p = params();
  page.innerHTML = `<div class="card"><div class="row" id="q">${form([['collection', 'graph collection', 'btc_graph_2024_06'], ['symbol', 'symbol (empty: all)', ''], ['bars', 'last bars', '40']], p)}
    <button id="go">Show</button><span id="info" class="muted"></span></div><div id="cy"></div><div id="node" class="card"></div></div>`;
  $('#go').onclick = () => { location.hash = '#/graph?' + readForm($('#q')); };
  if (!p.get('collection')) return;
  try {
    const r = await api(`/api/graph/${encodeURIComponent(p.get('collection'))}?bars=${p.get('bars') || 40}${p.get('symbol') ? '&symbol=' + encodeURIComponent(p.get('symbol')) : ''}`);
    const d = r.data, symbols = [...new Set(d.nodes.map((n) => n.symbol))].sort();
    const t0 = Math.min(...d.nodes.map((n) => n.open_time)), t1 = Math.max(...d.nodes.map((n) => n.open_time));
    const names = d.meta.node_features || [];
    const elements = d.nodes.map((n) => ({ data: { id: n.key, label: n.symbol + ' ' + fmtTime(n.open_time).slice(11, 16), node: n },
      position: { x: 40 + 1000 * (n.open_time - t0) / Math.max(1, t1 - t0), y: 60 + 140 * symbols.indexOf(n.symbol) }, classes: n.gap ? 'gap' : '' }))
      .concat(d.edges.map((e, i) => ({ data: { id: 'e' + i, source: e.source, target: e.target, w: Math.max(1, Math.abs(e.corr) * 6),
        bend: e.type === 'c' ? 0 : -12 * Math.log2(1 + e.lag) }, classes: e.type === 'c' ? 'cross' : 'temporal' })));
    const cy = cytoscape({ container: $('#cy'), elements, layout: { name: 'preset' },
      style: [{ selector: 'node', style: { 'background-color': '#4da3ff', label: 'data(label)', 'font-size': 8, width: 10, height: 10 } },
        { selector: 'node.gap', style: { 'background-color': '#c62828' } },
        { selector: 'edge.temporal', style: { width: 1, 'line-color': '#c5ccd4', 'curve-style': 'unbundled-bezier', 'control-point-distances': 'data(bend)', 'control-point-weights': 0.5, 'target-arrow-shape': 'triangle', 'arrow-scale': 0.5 } },
        { selector: 'edge.cross', style: { width: 'data(w)', 'line-color': '#f0b400', 'curve-style': 'bezier', 'target-arrow-shape': 'triangle' } }] });
    onLeave(() => cy.destroy());
    window.sfGraph = cy;  // for the browser test and the console
    cy.on('tap', 'node', (ev) => {
      const n = ev.target.data('node');
      $('#node').innerHTML = `<b>${esc(n.key)}</b> close ${esc(n.close)}${n.gap ? ' (gap)' : ''} targets ${esc(JSON.stringify(n.y))}
        <table>${names.map((f, i) => `<tr><td>${esc(f)}</td><td>${(+n.x[i]).toFixed(5)}</td></tr>`).join('')}</table>`;
    });
    $('#info').textContent = `${r.message}; symbols ${symbols.join(', ')}; yellow: cross edges (width: |corr|), grey: temporal`;
  } catch (e) { $('#info').innerHTML = `<span class="err">${esc(e.message)}</span>`; }
}

// ---------------------------------------------------------------- GNN output
async function gnnPage() {
  const p = params();
  page.innerHTML = `<div class="card"><div class="row" id="q">${form([['model', 'model collection', 'gnn_model_btc_2024_06'], ['live', 'real-time graph (live accuracy)', '']], p)}
    <button id="go">Show</button><span id="info" class="muted"></span></div><div id="card"></div><div id="chart" class="chart"></div><div id="live"></div></div>`;
  $('#go').onclick = () => { location.hash = '#/gnn?' + readForm($('#q')); };
  if (p.get('model')) {
    try {
      const m = (await api('/api/model/' + encodeURIComponent(p.get('model')))).data;
      const met = m.metrics, vs = met.vs_best_baseline, a = m.architecture;
      const row = (name, s) => `<tr><td>${esc(name)}</td><td>${pct(s.accuracy)}</td><td>${pct(s.balanced_accuracy)}</td><td>${s.macro_f1?.toFixed(3)}</td><td>${s.mcc?.toFixed(3)}</td><td>${s.log_loss?.toFixed(3)}</td><td>${s.n}</td></tr>`;
      $('#card').innerHTML = `<p class="verdict" id="verdict">${esc(m.summary)}</p>
        <table id="scores"><thead><tr><th>model</th><th>accuracy</th><th>balanced</th><th>macro-F1</th><th>MCC</th><th>log-loss</th><th>test bars</th></tr></thead><tbody>
        ${row('GATv2 (this model)', met.test)}${row('majority class', met.baselines.majority)}${row('persistence', met.baselines.persistence)}${row('no-graph network', met.baselines.no_graph)}</tbody></table>
        <p>Against the best baseline (${esc(vs.baseline)}): ${(vs.delta * 100).toFixed(1)} points, 95% interval ${(vs.ci95[0] * 100).toFixed(1)} to ${(vs.ci95[1] * 100).toFixed(1)}, McNemar p = ${vs.p.toFixed(3)}.</p>
        <p class="muted">${esc(a.type)}: ${a.layers} layers x ${a.heads} heads x ${a.hidden_per_head}, ${a.parameters} parameters; horizon ${m.task.horizon_bars} bar(s), ${m.task.classes} classes (${esc(m.task.labels)}).
        Split by time: train to ${fmtTime(m.split.train.to_ms)}, validation ${fmtTime(m.split.val.from_ms)}..${fmtTime(m.split.val.to_ms)}, test ${fmtTime(m.split.test.from_ms)}..${fmtTime(m.split.test.to_ms)} (embargo ${m.split.embargo_bars} bars).
        Training: ${m.training.epochs} epochs, best ${m.training.best_epoch}, ${m.training.wall_s.toFixed(1)} s.</p>`;
      const LC = window.LightweightCharts;
      const chart = LC.createChart($('#chart'), { autoSize: true, timeScale: { timeVisible: true } });
      onLeave(() => chart.remove());
      const series = chart.addSeries(LC.CandlestickSeries, {});
      const sym = (m.symbols || ['BTCUSDT'])[0];
      const c = await api(`/api/candles/${encodeURIComponent(m.graph_collection)}/${encodeURIComponent(sym)}?from=${m.split.test.from_ms}&limit=5000`);
      series.setData(c.data.map((x) => ({ time: x.time, open: x.open, high: x.high, low: x.low, close: x.close })));
      const pr = await api(`/api/predictions/${encodeURIComponent(p.get('model'))}?symbol=${encodeURIComponent(sym)}&limit=5000`);
      LC.createSeriesMarkers(series, pr.data.predictions.map((x) => ({ time: Math.floor(x.open_time / 1000),
        position: x.pred ? 'belowBar' : 'aboveBar', shape: x.pred ? 'arrowUp' : 'arrowDown', color: x.correct ? '#1a7f37' : '#c62828' })));
      chart.timeScale().fitContent();
    } catch (e) { $('#info').innerHTML = `<span class="err">${esc(e.message)}</span>`; }
  }
  if (p.get('live')) {
    const show = async () => {
      try {
        const r = await api('/api/predictions/' + encodeURIComponent(p.get('live')) + '?limit=20');
        $('#live').innerHTML = `<h3>Live accuracy</h3><table><tr><th>symbol</th><th>scored</th><th>model</th><th>persistence</th><th>majority</th></tr>${r.data.live.map((l) =>
          `<tr><td>${esc(l.symbol)}</td><td>${l.scored}</td><td>${pct(l.accuracy)}</td><td>${pct(l.persistence_accuracy)}</td><td>${pct(l.majority_accuracy)}</td></tr>`).join('')}</table>
          <p class="muted">${r.data.total} predictions so far.</p>`;
      } catch (e) { $('#live').innerHTML = `<span class="err">${esc(e.message)}</span>`; }
    };
    await show();
    const timer = setInterval(show, 3000);
    onLeave(() => clearInterval(timer));
  }
}

// ---------------------------------------------------------------- routing
const pages = { queues: queuesPage, events: eventsPage, topic: topicPage, candles: candlesPage, indicators: indicatorsPage,
  heatmap: heatmapPage, graph: graphPage, gnn: gnnPage };
async function route() {
  cleanup.forEach((f) => { try { f(); } catch (_) { /* already gone */ } });
  cleanup = [];
  const name = (location.hash.slice(2).split('?')[0]) || 'queues';
  document.querySelectorAll('#nav a').forEach((a) => a.classList.toggle('active', a.getAttribute('href') === '#/' + name));
  await (pages[name] || queuesPage)();
}
window.addEventListener('hashchange', route);
route();

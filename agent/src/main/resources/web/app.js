// Corral's web page: no library, no network but this agent. Every value from the agent is put in the page with
// textContent or setAttribute, never as markup (container names and labels are user data).
'use strict';

const SVG = 'http://www.w3.org/2000/svg';
const COLORS = ['#2f6f4f', '#3b6fb6', '#b3541e', '#8a4fb3', '#b3a11e', '#1e9bb3'];
const st = {
  info: {}, times: [], host: {}, rows: new Map(), spark: new Map(), events: [], view: 'host', id: null,
  detail: null, policy: null, sortKey: 'cpu', sortUp: false, filter: '', onlyNamed: false, dirty: true,
};

// ---- small DOM helpers --------------------------------------------------------------------------------------
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    // style through the CSSOM: the content security policy refuses style attributes
    if (k === 'class') e.className = v; else if (k === 'style') e.style.cssText = v; else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(c == null ? '' : String(c)));
  return e;
}
function svg(tag, attrs) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  return e;
}
const $ = (id) => document.getElementById(id);

// ---- formatting ---------------------------------------------------------------------------------------------
function bytes(v) {
  if (v == null || isNaN(v)) return '–';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (Math.abs(v) >= 1024 && i < u.length - 1) { v /= 1024; i++; }
  return (i === 0 ? v.toFixed(0) : v.toFixed(v < 10 ? 2 : 1)) + ' ' + u[i];
}
const rate = (v) => v == null || isNaN(v) ? '–' : bytes(v) + '/s';
const cores = (v) => v == null || isNaN(v) ? '–' : v.toFixed(v < 1 ? 3 : 2);
const pct = (v) => v == null || isNaN(v) ? '–' : (100 * v).toFixed(1) + ' %';
const ms = (v) => v == null || isNaN(v) ? '–' : v.toFixed(2) + ' ms';
const clock = (t) => new Date(t).toLocaleTimeString();

// ---- charts: plain SVG polylines ----------------------------------------------------------------------------
// series: [{name, values, color}], lines: [{value, label, cls}]; data-last(-t) let tests see the newest point.
function chart(title, times, series, opts) {
  opts = opts || {};
  const W = 320, H = 120, L = 44, B = 14;
  const card = el('div', { class: 'card', 'data-chart': opts.key || title });
  const last = series[0] && series[0].values.length ? series[0].values[series[0].values.length - 1] : null;
  card.append(el('h4', {}, title), el('div', { class: 'now' }, opts.now || ''));
  const s = svg('svg', { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none' });
  if (last != null) s.setAttribute('data-last', String(last));
  if (times.length) s.setAttribute('data-last-t', String(times[times.length - 1]));
  let max = opts.max || 0;
  for (const sr of series) for (const v of sr.values) if (v != null && v > max) max = v;
  for (const l of opts.lines || []) if (l.value != null && l.value > max) max = l.value;
  if (!(max > 0)) max = 1;
  max *= 1.08;
  const t0 = times.length ? times[0] : 0, t1 = times.length ? times[times.length - 1] : 1;
  const span = Math.max(1, t1 - t0);
  const x = (t) => L + (W - L - 2) * (t - t0) / span;
  const y = (v) => (H - B) - (H - B - 4) * v / max;
  for (const f of [0, 0.5, 1]) {
    s.append(svg('line', { class: 'grid', x1: L, x2: W, y1: y(max / 1.08 * f), y2: y(max / 1.08 * f) }));
    const t = svg('text', { x: 2, y: y(max / 1.08 * f) + 3 });
    t.textContent = (opts.fmt || String)(max / 1.08 * f);
    s.append(t);
  }
  const tl = svg('text', { x: L, y: H - 2 }); tl.textContent = times.length ? clock(t0) : ''; s.append(tl);
  const tr = svg('text', { x: W - 48, y: H - 2 }); tr.textContent = times.length ? clock(t1) : ''; s.append(tr);
  for (const l of opts.lines || []) {
    if (l.value == null) continue;
    s.append(svg('line', { class: l.cls || 'limit', x1: L, x2: W, y1: y(l.value), y2: y(l.value) }));
    // limits labelled on the left, the entitlement on the right: they are often the same value
    const lt = svg('text', { x: l.cls === 'ent' ? W - 48 : L + 2, y: y(l.value) - 2 }); lt.textContent = l.label; s.append(lt);
  }
  for (const m of opts.marks || []) {
    if (m < t0 || m > t1) continue;
    s.append(svg('line', { class: 'mark', x1: x(m), x2: x(m), y1: 0, y2: H - B }));
  }
  series.forEach((sr, i) => {
    let pts = [];
    const flush = () => {
      if (pts.length) s.append(svg('polyline', { points: pts.join(' '), stroke: sr.color || COLORS[i] }));
      pts = [];
    };
    sr.values.forEach((v, j) => { if (v == null) flush(); else pts.push(x(times[j]).toFixed(1) + ',' + y(v).toFixed(1)); });
    flush();
  });
  card.append(s);
  if (series.length > 1 || (opts.lines || []).length) {
    const lg = el('div', { class: 'legend' });
    series.forEach((sr, i) => lg.append(el('span', {}, el('i', { style: 'background:' + (sr.color || COLORS[i]) }), sr.name)));
    card.append(lg);
  }
  return card;
}

function sparkline(values) {
  const s = svg('svg', { class: 'spark', viewBox: '0 0 90 18', preserveAspectRatio: 'none' });
  const vs = values || [];
  let max = 0;
  for (const v of vs) if (v != null && v > max) max = v;
  if (!(max > 0)) max = 1;
  const pts = [];
  vs.forEach((v, i) => { if (v != null) pts.push((90 * i / Math.max(1, vs.length - 1)).toFixed(1) + ',' + (17 - 16 * v / max).toFixed(1)); });
  if (pts.length) s.append(svg('polyline', { points: pts.join(' '), stroke: COLORS[0] }));
  return s;
}

// ---- data in ------------------------------------------------------------------------------------------------
const POINTS = () => st.info.points || 600;
const pushCapped = (a, v, n) => { a.push(v); if (a.length > n) a.splice(0, a.length - n); };

async function getJson(url) {
  const r = await fetch(url, { cache: 'no-store' });
  if (!r.ok) throw new Error(url + ': ' + r.status);
  return r.json();
}

async function load() {
  const s = await getJson('/web/state');
  st.info = s.info;
  st.times = s.times;
  st.host = s.host;
  st.rows = new Map(s.rows.map((r) => [r.id, r]));
  st.spark = new Map(Object.entries(s.spark));
  st.hostNow = s.hostNow;
  const m = [`cgroup ${s.info.cgroupMode}`, `${s.info.cpus} CPUs`, bytes(s.info.memoryBytes), `every ${s.info.intervalMillis} ms`,
    `history ${Math.round(s.info.points * s.info.intervalMillis / 60000)} min`, `corral ${s.info.version}`];
  $('meta').textContent = m.join(' · ');
  connect();
  route();
}

function connect() {
  const since = Date.now() - POINTS() * (st.info.intervalMillis || 1000);
  const es = new EventSource('/web/stream?since=' + since);
  es.onopen = () => { $('live').textContent = 'live'; $('live').classList.add('on'); };
  es.onerror = () => { $('live').textContent = 'reconnecting…'; $('live').classList.remove('on'); };
  es.addEventListener('sample', (m) => sample(JSON.parse(m.data)));
  es.addEventListener('event', (m) => {
    const e = JSON.parse(m.data);
    if (st.events.some((o) => o.timeMillis === e.timeMillis && o.type === e.type && o.name === e.name)) return;
    pushCapped(st.events, e, 2000);
    if (e.type.startsWith('policy-') && st.view === 'policies') loadPolicy();
    st.dirty = true;
  });
}

function sample(f) {
  if (st.times.length && f.t <= st.times[st.times.length - 1]) return;
  pushCapped(st.times, f.t, POINTS());
  for (const k of Object.keys(st.host)) pushCapped(st.host[k], f.host[k] == null ? null : f.host[k], POINTS());
  st.hostNow = f.host;
  // a full frame has every row; others only those that changed, and the ids of those gone
  const seen = f.full ? new Map() : st.rows;
  for (const r of f.rows) seen.set(r.id, r);
  for (const id of f.removed || []) { seen.delete(id); st.spark.delete(id); }
  for (const r of seen.values()) {
    if (r.state !== 'gone') {
      const sp = st.spark.get(r.id) || [];
      pushCapped(sp, r.cpu == null ? null : r.cpu, 60);
      st.spark.set(r.id, sp);
    }
  }
  st.rows = seen;
  const d = st.detail;
  if (d && seen.has(d.row.id)) {
    const r = seen.get(d.row.id);
    d.row = r;
    pushCapped(d.times, f.t, POINTS());
    for (const k of ['cpu', 'mem', 'ws', 'ior', 'iow', 'thr', 'pids']) {
      d.series[k] = d.series[k] || [];
      while (d.series[k].length < d.times.length - 1) d.series[k].push(null);
      pushCapped(d.series[k], r[k] == null ? null : r[k], POINTS());
    }
  }
  st.dirty = true;
}

// ---- views --------------------------------------------------------------------------------------------------
function route() {
  const h = location.hash || '#/';
  for (const v of ['host', 'container', 'policies']) $('view-' + v).hidden = true;
  $('nav-host').classList.toggle('current', !h.startsWith('#/policies'));
  $('nav-policies').classList.toggle('current', h.startsWith('#/policies'));
  if (h.startsWith('#/c/')) {
    st.view = 'container';
    st.id = decodeURIComponent(h.substring(4));
    st.detail = null;
    getJson('/web/container?id=' + encodeURIComponent(st.id))
      .then((d) => { st.detail = d; st.dirty = true; })
      .catch(() => { st.detail = { missing: true }; st.dirty = true; });
  } else if (h.startsWith('#/policies')) {
    st.view = 'policies';
    loadPolicy();
  } else {
    st.view = 'host';
  }
  $('view-' + st.view).hidden = false;
  st.dirty = true;
}

function loadPolicy() {
  getJson('/web/policy').then((p) => { st.policy = p; st.dirty = true; }).catch(() => {});
}

function render() {
  if (st.dirty) {
    st.dirty = false;
    if (st.view === 'host') renderHost();
    else if (st.view === 'container') renderContainer();
    else renderPolicies();
  }
  requestAnimationFrame(render);
}

function hostSeries(k) { return st.host[k] || []; }

function renderHost() {
  const n = st.hostNow || {}, i = st.info;
  const cards = [
    chart('CPU', st.times, [{ name: 'busy cores', values: hostSeries('cpu') }],
      { key: 'host-cpu', max: i.cpus, fmt: cores, now: `${cores(n.cpu)} of ${i.cpus} cores busy` }),
    chart('Memory', st.times, [{ name: 'working set', values: hostSeries('memUsed') },
      { name: 'cache', values: hostSeries('memCache') }, { name: 'available', values: hostSeries('memAvailable') }],
    { key: 'host-memory', max: i.memoryBytes, fmt: bytes,
      now: `working set ${bytes(n.memUsed)} · cache ${bytes(n.memCache)} · available ${bytes(n.memAvailable)}` }),
    chart('Block IO', st.times, [{ name: 'read', values: hostSeries('ioRead') }, { name: 'write', values: hostSeries('ioWrite') }],
      { key: 'host-io', fmt: rate, now: `read ${rate(n.ioRead)} · write ${rate(n.ioWrite)}` }),
    chart('Network', st.times, [{ name: 'received', values: hostSeries('netRx') }, { name: 'sent', values: hostSeries('netTx') }],
      { key: 'host-net', fmt: rate, now: `in ${rate(n.netRx)} · out ${rate(n.netTx)}` }),
    chart('Pressure (PSI)', st.times, [{ name: 'cpu some', values: hostSeries('psiCpuSome') },
      { name: 'memory some', values: hostSeries('psiMemSome') }, { name: 'memory full', values: hostSeries('psiMemFull') },
      { name: 'io some', values: hostSeries('psiIoSome') }, { name: 'io full', values: hostSeries('psiIoFull') }],
    { key: 'host-psi', fmt: pct, now: `cpu ${pct(n.psiCpuSome)} · memory ${pct(n.psiMemSome)}/${pct(n.psiMemFull)} · io ${pct(n.psiIoSome)}/${pct(n.psiIoFull)}` }),
    chart('Corral itself', st.times, [{ name: 'CPU (cores)', values: hostSeries('selfCpu') }],
      { key: 'host-self', fmt: cores, now: `CPU ${cores(n.selfCpu)} cores · RSS ${bytes(n.selfRss)} · collection ${ms(n.collectMs)}` }),
  ];
  $('host-cards').replaceChildren(...cards);
  renderTable();
}

function sortValue(r, k) {
  if (k === 'io') return (r.ior || 0) + (r.iow || 0);
  const v = r[k];
  return v == null ? (typeof v === 'string' ? '' : -1) : v;
}

function renderTable() {
  const f = st.filter.toLowerCase();
  let rows = [...st.rows.values()].filter((r) => (!st.onlyNamed || r.name)
    && (!f || [r.name, r.id, r.state, r.cls].some((s) => s && s.toLowerCase().includes(f))));
  const k = st.sortKey;
  rows.sort((a, b) => {
    const x = sortValue(a, k), y = sortValue(b, k);
    const c = typeof x === 'string' || typeof y === 'string' ? String(x).localeCompare(String(y)) : x - y;
    return (st.sortUp ? c : -c) || a.id.localeCompare(b.id);
  });
  for (const th of document.querySelectorAll('#containers th[data-key]')) {
    th.classList.toggle('sorted', th.dataset.key === k);
    th.classList.toggle('up', th.dataset.key === k && st.sortUp);
  }
  $('row-count').textContent = `${rows.length} of ${st.rows.size} cgroups`;
  const body = rows.map((r) => {
    const tr = el('tr', { 'data-id': r.id, class: r.state === 'gone' ? 'gone' : '' });
    const link = el('a', { href: '#/c/' + encodeURIComponent(r.id) }, r.name || '(unnamed)');
    const memCell = el('td', { class: 'num', 'data-field': 'mem', 'data-value': r.mem == null ? '' : r.mem },
      bytes(r.mem) + (r.memLim ? ' / ' + bytes(r.memLim) : ''));
    if (r.memLim) {
      const frac = Math.min(1, r.mem / r.memLim);
      memCell.append(el('span', { class: 'bar' }, el('i', { class: frac > 0.9 ? 'high' : '', style: `width:${(100 * frac).toFixed(0)}%` })));
    }
    tr.append(
      el('td', { 'data-field': 'name' }, link),
      el('td', { class: 'path', title: r.id }, r.id),
      el('td', { 'data-field': 'state' }, r.state),
      el('td', { 'data-field': 'cls' }, r.cls || ''),
      el('td', { class: 'num', 'data-field': 'cpu', 'data-value': r.cpu == null ? '' : r.cpu },
        cores(r.cpu) + (r.cpuLim ? ' / ' + cores(r.cpuLim) : '')),
      el('td', {}, sparkline(st.spark.get(r.id))),
      memCell,
      el('td', { class: 'num' }, rate(r.ior) + ' / ' + rate(r.iow)),
      el('td', { class: 'num' + (r.thr > 0.05 ? ' hot' : ''), 'data-field': 'thrN', 'data-value': r.thrN == null ? '' : r.thrN },
        r.thrN == null ? '–' : `${pct(r.thr)} · ${r.thrN}`),
      el('td', { class: 'num' + (r.oom > 0 ? ' bad' : ''), 'data-field': 'oom' }, r.oom == null ? '–' : r.oom),
      el('td', { class: 'num' }, r.pids == null ? '–' : r.pids + (r.pidsLim ? ' / ' + r.pidsLim : '')));
    return tr;
  });
  document.querySelector('#containers tbody').replaceChildren(...body);
}

function eventsOf(name) {
  return name ? st.events.filter((e) => e.name === name) : [];
}

function renderContainer() {
  const d = st.detail;
  if (!d) { $('c-title').textContent = 'loading…'; return; }
  if (d.missing) { $('c-title').textContent = 'no such cgroup: ' + st.id; return; }
  const r = d.row;
  $('c-title').textContent = r.name || r.id;
  const facts = [['Cgroup', r.id], ['State', r.state], ['Policy class', r.cls || '–'],
    ['CPU entitlement', r.ent == null ? '–' : cores(r.ent) + ' cores'], ['CPU limit', r.cpuLim ? cores(r.cpuLim) + ' cores' : 'none'],
    ['Memory limit', r.memLim ? bytes(r.memLim) : 'none'],
    ['Throttled', r.thrN == null ? '–' : `${r.thrN} periods, ${(r.thrSec || 0).toFixed(1)} s (${pct(r.thr)} of the last interval)`],
    ['OOM kills', r.oom == null ? '–' : r.oom]];
  if (d.class) {
    const g = d.class.guarantees || {};
    facts.push(['Class', `${d.class.name}: weight ${d.class.weight}, priority ${d.class.priority}${d.class.protected ? ', protected' : ''}`
      + `, guarantees cpu ${g.cpu || 0} cores, memory ${bytes(g.memory || 0)}`]);
  }
  for (const [k, v] of Object.entries(d.labels || {})) facts.push(['Label ' + k, v]);
  $('c-facts').replaceChildren(...facts.flatMap(([k, v]) => [el('dt', {}, k), el('dd', { 'data-fact': k }, v)]));
  const ev = eventsOf(r.name);
  const marks = ev.filter((e) => e.type === 'policy').map((e) => e.timeMillis);
  const s = d.series;
  const cards = [
    chart('CPU (cores)', d.times, [{ name: 'usage', values: s.cpu || [] }], { key: 'c-cpu', fmt: cores, marks,
      lines: [{ value: r.cpuLim, label: 'limit' }, { value: r.ent, label: 'entitled', cls: 'ent' }],
      now: `${cores(r.cpu)} cores` + (r.cpuLim ? ` of ${cores(r.cpuLim)}` : '') }),
    chart('Memory', d.times, [{ name: 'usage', values: s.mem || [] }, { name: 'working set', values: s.ws || [] }],
      { key: 'c-memory', fmt: bytes, marks, lines: [{ value: r.memLim, label: 'limit' }],
        now: `${bytes(r.mem)}` + (r.memLim ? ` of ${bytes(r.memLim)}` : '') }),
    chart('CPU throttling (share of periods)', d.times, [{ name: 'throttled', values: s.thr || [] }],
      { key: 'c-throttling', fmt: pct, max: 1, marks, now: `${pct(r.thr)} · ${r.thrN == null ? '–' : r.thrN} periods in all` }),
    chart('Block IO', d.times, [{ name: 'read', values: s.ior || [] }, { name: 'write', values: s.iow || [] }],
      { key: 'c-io', fmt: rate, marks, now: `read ${rate(r.ior)} · write ${rate(r.iow)}` }),
    chart('PIDs', d.times, [{ name: 'pids', values: s.pids || [] }], { key: 'c-pids', fmt: String, marks,
      lines: [{ value: r.pidsLim, label: 'limit' }], now: r.pids == null ? '–' : String(r.pids) }),
  ];
  $('c-cards').replaceChildren(...cards);
  renderTimeline(ev, d.times);
  const rows = ev.slice().reverse().map((e) => {
    const a = e.attributes || {};
    return el('tr', { 'data-type': e.type }, el('td', {}, clock(e.timeMillis)), el('td', {}, e.type), el('td', {}, a.policy || ''),
      el('td', {}, a.action || ''), el('td', {}, a.reason || a.error || ''),
      el('td', {}, a.before || a.after ? `${a.before || ''} → ${a.after || ''}` : ''), el('td', {}, a.dryRun ? 'yes' : ''));
  });
  document.querySelector('#c-events tbody').replaceChildren(...rows);
}

function renderTimeline(ev, times) {
  const W = 1000, H = 46;
  const t1 = Date.now(), t0 = t1 - POINTS() * (st.info.intervalMillis || 1000);
  const s = svg('svg', { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none' });
  s.append(svg('line', { class: 'grid', x1: 0, x2: W, y1: H / 2, y2: H / 2 }));
  for (const e of ev) {
    if (e.timeMillis < t0) continue;
    const x = W * (e.timeMillis - t0) / (t1 - t0);
    const c = svg('circle', { cx: x.toFixed(1), cy: H / 2, r: 5, fill: e.type === 'policy' ? COLORS[2] : COLORS[1] });
    const title = svg('title');
    const a = e.attributes || {};
    title.textContent = `${clock(e.timeMillis)} ${e.type} ${a.policy || ''} ${a.action || ''} ${a.after || ''}`;
    c.append(title);
    s.append(c);
  }
  $('c-timeline').replaceChildren(s);
}

function renderPolicies() {
  const p = st.policy;
  if (!p) return;
  if (!p.loaded) {
    $('p-facts').replaceChildren(el('dt', {}, 'Policy'), el('dd', {}, 'none: this agent runs no policy'));
    return;
  }
  $('p-facts').replaceChildren(
    el('dt', {}, 'Loaded from'), el('dd', {}, p.source),
    el('dt', {}, 'Dry run'), el('dd', { 'data-fact': 'dryRun' }, p.dryRun ? 'yes: decided and recorded, nothing applied' : 'no'),
    el('dt', {}, 'Last reloaded'), el('dd', {}, p.lastLoadedMillis ? new Date(p.lastLoadedMillis).toLocaleString() : 'not since start'));
  const rj = $('p-rejected');
  rj.hidden = !p.lastRejected;
  if (p.lastRejected) {
    rj.textContent = `A newer version was rejected at ${new Date(p.lastRejected.timeMillis).toLocaleString()}; the policy above stays. `
      + `${p.lastRejected.error || p.lastRejected.problem || ''}`;
  }
  const rows = p.classes.map((c) => {
    const g = c.guarantees || {};
    const sel = c.selector ? [...(c.selector.names || []).map((n) => 'name ' + n),
      ...Object.entries(c.selector.labels || {}).map(([k, v]) => `label ${k}=${v}`)].join(', ') : 'every container';
    return el('tr', {}, el('td', {}, c.name), el('td', { class: 'num' }, c.priority), el('td', { class: 'num' }, c.weight),
      el('td', {}, c.protected ? 'yes' : ''), el('td', {}, `cpu ${g.cpu || 0}, memory ${bytes(g.memory || 0)}, io ${rate(g.io || 0)}`),
      el('td', {}, sel), el('td', { 'data-class': c.name }, (c.containers || []).join(', ')));
  });
  document.querySelector('#p-classes tbody').replaceChildren(...rows);
  $('p-policies').textContent = JSON.stringify(p.policies, null, 2);
}

// ---- wiring -------------------------------------------------------------------------------------------------
window.addEventListener('hashchange', route);
document.addEventListener('DOMContentLoaded', () => {
  $('filter').addEventListener('input', (e) => { st.filter = e.target.value; st.dirty = true; });
  $('only-named').addEventListener('change', (e) => { st.onlyNamed = e.target.checked; st.dirty = true; });
  for (const th of document.querySelectorAll('#containers th[data-key]')) {
    th.addEventListener('click', () => {
      if (st.sortKey === th.dataset.key) st.sortUp = !st.sortUp; else { st.sortKey = th.dataset.key; st.sortUp = false; }
      st.dirty = true;
    });
  }
  load().catch((e) => { $('live').textContent = 'cannot load: ' + e.message; });
  requestAnimationFrame(render);
});

// ConsultBridge ops dashboard: plain JS, no dependencies, no CDN (works on an offline hospital network).
// State from /api/ops/state, then live from /api/ops/stream (Server-Sent Events). URLs are built on
// location.origin, so a page opened as http://ops:secret@host/ops never puts credentials into a request URL.
const api = (path) => new URL(path, location.origin).toString();
const $ = (id) => document.getElementById(id);
window.opsState = null;
window.opsUpdates = 0;

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

const SVG = 'http://www.w3.org/2000/svg';
/** A small SVG sparkline of the values (negative = unknown, skipped). */
function sparkline(values, color, label, format) {
  const w = 120, h = 28;
  const known = values.filter((v) => v >= 0);
  const max = Math.max(1e-9, ...known);
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('width', w); svg.setAttribute('height', h); svg.setAttribute('class', 'spark');
  svg.setAttribute('viewBox', `0 0 ${w} ${h}`);
  const pts = [];
  values.forEach((v, i) => {
    if (v < 0) return;
    const x = values.length < 2 ? w : (i / (values.length - 1)) * w;
    pts.push(`${x.toFixed(1)},${(h - 2 - (v / max) * (h - 4)).toFixed(1)}`);
  });
  const line = document.createElementNS(SVG, 'polyline');
  line.setAttribute('points', pts.join(' '));
  line.setAttribute('stroke', color);
  svg.append(line);
  const last = known.length ? format(known[known.length - 1]) : '–';
  return el('div', {}, svg, el('span', { class: 'spark-label' }, `${label} ${last}`));
}

const kbps = (v) => `${Math.round(v / 1000)} kbit/s`;
const pct = (v) => `${(v * 100).toFixed(1)} %`;
const ms = (v) => `${Math.round(v)} ms`;

function participantRow(p) {
  const f = p.figures || {};
  const h = p.history || { bitrateIn: [], bitrateOut: [], loss: [], rtt: [], layer: [] };
  const c = f.client;
  const client = c ? `${c.fps >= 0 ? Math.round(c.fps) + ' fps' : 'no video'}${c.width > 0 ? ' ' + c.width + '×' + c.height : ''}`
      + `, freezes ${c.freezeCount}, concealed ${c.concealment >= 0 ? pct(c.concealment) : '–'}, ${c.candidateType}` : '–';
  const tr = el('tr', { 'data-participant': p.key, 'data-verdict': p.verdict },
    el('td', {}, el('strong', {}, p.label), p.name ? el('div', { class: 'reason' }, p.name) : ''),
    el('td', {}, p.role),
    el('td', {}, el('span', { class: `pill ${p.verdict}` }, p.verdict), el('div', { class: 'reason' }, p.reason || '')),
    el('td', {}, sparkline(h.bitrateIn, '#1565c0', 'in', kbps), sparkline(h.bitrateOut, '#6a1b9a', 'out', kbps)),
    el('td', {}, sparkline(h.loss, '#c62828', 'loss', pct), sparkline(h.rtt, '#ef6c00', 'RTT', ms)),
    el('td', {}, sparkline(h.layer, '#2e7d32', 'layer', (v) => String(v))),
    el('td', { class: 'reason' }, `${f.publish || '?'} / ${f.subscribe || '?'}`,
      el('div', {}, `estimate ${f.estimateBps >= 0 ? kbps(f.estimateBps) : '–'}`), el('div', {}, `client: ${client}`)));
  return tr;
}

function render(state) {
  window.opsState = state;
  window.opsUpdates++;
  const node = $('node');
  node.textContent = state.draining ? 'draining' : state.ready ? 'ready' : 'not ready: ' + state.notReady.join(', ');
  node.className = 'pill ' + (state.draining ? 'node-draining' : state.ready ? 'node-ready' : 'node-down');
  const b = state.bridge || {};
  $('totals').textContent = `bridge in ${kbps(b.bitrateInBps || 0)}, out ${kbps(b.bitrateOutBps || 0)}`;
  const box = $('consultations');
  box.replaceChildren();
  if (!state.consultations.length) box.append(el('p', { class: 'muted' }, 'No consultation running.'));
  for (const c of state.consultations) {
    const head = el('tr', {}, ...['participant', 'role', 'verdict', 'bit rate', 'loss / RTT', 'layer', 'transport / client']
      .map((t) => el('th', {}, t)));
    const table = el('table', {}, el('thead', {}, head), el('tbody', {}, ...c.participants.map(participantRow)));
    box.append(el('div', { class: 'consultation', 'data-consultation': c.key },
      el('h2', {}, `Consultation ${c.key}${c.id ? ' (' + c.id + ')' : ''}`), table));
  }
  const events = $('events');
  events.replaceChildren(...state.events.slice().reverse().map((e) => el('li', {},
    `${e.at.substring(11, 19)} ${e.participant || ''} ${e.kind}${e.detail ? ': ' + e.detail : ''}`)));
  $('updated').textContent = `updated ${state.generatedAt.substring(11, 19)} UTC`;
}

// ---- past consultations: GET /api/ops/summaries (list) and /api/ops/summaries/<id> (one summary)
window.opsPast = null;
window.opsSummary = null;
const duration = (s) => (s < 60 ? `${s} s` : s < 3600 ? `${Math.floor(s / 60)} min ${s % 60} s`
  : `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`);
const FIGURES = [['bitrateInBps', 'bit rate in', kbps], ['bitrateOutBps', 'bit rate out', kbps],
  ['uplinkLoss', 'uplink loss', pct], ['downlinkLoss', 'downlink loss', pct], ['rttMs', 'RTT', ms],
  ['jitterMs', 'jitter', ms], ['estimateBps', 'downlink estimate', kbps], ['layer', 'layer', (v) => String(v)],
  ['fps', 'client fps', (v) => v.toFixed(0)], ['concealment', 'audio concealed', pct]];

async function loadPast() {
  const q = new URLSearchParams({ limit: '50' });
  if ($('past-from').value) q.set('from', $('past-from').value);
  if ($('past-to').value) q.set('to', $('past-to').value);
  const r = await fetch(api('/api/ops/summaries?' + q), { credentials: 'same-origin' });
  const body = await r.json();
  if (!r.ok) { $('past-status').textContent = body.error || r.statusText; return; }
  window.opsPast = body;
  $('past-status').textContent = `${body.summaries.length} shown; kept ${body.retentionDays} days`;
  $('past-list').tBodies[0].replaceChildren(...body.summaries.map((s) => {
    const open = el('button', { class: 'link', type: 'button' }, 'show');
    open.addEventListener('click', () => loadSummary(s.id));
    return el('tr', { 'data-summary': s.id },
      el('td', {}, s.startedAt.substring(0, 16).replace('T', ' ')),
      el('td', {}, duration(s.durationSeconds) + (s.complete ? '' : ' (incomplete)')),
      el('td', {}, el('span', { class: `pill ${s.worstVerdict}` }, s.worstVerdict)),
      el('td', {}, pct(s.notGoodShare || 0)),
      el('td', {}, s.participants.map((p) => p.label).join(', ')),
      el('td', {}, open));
  }));
}

async function loadSummary(id) {
  const r = await fetch(api('/api/ops/summaries/' + encodeURIComponent(id)), { credentials: 'same-origin' });
  const s = await r.json();
  const box = $('summary');
  if (!r.ok) { box.replaceChildren(el('p', {}, s.error || r.statusText)); return; }
  window.opsSummary = s;
  const head = el('tr', {}, ...['participant', 'role', 'worst verdict', 'time good / degraded / bad', 'median', 'worst', 'freezes']
    .map((t) => el('th', {}, t)));
  const rows = s.participants.map((p) => {
    const f = p.figures || {};
    const known = FIGURES.filter(([k]) => f[k]);
    const v = p.verdictSeconds;
    return el('tr', { 'data-summary-participant': p.label },
      el('td', {}, el('strong', {}, p.label), p.name ? el('div', { class: 'reason' }, p.name) : ''),
      el('td', {}, p.role),
      el('td', {}, el('span', { class: `pill ${p.worstVerdict}` }, p.worstVerdict), el('div', { class: 'reason' }, p.worstReason)),
      el('td', {}, `${duration(v.good)} / ${duration(v.degraded)} / ${duration(v.bad)}`),
      el('td', { class: 'reason' }, ...known.map(([k, label, fmt]) => el('div', {}, `${label} ${fmt(f[k].median)}`))),
      el('td', { class: 'reason' }, ...known.map(([k, label, fmt]) => el('div', {}, `${label} ${fmt(f[k].worst)}`))),
      el('td', {}, `${p.freezes} (${p.freezeSeconds} s)`));
  });
  const item = (e, text) => el('li', {}, `${e.at.substring(11, 19)} ${e.participant || ''} ${text}`);
  box.replaceChildren(
    el('h2', {}, `Consultation ${s.consultation}${s.consultationId ? ' (' + s.consultationId + ')' : ''}`),
    el('p', { class: 'reason' }, `${s.startedAt} to ${s.endedAt}, ${duration(s.durationSeconds)}, ${s.end}`
      + `${s.complete ? '' : ' (incomplete)'}; worst verdict ${s.worstVerdict}`),
    el('table', {}, el('thead', {}, head), el('tbody', {}, ...rows)),
    el('h3', {}, 'Verdict changes'),
    el('ol', { id: 'summary-verdicts' }, ...s.verdicts.map((v) => item(v, `${v.verdict}${v.reason ? ': ' + v.reason : ''}`))),
    el('h3', {}, 'Events'),
    el('ol', { id: 'summary-events' }, ...s.events.map((e) => item(e, `${e.kind}${e.detail ? ': ' + e.detail : ''}`))),
    s.eventsLeftOut ? el('p', { class: 'muted' }, `${s.eventsLeftOut} more events left out`) : '');
}

$('past-query').addEventListener('submit', (e) => { e.preventDefault(); loadPast(); });

async function start() {
  loadPast();
  const r = await fetch(api('/api/ops/state'), { credentials: 'same-origin' });
  if (r.ok) render(await r.json());
  const es = new EventSource(api('/api/ops/stream'));
  es.addEventListener('state', (e) => render(JSON.parse(e.data)));
  es.onerror = () => { $('node').textContent = 'reconnecting…'; $('node').className = 'pill node-down'; };
}
start();

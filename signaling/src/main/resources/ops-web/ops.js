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

async function start() {
  const r = await fetch(api('/api/ops/state'), { credentials: 'same-origin' });
  if (r.ok) render(await r.json());
  const es = new EventSource(api('/api/ops/stream'));
  es.addEventListener('state', (e) => render(JSON.parse(e.data)));
  es.onerror = () => { $('node').textContent = 'reconnecting…'; $('node').className = 'pill node-down'; };
}
start();

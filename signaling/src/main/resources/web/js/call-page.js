// Wires a call page (room, doctor or guest) to the client core. The page's <body data-page="..."> says which.
import { ConsultClient, optionsFromLocation, tokenFromLocation } from './consultbridge-client.js';
import { E2ee, e2eeOptionsFromLocation } from './e2ee.js';
import { ProfileApplier, mountClinicalUi } from './clinical.js';
import { mountStills } from './still-capture.js';
import { ADMISSION_STATE_TEXT, bindWaitingRoom, participantActions } from './waiting-room-ui.js';
import { judgeLink } from './link-verdict.js';

const page = document.body.dataset.page;
const $ = (id) => document.getElementById(id);
const STATE_TEXT = {
  idle: 'Bereit · Ready',
  connecting: 'Verbinde … · Connecting …',
  connected: 'Verbunden · Connected',
  reconnecting: 'Verbindung gestört … · Reconnecting …',
  disconnected: 'Getrennt · Disconnected',
  left: 'Beendet · Call ended',
  rejoin: 'Verbindung verloren · Connection lost',
  ...ADMISSION_STATE_TEXT,
};
const ROLE_TEXT = { doctor: 'Arzt/Ärztin · Doctor', staff: 'Praxisteam · Staff', room: 'Telemedizin-Raum · Room', guest: 'Gast · Guest' };

const client = new ConsultClient(tokenFromLocation(), optionsFromLocation());
window.consultbridge = client; // for tests and support: state, publishPc, subscribePc, participants, remoteTracks
// issue #8: end-to-end encryption (state, verificationCode, stats for tests) and clinical profiles
client.e2ee = new E2ee(client, e2eeOptionsFromLocation());
window.consultbridgeE2ee = client.e2ee;
const profiles = new ProfileApplier(client);
window.consultbridgeProfiles = profiles;
const clinicalUi = mountClinicalUi(client, client.e2ee, profiles, optionsFromLocation());
bindWaitingRoom(client);
mountStills(client, client.e2ee, page); // issue #8: full-resolution still images (window.consultbridgeStills)

function showState(detail) {
  const el = $('state');
  el.textContent = STATE_TEXT[client.state] || client.state;
  el.dataset.state = client.state;
  if (detail && client.state === 'disconnected') el.title = detail;
}
client.addEventListener('state', (e) => showState(e.detail));
client.addEventListener('problem', (e) => { $('problem').textContent = e.detail; });
// reconnects: the grace period ended; a new join (the same link) brings the participant back
client.addEventListener('state', () => {
  if (client.state !== 'rejoin' || $('rejoin')) return;
  const b = document.createElement('button');
  b.id = 'rejoin';
  b.type = 'button';
  b.textContent = 'Neu beitreten · Join again';
  b.addEventListener('click', () => location.reload());
  $('problem').after(b);
});
client.addEventListener('resumed', () => { $('problem').textContent = ''; });
const RECONNECTING_TEXT = ' · Verbindung gestört … · reconnecting …';

function tileFor(participantId) {
  let tile = document.querySelector(`[data-participant="${CSS.escape(participantId)}"]`);
  if (!tile) {
    tile = document.createElement('figure');
    tile.className = 'tile';
    tile.dataset.participant = participantId;
    const video = document.createElement('video');
    video.autoplay = true;
    video.playsInline = true;
    video.muted = true; // sound comes from the <audio> element
    const audio = document.createElement('audio');
    audio.autoplay = true;
    const caption = document.createElement('figcaption');
    tile.append(video, audio, caption);
    $('remotes').append(tile);
  }
  return tile;
}

function renderRemote(participantId) {
  const stream = client.remoteTracks.get(participantId);
  const tile = document.querySelector(`[data-participant="${CSS.escape(participantId)}"]`);
  if (!stream || stream.getTracks().length === 0) {
    if (tile) tile.remove();
    return;
  }
  const t = tileFor(participantId);
  const [video, audio] = t.querySelectorAll('video, audio');
  if (video.srcObject !== stream) video.srcObject = stream;
  if (audio.srcObject !== stream) audio.srcObject = stream;
  renderCaption(participantId);
}

function renderCaption(participantId) {
  const tile = document.querySelector(`[data-participant="${CSS.escape(participantId)}"]`);
  if (!tile) return;
  const p = client.participants.get(participantId);
  const name = p ? p.displayName : '';
  const role = p ? (ROLE_TEXT[p.role] || p.role) : '';
  const muted = p && p.audioMuted ? ' · stumm/muted' : '';
  const audioOnly = client.suspended.has(participantId) ? ' · nur Ton (schwache Verbindung) · audio only (weak link)' : '';
  const reconnecting = p && p.state === 'reconnecting';
  tile.querySelector('figcaption').textContent = `${name} — ${role}${muted}${audioOnly}${reconnecting ? RECONNECTING_TEXT : ''}`;
  tile.classList.toggle('reconnecting', reconnecting);
  tile.classList.toggle('audio-only', client.suspended.has(participantId));
  tile.classList.toggle('camera-off', !!(p && p.videoMuted));
}

client.addEventListener('remote', (e) => renderRemote(e.detail));

// Link indicator: the bridge's view of our downlink (estimate, loss, RTT), every 2 s.
function linkVerdict(q) {
  return judgeLink(q.downlink); // the same thresholds as the pre-call check (link-verdict.js)
}
const LINK_TEXT = { good: 'Verbindung gut · Link good', fair: 'Verbindung mäßig · Link fair', bad: 'Verbindung schlecht · Link poor' };
client.addEventListener('quality', (e) => {
  const el = $('link');
  if (!el) return;
  const q = e.detail;
  const verdict = linkVerdict(q);
  el.dataset.verdict = verdict;
  el.textContent = LINK_TEXT[verdict];
  const est = q.downlink.estimateBps >= 0 ? `${Math.round(q.downlink.estimateBps / 1000)} kbit/s` : '–';
  el.title = `Schätzung/estimate ${est}, Verlust/loss ${(q.downlink.fractionLost * 100).toFixed(1)} %, RTT ${q.downlink.rttMs} ms`;
  for (const v of q.videos) {
    const tile = document.querySelector(`[data-participant="${CSS.escape(v.participantId)}"]`);
    if (tile) tile.dataset.layer = String(v.layer);
  }
});
client.addEventListener('suspended', (e) => {
  const tile = document.querySelector(`[data-participant="${CSS.escape(e.detail)}"]`);
  if (tile) tile.classList.toggle('audio-only', client.suspended.has(e.detail));
  renderCaption(e.detail);
});
client.addEventListener('participants', () => {
  for (const id of client.participants.keys()) renderCaption(id);
  const list = $('participants');
  if (list) {
    list.replaceChildren(...[...client.participants.values()].map((p) => {
      const li = document.createElement('li');
      li.textContent = `${p.displayName} (${ROLE_TEXT[p.role] || p.role})${p.audioMuted ? ' · Mikrofon aus/mic off' : ''}${p.videoMuted ? ' · Kamera aus/camera off' : ''}${p.state === 'reconnecting' ? RECONNECTING_TEXT : ''}`;
      li.dataset.member = p.participantId; // not data-participant: that names video tiles
      li.dataset.state = p.state || 'connected';
      li.append(...participantActions(client, p));
      return li;
    }));
  }
  const waiting = $('waiting');
  if (waiting) waiting.hidden = client.participants.size > 0;
});

let audioMuted = false;
let videoMuted = false;
function bindControls() {
  $('mute').addEventListener('click', async () => {
    audioMuted = !audioMuted;
    $('mute').setAttribute('aria-pressed', String(audioMuted));
    $('mute').querySelector('.label').textContent = audioMuted ? 'Mikrofon an · Unmute' : 'Mikrofon aus · Mute';
    await client.setMuted(audioMuted, videoMuted).catch(() => {});
  });
  $('camera').addEventListener('click', async () => {
    videoMuted = !videoMuted;
    $('camera').setAttribute('aria-pressed', String(videoMuted));
    $('camera').querySelector('.label').textContent = videoMuted ? 'Kamera an · Camera on' : 'Kamera aus · Camera off';
    $('self').classList.toggle('camera-off', videoMuted);
    await client.setMuted(audioMuted, videoMuted).catch(() => {});
  });
  $('leave').addEventListener('click', () => client.leave());
}

async function main() {
  showState();
  bindControls();
  // issue #8: the pre-call check with the same invitation (token, consultation and options in the URL)
  const check = $('check-link');
  if (check) check.href = `/check.html${location.search}${location.hash}`;
  if (!client.token) {
    $('problem').textContent = 'Diese Seite braucht einen Einladungslink. · This page needs an invitation link (#token=...).';
    return;
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
      // 720p so that the three simulcast layers are 180p / 360p / 720p
      video: { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } },
    });
  } catch (e) {
    $('problem').textContent = `Kamera/Mikrofon nicht verfügbar · Camera/microphone unavailable: ${e.message}`;
    return;
  }
  $('self').srcObject = stream;
  try {
    await client.start(stream);
    const me = client.self;
    $('whoami').textContent = `${me.displayName} — ${ROLE_TEXT[me.role] || me.role}`;
    clinicalUi.joined(me.role);
    await profiles.ready();
  } catch (e) {
    if (!ADMISSION_STATE_TEXT[client.state] || client.state === 'waiting') {
      $('problem').textContent = e.code ? `${e.code}: ${e.message}` : e.message;
    }
  }
}

main();
export { page };

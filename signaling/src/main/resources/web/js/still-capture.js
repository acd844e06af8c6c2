// Full-resolution still images (issue #8; docs/protocol.md "Still images").
//
// The doctor asks a room (or guest) for a still (stillRequest). The room's page takes it at the camera's full
// resolution (ImageCapture.takePhoto, else one frame of the camera track at its full settings resolution), wraps
// it in a small envelope (mime type, size, how it was taken), encrypts it end to end (E2ee.encryptBlob: AES-256-GCM
// under a key derived from the room's media key, which only the participants have), and sends the ciphertext in
// chunks through the signalling server, which relays them to the requesting doctor only and stores nothing.
//
// Pacing: the still shares the room's uplink with audio and video. The room starts at a quarter of the uplink
// estimate (the publish connection's availableOutgoingBitrate) and never goes above half of it; in between it
// follows the queueing delay it measures itself, as LEDBAT does (RFC 6817: a background transfer that yields):
// each chunk's round trip (chunk -> the doctor's stillAck) minus the smallest seen is the queue it builds; below
// 30 ms the rate grows 5 % per acknowledgement, above 60 ms it drops by a fifth (once per round trip). Chunks carry
// about a quarter second of the starting rate (1-16 KiB), with a window of chunks in flight sized from the round
// trip, so the bottleneck queue never holds a large burst in front of the audio packets.
// Resume: the doctor acknowledges every chunk; after a stall (a dropped socket on either side) it asks for the chunks
// from the first one it lacks (stillResume) and the room sends them again.
'use strict';

const enc = new TextEncoder();
const dec = new TextDecoder();
/** Share of the uplink estimate a still starts with and may grow to, and the bounds of its rate (bit/s). */
const START_SHARE = 0.25;
const MAX_SHARE = 0.5;
const MIN_RATE_BPS = 24000;
/**
 * Queueing delay (ms) the still may add: LEDBAT's target may be at most 100 ms (RFC 6817 §2.5.1); audio's jitter
 * buffer notices less when we stay well under it.
 */
const TARGET_QUEUE_MS = 60;
const MAX_RATE_BPS = 4000000;
const FALLBACK_UPLINK_BPS = 300000;
/** A chunk carries about this much of the still's rate (s): small bursts on a weak link, few messages on a good one. */
const CHUNK_SECONDS = 0.25;
const MIN_CHUNK_BYTES = 1026; // multiples of 3 (the chunks' base64 texts concatenate), 1-16 KiB
const MAX_CHUNK_BYTES = 16383;
const MAX_WINDOW = 8;
/** The doctor resumes a transfer when no chunk came for this long. */
const STALL_MS = 6000;
/** The room forgets a still the doctor never finished after this long without news. */
const OUTGOING_IDLE_MS = 120000;
const PHOTO_TIMEOUT_MS = 5000;
const JPEG_QUALITY = 0.95;
const MAX_STILL_BYTES = 8 * 1024 * 1024;
const IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/webp']);
const EXTENSION = { 'image/png': 'png', 'image/jpeg': 'jpg', 'image/webp': 'webp' };

const unb64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
const hex = (buf) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, '0')).join('');
const sha256hex = async (bytes) => hex(await crypto.subtle.digest('SHA-256', bytes));
const clamp = (v, lo, hi) => Math.max(lo, Math.min(hi, v));

function timeout(promise, ms, what) {
  return Promise.race([promise, new Promise((_, reject) => setTimeout(() => reject(new Error(`${what}: timeout`)), ms))]);
}

/** Envelope (encrypted as a whole): header length (4 bytes, big endian) | header JSON | image bytes. */
function envelope(header, image) {
  const h = enc.encode(JSON.stringify(header));
  const out = new Uint8Array(4 + h.length + image.length);
  new DataView(out.buffer).setUint32(0, h.length);
  out.set(h, 4);
  out.set(image, 4 + h.length);
  return out;
}

function openEnvelope(bytes) {
  const n = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0);
  if (n > 4096 || 4 + n > bytes.length) throw new Error('bad still envelope');
  return { header: JSON.parse(dec.decode(bytes.subarray(4, 4 + n))), image: bytes.subarray(4 + n) };
}

/** Takes a still from the camera track at its full resolution: {bytes, mime, width, height, method}. */
export async function captureStill(track) {
  const s = track.getSettings();
  const want = { width: s.width || 0, height: s.height || 0 };
  if (typeof ImageCapture !== 'undefined') {
    try {
      const blob = await timeout(new ImageCapture(track).takePhoto(), PHOTO_TIMEOUT_MS, 'takePhoto');
      const bmp = await createImageBitmap(blob);
      const size = { width: bmp.width, height: bmp.height };
      bmp.close();
      // a camera whose photo is smaller than its video (some drivers) is better served by a video frame
      if (size.width >= want.width && size.height >= want.height) {
        return { bytes: new Uint8Array(await blob.arrayBuffer()), mime: blob.type || 'image/png', ...size, method: 'takePhoto' };
      }
    } catch (e) { console.warn('still: takePhoto failed, taking a video frame', e); }
  }
  return grabFrame(track);
}

/** One frame of the track (VideoFrame through MediaStreamTrackProcessor, else a <video>) drawn on a canvas. */
async function grabFrame(track) {
  let canvas;
  if (typeof MediaStreamTrackProcessor !== 'undefined') {
    const copy = track.clone();
    try {
      const reader = new MediaStreamTrackProcessor({ track: copy }).readable.getReader();
      const { value: frame } = await timeout(reader.read(), PHOTO_TIMEOUT_MS, 'video frame');
      canvas = new OffscreenCanvas(frame.displayWidth, frame.displayHeight);
      canvas.getContext('2d').drawImage(frame, 0, 0);
      frame.close();
      reader.cancel().catch(() => {});
    } finally {
      copy.stop();
    }
  } else {
    const video = document.createElement('video');
    video.muted = true;
    video.srcObject = new MediaStream([track]);
    await video.play();
    await timeout(new Promise((r) => { if (video.videoWidth) r(); else video.onresize = r; }), PHOTO_TIMEOUT_MS, 'video');
    canvas = new OffscreenCanvas(video.videoWidth, video.videoHeight);
    canvas.getContext('2d').drawImage(video, 0, 0);
    video.srcObject = null;
  }
  const blob = await canvas.convertToBlob({ type: 'image/jpeg', quality: JPEG_QUALITY });
  return { bytes: new Uint8Array(await blob.arrayBuffer()), mime: 'image/jpeg', width: canvas.width, height: canvas.height, method: 'frame' };
}

export class StillCapture extends EventTarget {
  constructor(client, e2ee) {
    super();
    this.client = client;
    this.e2ee = e2ee;
    this.outgoing = new Map();  // room: stillId -> what we send
    this.incoming = new Map();  // doctor: stillId -> what we receive
    this.sent = new Map();      // room, for tests and support: stillId -> {sha256, width, height, bytes, chunks, resent, ...}
    this.received = new Map();  // doctor: stillId -> {sha256, width, height, url, ...}
    this.events = [];
    client.messageHooks.push((msg) => this.onMessage(msg));
    // after the socket came back (a reconnect), ask for what is missing at once rather than after a stall
    client.addEventListener('resumed', () => this.resumeAll()); // the socket took its place back (Reconnects)
    this.stallTimer = setInterval(() => this.checkStalls(), 1000);
  }

  log(text) {
    console.info(`still: ${text}`);
    this.events.push(`${Math.round(performance.now())} ${text}`);
    if (this.events.length > 200) this.events.shift();
  }

  emit(type, detail) { this.dispatchEvent(new CustomEvent(type, { detail })); }

  onMessage(msg) {
    switch (msg.type) {
      case 'stillRequest': this.onRequest(msg).catch((e) => this.abort(msg.stillId, e.code || 'still-capture-failed', e.message)); break;
      case 'stillAck': this.onAck(msg); break;
      case 'stillResume': this.onResume(msg); break;
      case 'stillOffer': this.onOffer(msg); break;
      case 'stillChunk': this.onChunk(msg); break;
      case 'stillDone': this.finishOutgoing(msg.stillId, 'done'); break;
      case 'stillError':
        if (this.outgoing.has(msg.stillId)) this.finishOutgoing(msg.stillId, 'failed', msg.code);
        if (this.incoming.has(msg.stillId)) this.failIncoming(msg.stillId, msg.code, msg.message);
        break;
      default: break;
    }
  }

  // ---------------------------------------------------------------- doctor

  /** Asks {@code participantId} (a room or guest) for a still; resolves with the stillId. */
  async request(participantId) {
    const ack = await this.client.request({ type: 'stillRequest', participantId });
    const inc = { id: ack.stillId, from: participantId, offer: null, parts: [], received: 0, since: performance.now(), lastAt: performance.now(), resumes: 0 };
    this.incoming.set(ack.stillId, inc);
    this.log(`requested ${ack.stillId} from ${participantId}`);
    this.emit('progress', this.progressOf(inc));
    return ack.stillId;
  }

  onOffer(msg) {
    const inc = this.incoming.get(msg.stillId);
    if (!inc || msg.from !== inc.from) return;
    inc.offer = msg;
    inc.lastAt = performance.now();
    this.emit('progress', this.progressOf(inc));
  }

  onChunk(msg) {
    const inc = this.incoming.get(msg.stillId);
    if (!inc || !inc.offer) return;
    inc.lastAt = performance.now();
    // the relay keeps the order: another seq is a copy relayed before our stillResume reached the server (an
    // older one, or one past the point we rewound to); the stall timer covers anything that really went missing
    if (msg.seq !== inc.received) return;
    inc.parts.push(msg.data);
    inc.received++;
    this.client.request({ type: 'stillAck', stillId: inc.id, seq: msg.seq }).catch((e) => this.log(`ack ${msg.seq}: ${e.code}`));
    this.emit('progress', this.progressOf(inc));
    if (inc.received === inc.offer.chunks) this.complete(inc).catch((e) => this.failIncoming(inc.id, e.code || 'still-undecryptable', e.message, true));
  }

  /** Forgets the chunks from {@code fromSeq} on and asks the room to send them again (after a dropped link). */
  rewind(stillId, fromSeq) {
    const inc = this.incoming.get(stillId);
    if (!inc || !inc.offer) return Promise.resolve();
    const from = Math.min(fromSeq, inc.received);
    inc.parts.length = from;
    inc.received = from;
    inc.resumes++;
    inc.lastAt = performance.now();
    this.log(`resume ${stillId} from ${from}`);
    return this.client.request({ type: 'stillResume', stillId, fromSeq: from })
      .catch((e) => this.log(`resume ${stillId}: ${e.code}`));
  }

  resumeAll() {
    for (const inc of this.incoming.values()) if (inc.offer) this.rewind(inc.id, inc.received);
  }

  checkStalls() {
    const now = performance.now();
    for (const inc of this.incoming.values()) {
      if (inc.offer && now - inc.lastAt > STALL_MS) this.rewind(inc.id, inc.received);
    }
    for (const out of this.outgoing.values()) {
      if (now - out.lastAt > OUTGOING_IDLE_MS) this.finishOutgoing(out.id, 'failed', 'still-timeout');
    }
  }

  async complete(inc) {
    const o = inc.offer;
    const text = inc.parts.join('');
    const cipher = unb64(text);
    if (cipher.length !== o.size || await sha256hex(cipher) !== o.sha256) {
      throw Object.assign(new Error('the ciphertext does not match its offer'), { code: 'still-corrupt' });
    }
    const plain = await this.e2ee.decryptBlob(inc.from, { keyId: o.keyId, iv: o.iv, ciphertext: text }, inc.id);
    const { header, image } = openEnvelope(plain);
    const sha256 = await sha256hex(image);
    if (header.sha256 && header.sha256 !== sha256) throw Object.assign(new Error('the image does not match its hash'), { code: 'still-corrupt' });
    // the type comes from the room's page: only image types reach the <img> and the saved file's name
    const mime = IMAGE_TYPES.has(header.mime) ? header.mime : 'application/octet-stream';
    const blob = new Blob([image], { type: mime });
    const bmp = await createImageBitmap(blob); // what the doctor sees: the decoded size
    const result = {
      id: inc.id, from: inc.from, sha256, mime, bytes: image.length, width: bmp.width, height: bmp.height,
      method: header.method, capturedAt: header.capturedAt, ms: Math.round(performance.now() - inc.since),
      resumes: inc.resumes, url: URL.createObjectURL(blob), status: 'done',
    };
    bmp.close();
    this.incoming.delete(inc.id);
    this.received.set(inc.id, result);
    this.log(`received ${inc.id}: ${result.width}x${result.height}, ${result.bytes} bytes in ${result.ms} ms`);
    await this.client.request({ type: 'stillDone', stillId: inc.id }).catch(() => {});
    this.emit('still', result);
  }

  failIncoming(stillId, code, message, tellRoom = false) {
    const inc = this.incoming.get(stillId);
    if (!inc) return;
    this.incoming.delete(stillId);
    this.received.set(stillId, { id: stillId, from: inc.from, status: 'failed', code, message });
    this.log(`failed ${stillId}: ${code} ${message || ''}`);
    if (tellRoom) this.client.request({ type: 'stillError', stillId, code, message: String(message || '').slice(0, 200) }).catch(() => {});
    this.emit('failed', { id: stillId, code, message });
  }

  progressOf(inc) {
    const o = inc.offer;
    return { id: inc.id, from: inc.from, phase: o ? 'receiving' : 'capturing', received: inc.received, chunks: o ? o.chunks : 0, size: o ? o.size : 0 };
  }

  // ---------------------------------------------------------------- room

  async onRequest(msg) {
    const id = msg.stillId;
    this.emit('capturing', { id, from: msg.from });
    if (!this.e2ee || !this.e2ee.active) throw Object.assign(new Error('still images need end-to-end encryption'), { code: 'still-unencrypted' });
    const track = this.client.localStream && this.client.localStream.getVideoTracks()[0];
    if (!track || track.readyState !== 'live' || !track.enabled) throw Object.assign(new Error('the camera is off'), { code: 'still-camera-off' });
    const shot = await captureStill(track);
    const sha256 = await sha256hex(shot.bytes); // of the plaintext image, before encryption
    const header = { v: 1, mime: shot.mime, width: shot.width, height: shot.height, method: shot.method, sha256, capturedAt: new Date().toISOString() };
    const blob = await this.e2ee.encryptBlob(envelope(header, shot.bytes), id);
    const cipher = unb64(blob.ciphertext);
    if (cipher.length > MAX_STILL_BYTES) throw Object.assign(new Error('the still is too large'), { code: 'still-too-large' });
    const cap = await this.stillCapBps();
    const rate = Math.max(MIN_RATE_BPS, cap * START_SHARE / MAX_SHARE);
    const chunkBytes = clamp(Math.floor(rate / 8 * CHUNK_SECONDS / 3) * 3, MIN_CHUNK_BYTES, MAX_CHUNK_BYTES);
    const chunks = Math.ceil(cipher.length / chunkBytes);
    const out = {
      id, to: msg.from, text: blob.ciphertext, chunkChars: chunkBytes / 3 * 4, chunks, next: 0, acked: -1,
      sentAt: new Map(), rttMs: null, minRttMs: Infinity, rateBps: rate, capBps: cap, lastDecrease: 0, window: 2,
      nextSendAt: 0, lastAt: performance.now(), timer: null, resent: 0, sentChunks: 0, rateTimer: null,
    };
    this.sent.set(id, { id, sha256, mime: shot.mime, width: shot.width, height: shot.height, method: shot.method, bytes: shot.bytes.length, size: cipher.length, chunkBytes, chunks, status: 'sending', resent: 0, rates: [rate] });
    this.outgoing.set(id, out);
    await this.client.request({ type: 'stillOffer', stillId: id, size: cipher.length, chunkBytes, chunks, sha256: await sha256hex(cipher), keyId: blob.keyId, iv: blob.iv });
    this.log(`offered ${id}: ${shot.width}x${shot.height} ${shot.mime} (${shot.method}), ${cipher.length} bytes in ${chunks} chunks of ${chunkBytes} at ${Math.round(rate / 1000)} kbit/s`);
    out.rateTimer = setInterval(() => this.stillCapBps().then((c) => {
      out.capBps = c;
      out.rateBps = Math.min(out.rateBps, c);
      this.sent.get(id).rates.push(Math.round(out.rateBps));
    }), 1000);
    this.pump(out);
  }

  /** The most a still may use of our uplink now: a share of the publish connection's estimate. */
  async stillCapBps() {
    let avail = null;
    const pc = this.client.publishPc;
    if (pc) {
      (await pc.getStats()).forEach((r) => {
        if (r.type === 'candidate-pair' && r.nominated && r.state === 'succeeded' && r.availableOutgoingBitrate > 0) avail = r.availableOutgoingBitrate;
      });
    }
    return clamp((avail || FALLBACK_UPLINK_BPS) * MAX_SHARE, MIN_RATE_BPS, MAX_RATE_BPS);
  }

  /** Sends chunks while the window allows, one every chunk-time at the still's rate. */
  pump(out) {
    clearTimeout(out.timer);
    out.timer = null;
    if (this.outgoing.get(out.id) !== out) return;
    while (out.next < out.chunks && out.next - (out.acked + 1) < out.window) {
      const now = performance.now();
      if (now < out.nextSendAt) { out.timer = setTimeout(() => this.pump(out), out.nextSendAt - now); return; }
      const seq = out.next++;
      const data = out.text.substr(seq * out.chunkChars, out.chunkChars);
      out.sentAt.set(seq, now);
      out.sentChunks++;
      out.nextSendAt = now + (data.length + 80) * 8 / out.rateBps * 1000;
      this.client.request({ type: 'stillChunk', stillId: out.id, seq, data }).catch((e) => this.onChunkRefused(out, seq, e));
      this.emit('progress', { id: out.id, to: out.to, phase: 'sending', sent: out.next, acked: out.acked + 1, chunks: out.chunks });
    }
  }

  onChunkRefused(out, seq, e) {
    // chunks that were on their way when the doctor asked to resume come back out of order: harmless
    if (e.code === 'still-out-of-order' || e.code === 'still-window') { this.log(`chunk ${seq}: ${e.code}`); return; }
    if (e.code === 'still-unknown') { this.finishOutgoing(out.id, 'failed', e.code); return; }
    this.log(`chunk ${seq} refused: ${e.code || e.message}`);
  }

  onAck(msg) {
    const out = this.outgoing.get(msg.stillId);
    if (!out) return;
    out.lastAt = performance.now();
    const sent = out.sentAt.get(msg.seq);
    if (sent !== undefined) {
      const rtt = out.lastAt - sent;
      out.rttMs = out.rttMs === null ? rtt : 0.8 * out.rttMs + 0.2 * rtt;
      out.minRttMs = Math.min(out.minRttMs, rtt);
      const queueing = rtt - out.minRttMs;
      if (queueing > TARGET_QUEUE_MS) {
        if (out.lastAt - out.lastDecrease > out.rttMs) { out.rateBps = Math.max(MIN_RATE_BPS, out.rateBps * 0.8); out.lastDecrease = out.lastAt; }
      } else if (queueing < TARGET_QUEUE_MS / 2) {
        out.rateBps = Math.min(out.capBps, out.rateBps * 1.05);
      }
      // enough in flight to keep the rate going over one round trip, never a large burst
      const perChunkMs = (out.chunkChars + 80) * 8 / out.rateBps * 1000;
      out.window = clamp(Math.ceil(out.rttMs / perChunkMs) + 1, 2, MAX_WINDOW);
    }
    for (const s of out.sentAt.keys()) if (s <= msg.seq) out.sentAt.delete(s);
    out.acked = Math.max(out.acked, msg.seq);
    this.emit('progress', { id: out.id, to: out.to, phase: 'sending', sent: out.next, acked: out.acked + 1, chunks: out.chunks });
    this.pump(out);
  }

  onResume(msg) {
    const out = this.outgoing.get(msg.stillId);
    if (!out) { // e.g. this page was reloaded: the doctor should not wait for it
      this.client.request({ type: 'stillError', stillId: msg.stillId, code: 'still-lost', message: 'the room no longer has this still' }).catch(() => {});
      return;
    }
    if (msg.fromSeq < 0 || msg.fromSeq > out.chunks) return;
    out.lastAt = performance.now();
    out.resent += Math.max(0, out.next - msg.fromSeq);
    this.sent.get(out.id).resent = out.resent;
    this.log(`resume ${out.id} from ${msg.fromSeq} (had sent ${out.next})`);
    out.next = msg.fromSeq;
    out.acked = Math.min(out.acked, msg.fromSeq - 1);
    out.sentAt.clear();
    this.pump(out);
  }

  finishOutgoing(stillId, status, code) {
    const out = this.outgoing.get(stillId);
    if (!out) return;
    clearTimeout(out.timer);
    clearInterval(out.rateTimer);
    this.outgoing.delete(stillId);
    const s = this.sent.get(stillId);
    if (s) { s.status = status; s.code = code; s.rttMs = out.rttMs && Math.round(out.rttMs); }
    this.log(`${stillId} ${status}${code ? ` (${code})` : ''}`);
    this.emit(status === 'done' ? 'sent' : 'failed', { id: stillId, code });
  }

  abort(stillId, code, message) {
    const c = /^[a-z0-9-]{1,40}$/.test(code) ? code : 'still-capture-failed';
    this.log(`cannot send ${stillId}: ${c} ${message}`);
    if (this.outgoing.has(stillId)) this.finishOutgoing(stillId, 'failed', c);
    else this.emit('failed', { id: stillId, code: c, message });
    this.client.request({ type: 'stillError', stillId, code: c, message: String(message).slice(0, 200) }).catch(() => {});
  }
}

// ---------------------------------------------------------------- the pages

const STILL_TEXT = {
  capturing: 'Standbild wird aufgenommen … · Taking a still image …',
  receiving: 'Standbild wird übertragen · Still image on its way',
  sending: 'Standbild wird gesendet · Sending a still image',
  done: 'Standbild gesendet · Still image sent',
  failed: 'Standbild fehlgeschlagen · Still image failed',
};

/**
 * The still image UI: on the doctor's page a "Still image" button (it asks the room, else a guest), progress, a
 * gallery with Save, and a viewer that zooms on click and pans by dragging; on the room's (and guest's) page a
 * notice with progress whenever the doctor takes a still.
 */
export function mountStills(client, e2ee, page) {
  const stills = new StillCapture(client, e2ee);
  window.consultbridgeStills = stills; // tests and support: sent, received, events
  const status = document.createElement('p');
  status.id = 'still-status';
  status.className = 'still-status';
  status.setAttribute('role', 'status');
  status.setAttribute('aria-live', 'polite');
  status.hidden = true;
  document.querySelector('main').after(status);
  const show = (text) => { status.hidden = false; status.textContent = text; };
  const percent = (n, of) => (of ? `${Math.floor(100 * n / of)} %` : '');

  if (page !== 'doctor') {
    stills.addEventListener('capturing', () => show(STILL_TEXT.capturing));
    stills.addEventListener('progress', (e) => show(`${STILL_TEXT.sending} ${percent(e.detail.acked, e.detail.chunks)}`));
    stills.addEventListener('sent', () => show(STILL_TEXT.done));
    stills.addEventListener('failed', (e) => show(`${STILL_TEXT.failed} (${e.detail.code})`));
    return stills;
  }

  const button = document.createElement('button');
  button.id = 'still-capture';
  button.type = 'button';
  button.innerHTML = '<svg class="icon" viewBox="0 0 24 24" aria-hidden="true"><path fill="currentColor" d="M9 3 7.2 5H4a2 2 0 0 0-2 2v12a2 2 0 0 0 2 2h16a2 2 0 0 0 2-2V7a2 2 0 0 0-2-2h-3.2L15 3H9zm3 15a5 5 0 1 1 0-10 5 5 0 0 1 0 10z"/></svg><span class="label">Standbild · Still image</span>';
  button.disabled = true;
  document.querySelector('footer.controls').prepend(button);
  const source = () => {
    const all = [...client.participants.values()];
    return (all.find((p) => p.role === 'room') || all.find((p) => p.role === 'guest') || {}).participantId;
  };
  client.addEventListener('participants', () => { button.disabled = !source(); });
  button.addEventListener('click', () => {
    const pid = source();
    if (!pid) return;
    show(STILL_TEXT.capturing);
    stills.request(pid).catch((e) => show(`${STILL_TEXT.failed}: ${e.code || ''} ${e.message}`));
  });

  const gallery = document.createElement('section');
  gallery.id = 'stills';
  gallery.className = 'stills';
  gallery.setAttribute('aria-label', 'Standbilder · Still images');
  status.after(gallery);
  stills.addEventListener('progress', (e) => {
    const d = e.detail;
    show(d.phase === 'capturing' ? STILL_TEXT.capturing
      : `${STILL_TEXT.receiving} ${percent(d.received, d.chunks)} (${Math.round(d.received / Math.max(1, d.chunks) * d.size / 1024)} / ${Math.round(d.size / 1024)} KiB)`);
  });
  stills.addEventListener('failed', (e) => show(`${STILL_TEXT.failed} (${e.detail.code})`));
  stills.addEventListener('still', (e) => {
    const r = e.detail;
    show(`Standbild ${r.width}×${r.height} empfangen · Still image ${r.width}×${r.height} received`);
    const fig = document.createElement('figure');
    fig.className = 'still';
    fig.dataset.still = r.id;
    const img = document.createElement('img');
    img.src = r.url;
    img.alt = `Standbild · Still image ${r.width}×${r.height}`;
    img.addEventListener('click', () => openViewer(r));
    const save = document.createElement('a');
    save.className = 'save';
    save.href = r.url;
    save.download = `standbild-${(r.capturedAt || new Date().toISOString()).replace(/[:.]/g, '-')}.${EXTENSION[r.mime] || 'bin'}`;
    save.textContent = 'Speichern · Save';
    const cap = document.createElement('figcaption');
    cap.textContent = `${new Date().toLocaleTimeString()} · ${r.width}×${r.height} · ${Math.round(r.bytes / 1024)} KiB `;
    cap.append(save);
    fig.append(img, cap);
    gallery.prepend(fig);
  });
  return stills;
}

/** Full-screen viewer: fitted first; a click zooms to the image's own pixels at that point (again: back); drag pans. */
function openViewer(r) {
  const overlay = document.createElement('div');
  overlay.className = 'still-viewer';
  overlay.setAttribute('role', 'dialog');
  overlay.setAttribute('aria-label', 'Standbild · Still image');
  const pane = document.createElement('div');
  pane.className = 'pane';
  const img = document.createElement('img');
  img.src = r.url;
  img.className = 'fit';
  img.draggable = false;
  const close = document.createElement('button');
  close.type = 'button';
  close.className = 'close';
  close.textContent = 'Schließen · Close';
  const save = document.createElement('a');
  save.className = 'save';
  save.href = r.url;
  save.download = `standbild.${EXTENSION[r.mime] || 'bin'}`;
  save.textContent = 'Speichern · Save';
  pane.append(img);
  overlay.append(pane, close, save);
  document.body.append(overlay);
  const done = () => { overlay.remove(); document.removeEventListener('keydown', onKey); };
  const onKey = (e) => { if (e.key === 'Escape') done(); };
  document.addEventListener('keydown', onKey);
  close.addEventListener('click', done);
  let drag = null;
  let moved = false;
  pane.addEventListener('pointerdown', (e) => { drag = { x: e.clientX, y: e.clientY, l: pane.scrollLeft, t: pane.scrollTop }; moved = false; try { pane.setPointerCapture(e.pointerId); } catch (err) { /* not a live pointer */ } });
  pane.addEventListener('pointermove', (e) => {
    if (!drag) return;
    if (Math.abs(e.clientX - drag.x) + Math.abs(e.clientY - drag.y) > 4) moved = true;
    pane.scrollLeft = drag.l - (e.clientX - drag.x);
    pane.scrollTop = drag.t - (e.clientY - drag.y);
  });
  pane.addEventListener('pointerup', (e) => {
    drag = null;
    if (moved) return;
    const rect = img.getBoundingClientRect();
    const fx = (e.clientX - rect.left) / rect.width;
    const fy = (e.clientY - rect.top) / rect.height;
    img.classList.toggle('fit');
    if (!img.classList.contains('fit')) { // keep the clicked point under the pointer
      pane.scrollLeft = fx * img.naturalWidth - (e.clientX - pane.getBoundingClientRect().left);
      pane.scrollTop = fy * img.naturalHeight - (e.clientY - pane.getBoundingClientRect().top);
    }
  });
}

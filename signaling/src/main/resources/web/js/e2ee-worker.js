// ConsultBridge end-to-end media encryption: the frame transform (issue #8; docs/protocol.md "End-to-end encryption").
// A dedicated worker of the call page. Chromium hands it every encoded audio and video frame, through
// RTCRtpScriptTransform (or, in older browsers, streams from createEncodedStreams posted by the page); it encrypts
// what we send with this participant's media key and decrypts what we receive with the sender's key. The keys come
// from the page (e2ee.js), which agrees them with the other participants; the server and the bridge never see them.
//
// Frame layout (our own, in the spirit of Jitsi's and of SFrame, draft-ietf-sframe-enc, with the trailer at the end):
//
//   | clear header (n bytes) | AES-GCM ciphertext of the rest, 16-byte tag | IV (12) | n (1) | key id (1) | 0xCB |
//
// The clear header is what the bridge and the receiver's depacketizer read before decryption: for VP8 the frame tag,
// start code and size (RFC 6386 §9.1: 10 bytes of a keyframe, 3 of a delta frame; the bridge reads the keyframe bit),
// for Opus the TOC byte (RFC 6716 §3.1). It is authenticated as additional data. The RTP header and the VP8 payload
// descriptor (RFC 7741 §4.2), which the bridge rewrites, are added by the packetizer after this transform.
// IV = SSRC (4 bytes) || frame counter (8 bytes): the counter counts every frame this worker encrypts with a key and
// starts at 0 for each new key, so an IV is never used twice with one key (NIST SP 800-38D §8.2.1, deterministic
// construction); the SSRC only tells streams apart for tracing.
'use strict';

const MAGIC = 0xcb;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const TRAILER_BYTES = IV_BYTES + 3;
const KEY_HISTORY = 8;          // keys kept per sender (frames of an old key can still be in flight)
const RATCHET_STEPS = 8;        // how far a receiver follows a sender's ratchet on its own
const TRACE_EVERY = 16;         // tracing (tests): one frame in this many, by counter
const TRACE_KEEP = 64;
const enc = new TextEncoder();

const stats = {
  encrypted: 0, decrypted: 0, decryptFailed: 0, noKey: 0, notEncrypted: 0, sendNoKey: 0, sendFailed: 0,
  perSender: {},                // participantId -> {decrypted, decryptFailed, noKey}
};
let sendKey = null;             // {keyId, cryptoKey, counter}
const usedSendKeys = new Set(); // every send key installed (hex): one is never installed twice (its counter would restart)
const recvKeys = new Map();     // participantId -> Map(keyId -> {cryptoKey, raw, derived})
let testKeyMode = null;         // tests only: 'wrong' (install random keys) or 'none' (install none)
let tracing = false;
const trace = { sent: [], received: [] };
const receivers = new Set();    // RTCRtpScriptTransformer of received video (to ask for keyframes)

function senderStats(pid) {
  let s = stats.perSender[pid];
  if (!s) { s = { decrypted: 0, decryptFailed: 0, noKey: 0 }; stats.perSender[pid] = s; }
  return s;
}

/** The AES-GCM key frames are encrypted with: HKDF (RFC 5869) from the media key, so it differs from blob keys. */
async function frameKey(raw) {
  const material = await crypto.subtle.importKey('raw', raw, 'HKDF', false, ['deriveKey']);
  return crypto.subtle.deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: enc.encode('ConsultBridge E2EE v1 frame') },
    material, { name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
}

/** The next media key of a sender's ratchet (the same function as e2ee.js: HKDF of the current one). */
async function ratchet(raw) {
  const material = await crypto.subtle.importKey('raw', raw, 'HKDF', false, ['deriveBits']);
  return new Uint8Array(await crypto.subtle.deriveBits(
    { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: enc.encode('ConsultBridge E2EE v1 ratchet') },
    material, 256));
}

/** Bytes left in the clear: see the header comment. */
function clearBytes(frame, kind, length) {
  let n = 1;
  if (kind === 'video') {
    const mime = frame.getMetadata().mimeType || 'video/vp8';
    n = mime.toLowerCase() === 'video/vp8' ? (frame.type === 'key' ? 10 : 3) : 1;
  }
  return Math.min(n, length);
}

async function sha256Hex(bytes) {
  const h = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(h.slice(0, 16), (b) => b.toString(16).padStart(2, '0')).join('');
}

function remember(list, entry) {
  list.push(entry);
  if (list.length > TRACE_KEEP) list.shift();
}

async function encryptFrame(frame, controller, options) {
  const data = new Uint8Array(frame.data);
  if (data.length === 0) { controller.enqueue(frame); return; }
  const key = sendKey;
  if (!key) { stats.sendNoKey++; return; } // never send a frame in the clear
  const clear = clearBytes(frame, options.kind, data.length);
  const ssrc = frame.getMetadata().synchronizationSource >>> 0;
  const counter = key.counter++;
  const iv = new Uint8Array(IV_BYTES);
  const view = new DataView(iv.buffer);
  view.setUint32(0, ssrc);
  view.setUint32(4, Math.floor(counter / 0x100000000));
  view.setUint32(8, counter >>> 0);
  let cipher;
  try {
    cipher = new Uint8Array(await crypto.subtle.encrypt(
      { name: 'AES-GCM', iv, additionalData: data.subarray(0, clear), tagLength: TAG_BYTES * 8 },
      key.cryptoKey, data.subarray(clear)));
  } catch (e) {
    stats.sendFailed++;
    return;
  }
  const out = new Uint8Array(clear + cipher.length + TRAILER_BYTES);
  out.set(data.subarray(0, clear), 0);
  out.set(cipher, clear);
  out.set(iv, clear + cipher.length);
  out[out.length - 3] = clear;
  out[out.length - 2] = key.keyId;
  out[out.length - 1] = MAGIC;
  if (tracing && counter % TRACE_EVERY === 0) {
    const plain = data.slice();
    const sent = out.slice();
    Promise.all([sha256Hex(plain), sha256Hex(sent)]).then(([p, c]) => remember(trace.sent, {
      kind: options.kind, keyId: key.keyId, counter, ssrc, plain: p, cipher: c, frameType: frame.type || 'audio',
    }));
  }
  frame.data = out.buffer;
  stats.encrypted++;
  controller.enqueue(frame);
}

/** The key {@code keyId} of {@code pid}: known, or reached by following the sender's ratchet a few steps. */
async function recvKey(pid, keyId) {
  const keys = recvKeys.get(pid);
  if (!keys) return null;
  if (keys.has(keyId)) return keys.get(keyId);
  for (let back = 1; back <= RATCHET_STEPS; back++) {
    const base = keys.get((keyId - back + 256) % 256);
    if (!base || base.fake) continue;
    let raw = base.raw;
    for (let i = 0; i < back; i++) raw = await ratchet(raw);
    const entry = { cryptoKey: await frameKey(raw), raw, derived: true };
    if (!keys.has(keyId)) storeKey(keys, keyId, entry);
    return keys.get(keyId);
  }
  return null;
}

function storeKey(keys, keyId, entry) {
  keys.delete(keyId);
  keys.set(keyId, entry);
  while (keys.size > KEY_HISTORY) keys.delete(keys.keys().next().value);
}

async function decryptFrame(frame, controller, options) {
  const data = new Uint8Array(frame.data);
  if (data.length === 0) { controller.enqueue(frame); return; }
  const per = senderStats(options.participantId);
  const clear = data.length >= TRAILER_BYTES ? data[data.length - 3] : 0;
  if (data.length < clear + TAG_BYTES + TRAILER_BYTES || data[data.length - 1] !== MAGIC) {
    stats.notEncrypted++; // plain media where we expect ciphertext: never played
    return;
  }
  const keyId = data[data.length - 2];
  const ivStart = data.length - TRAILER_BYTES;
  const iv = data.subarray(ivStart, ivStart + IV_BYTES);
  const view = new DataView(iv.buffer, iv.byteOffset, IV_BYTES);
  const counter = view.getUint32(4) * 0x100000000 + view.getUint32(8);
  const ssrc = view.getUint32(0);
  const traced = tracing && counter % TRACE_EVERY === 0;
  const received = traced ? data.slice() : null;
  const key = await recvKey(options.participantId, keyId);
  if (!key) { stats.noKey++; per.noKey++; return; }
  let plain;
  try {
    plain = new Uint8Array(await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv, additionalData: data.subarray(0, clear), tagLength: TAG_BYTES * 8 },
      key.cryptoKey, data.subarray(clear, ivStart)));
  } catch (e) {
    stats.decryptFailed++; per.decryptFailed++;
    if (traced) {
      sha256Hex(received).then((c) => remember(trace.received, {
        from: options.participantId, kind: options.kind, keyId, counter, ssrc, cipher: c, plain: null,
      }));
    }
    return;
  }
  const out = new Uint8Array(clear + plain.length);
  out.set(data.subarray(0, clear), 0);
  out.set(plain, clear);
  if (traced) {
    const decrypted = out.slice();
    Promise.all([sha256Hex(received), sha256Hex(decrypted)]).then(([c, p]) => remember(trace.received, {
      from: options.participantId, kind: options.kind, keyId, counter, ssrc, cipher: c, plain: p,
    }));
  }
  frame.data = out.buffer;
  stats.decrypted++; per.decrypted++;
  controller.enqueue(frame);
}

function pipe(readable, writable, options, transformer) {
  const fn = options.side === 'send' ? encryptFrame : decryptFrame;
  if (transformer && options.side === 'recv' && options.kind === 'video') {
    receivers.add(transformer);
    transformer.participantId = options.participantId;
  }
  readable
    .pipeThrough(new TransformStream({ transform: (frame, controller) => fn(frame, controller, options) }))
    .pipeTo(writable)
    .catch(() => { if (transformer) receivers.delete(transformer); });
}

/** A new key for a sender: its video receivers ask for a keyframe, so the picture starts without waiting. */
function requestKeyframes(pid) {
  for (const t of receivers) {
    if (t.participantId === pid && typeof t.sendKeyFrameRequest === 'function') {
      t.sendKeyFrameRequest().catch(() => {});
    }
  }
}

// RTCRtpScriptTransform (https://w3c.github.io/webrtc-encoded-transform/)
self.onrtctransform = (event) => {
  const t = event.transformer;
  pipe(t.readable, t.writable, t.options, t);
};

self.onmessage = async (event) => {
  const m = event.data;
  switch (m.type) {
    case 'config':
      tracing = !!m.trace;
      testKeyMode = m.testKeyMode || null;
      break;
    case 'stream': // createEncodedStreams fallback: the page hands us the streams
      pipe(m.readable, m.writable, m.options, null);
      break;
    case 'setSendKey': {
      const id = Array.from(new Uint8Array(m.raw), (b) => b.toString(16).padStart(2, '0')).join('');
      if (usedSendKeys.has(id)) break;
      usedSendKeys.add(id);
      sendKey = { keyId: m.keyId, cryptoKey: await frameKey(m.raw), counter: 0 };
      break;
    }
    case 'setRecvKey': {
      if (testKeyMode === 'none') break;
      const raw = testKeyMode === 'wrong' ? crypto.getRandomValues(new Uint8Array(32)) : new Uint8Array(m.raw);
      let keys = recvKeys.get(m.participantId);
      if (!keys) { keys = new Map(); recvKeys.set(m.participantId, keys); }
      storeKey(keys, m.keyId, { cryptoKey: await frameKey(raw), raw, derived: false, fake: testKeyMode === 'wrong' });
      requestKeyframes(m.participantId);
      break;
    }
    case 'forget':
      recvKeys.delete(m.participantId);
      break;
    case 'stats':
      self.postMessage({ type: 'stats', stats, trace: tracing ? trace : null });
      break;
    default:
      break;
  }
};

// ConsultBridge end-to-end media encryption, the page's side (issue #8; docs/protocol.md "End-to-end encryption").
//
// Keys (all WebCrypto; nothing here leaves the browser unencrypted):
// - identity: an ECDH P-256 key pair made for this call; the private key is not extractable. The public key is
//   announced over signalling (e2eeKey); the server hands it to the others.
// - pairwise keys: for every other participant, HKDF-SHA-256 (RFC 5869) of the ECDH shared secret, salted with
//   both public keys: an AES-256-GCM key only the two of us can compute.
// - media key: 32 random bytes per sender, the source of the key that encrypts our frames (in e2ee-worker.js) and
//   of the keys of encrypted blobs (encryptBlob, for still capture). It goes to each other participant encrypted
//   under our pairwise key (e2eeMediaKey). When someone joins we ratchet it (HKDF; the newcomer gets only the new
//   one, so it cannot read what was sent before it came; the others follow the ratchet themselves); when someone
//   leaves we make a fresh random one and give it to those who stay (the leaver cannot read what follows).
// - verification code: SHA-256 over the sorted public keys of everyone in the call, shown as five groups of four
//   digits, with the number of keys. Equal codes on every screen mean every participant encrypts for the same keys:
//   no server swapped one in; the number of keys must match the people on the screen.
'use strict';

const enc = new TextEncoder();
const ECDH = { name: 'ECDH', namedCurve: 'P-256' };
const STATS_INTERVAL_MS = 1000;
/** A fresh key is used this long after it was sent, so the others have it before our frames need it. */
const FRESH_KEY_DELAY_MS = 1000;

/** base64 in slices: spreading a large blob (a still image) into one call would overflow the stack. */
const b64 = (bytes) => {
  const u = new Uint8Array(bytes);
  let text = '';
  for (let i = 0; i < u.length; i += 0x8000) text += String.fromCharCode(...u.subarray(i, i + 0x8000));
  return btoa(text);
};
const unb64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

async function hkdfBits(raw, info, salt = new Uint8Array(0)) {
  const material = await crypto.subtle.importKey('raw', raw, 'HKDF', false, ['deriveBits']);
  return new Uint8Array(await crypto.subtle.deriveBits(
    { name: 'HKDF', hash: 'SHA-256', salt, info: enc.encode(info) }, material, 256));
}

/** The next media key of a ratchet: the same function as in e2ee-worker.js. */
const ratchet = (raw) => hkdfBits(raw, 'ConsultBridge E2EE v1 ratchet');

/** Options from the page URL (after the token): e2ee=0 (diagnosis, if the server allows), test hooks. */
export function e2eeOptionsFromLocation() {
  const h = location.hash;
  const off = /(?:^|[#&])e2ee=0(?:&|$)/.test(h);
  const trace = /(?:^|[#&])e2eeTrace=1(?:&|$)/.test(h);
  const test = /(?:^|[#&])e2eeTestKey=(wrong|none)(?:&|$)/.exec(h);
  return { disable: off, trace, testKeyMode: test ? test[1] : null };
}

export class E2ee extends EventTarget {
  /**
   * @param client the ConsultClient (for sending and its participant list)
   * @param options {disable, trace, testKeyMode} (see e2eeOptionsFromLocation)
   */
  constructor(client, options = {}) {
    super();
    this.client = client;
    this.options = options;
    this.active = false;            // encrypting this call
    this.state = 'off';             // 'off' (server), 'disabled' (page option), 'unsupported', 'on'
    this.verificationCode = null;
    this.stats = null;              // from the worker: frames encrypted, decrypted, failed, without key
    this.trace = null;              // tests: hashes of sampled frames before and after the transform
    this.publicKeys = new Map();    // participantId -> base64 public key (the others)
    this.pairwise = new Map();      // participantId -> Promise<CryptoKey>
    this.recvRaw = new Map();       // participantId -> Map(keyId -> raw media key), for blobs
    this.chain = Promise.resolve(); // key operations, one at a time
    this.sendKeyId = 0;
    this.sendRaw = null;
    this.events = [];               // the last key events (support, tests): never key material
    this.started = false;           // start() done: messages before are kept in early and handled then
    this.early = [];
  }

  log(text) {
    this.events.push(`${Math.round(performance.now())} ${text}`);
    if (this.events.length > 100) this.events.shift();
  }

  /** Encoded transforms: RTCRtpScriptTransform, or createEncodedStreams with encodedInsertableStreams. */
  static supported() {
    return typeof RTCRtpScriptTransform !== 'undefined'
      || (typeof RTCRtpSender !== 'undefined' && 'createEncodedStreams' in RTCRtpSender.prototype);
  }

  /** True when the peer connections must be made with encodedInsertableStreams (the fallback). */
  get needsInsertableStreams() {
    return this.active && typeof RTCRtpScriptTransform === 'undefined';
  }

  /** After welcome, before publishing: keys, the worker, our public key announced. */
  async start(welcome) {
    const cfg = welcome.e2ee || { enabled: false, allowDisable: false };
    if (!cfg.enabled) { this.setState('off'); this.early = null; return; }
    if (this.options.disable && cfg.allowDisable) { this.setState('disabled'); this.early = null; return; }
    if (!E2ee.supported()) {
      this.setState('unsupported');
      throw new Error('Dieser Browser kann nicht Ende-zu-Ende verschlüsseln · this browser cannot encrypt end to end');
    }
    this.active = true;
    this.selfId = welcome.participantId;
    this.worker = new Worker('/js/e2ee-worker.js', { name: 'consultbridge-e2ee' });
    this.worker.onmessage = (e) => {
      if (e.data.type === 'stats') { this.stats = e.data.stats; this.trace = e.data.trace; this.emit('stats'); }
    };
    this.worker.postMessage({ type: 'config', trace: !!this.options.trace, testKeyMode: this.options.testKeyMode });
    this.statsTimer = setInterval(() => this.worker.postMessage({ type: 'stats' }), STATS_INTERVAL_MS);
    this.identity = await crypto.subtle.generateKey(ECDH, false, ['deriveBits']);
    this.publicKey = b64(await crypto.subtle.exportKey('raw', this.identity.publicKey));
    this.sendRaw = crypto.getRandomValues(new Uint8Array(32));
    this.worker.postMessage({ type: 'setSendKey', keyId: this.sendKeyId, raw: this.sendRaw.slice().buffer });
    await this.updateCode();
    this.setState('on');
    // Announced without waiting for the answer: publishing (its ICE and DTLS) need not wait a signalling round
    // trip. The socket keeps the order, so the server has our key before our offer and before any media key we
    // send; the client awaits this.announced after publishing, so a refusal still fails the join.
    this.announced = this.client.request({ type: 'e2eeKey', publicKey: this.publicKey });
    this.announced.catch(() => { /* awaited (and reported) by the client after publishing */ });
    for (const p of welcome.participants) {
      if (p.e2eePublicKey) this.onPublicKey(p.participantId, p.e2eePublicKey, false);
    }
    this.started = true;
    const early = this.early;
    this.early = null;
    for (const msg of early) this.onMessage(msg); // came while we were making keys (or waiting for admission)
  }

  /** Signalling messages (the client passes every one). */
  onMessage(msg) {
    if (!this.started) {
      if (this.early && this.early.length < 200) this.early.push(msg);
      return;
    }
    switch (msg.type) {
      case 'e2eePublicKey':
        this.onPublicKey(msg.participantId, msg.publicKey, true);
        break;
      case 'e2eeMediaKey': // at once: never behind our own key changes (a fresh key waits for the others)
        this.onMediaKey(msg.from, msg.ciphertext).catch((e) => this.log(`media key from ${msg.from}: ${e.message}`));
        break;
      case 'participantJoined':
        // the same id again is a reconnect: its old keys are gone with its old page
        if (this.publicKeys.has(msg.participant.participantId)) this.forget(msg.participant.participantId);
        if (msg.participant.e2eePublicKey) this.onPublicKey(msg.participant.participantId, msg.participant.e2eePublicKey, true);
        break;
      case 'participantState':
        // reconnects: it is back on a new connection; a media key sent meanwhile may have been lost with the old one
        if (msg.state === 'connected' && this.publicKeys.has(msg.participantId)) this.resendTo(msg.participantId);
        break;
      case 'participantLeft':
        if (this.publicKeys.has(msg.participantId)) {
          this.forget(msg.participantId);
          this.serial(() => this.freshSendKey());
        }
        break;
      default:
        break;
    }
  }

  /** Reconnects: our current media key (and one about to be used) to {@code pid} again. */
  resendTo(pid) {
    this.serial(async () => {
      await this.sendMediaKey(pid);
      const p = this.pendingKey;
      if (p) await this.sendMediaKey(pid, p.keyId, p.raw);
    });
  }

  /** Reconnects: we resumed on a new connection; what we sent on the old one may be lost: our keys to everyone. */
  resync() {
    if (!this.active || !this.started) return;
    this.log('resumed: media keys sent again');
    for (const pid of this.publicKeys.keys()) this.resendTo(pid);
  }

  serial(task) {
    this.chain = this.chain.then(task).catch((e) => { this.log(`failed: ${e.message}`); this.emit('problem', `E2EE: ${e.message}`); });
    return this.chain;
  }

  /** A participant's public key: pairwise key, then our media key to them (ratcheted first if they are new). */
  onPublicKey(pid, publicKey, newcomer) {
    if (pid === this.selfId || this.publicKeys.get(pid) === publicKey) return;
    this.log(`public key of ${pid}${newcomer ? ' (new)' : ''}`);
    if (this.publicKeys.has(pid)) this.forget(pid);
    this.publicKeys.set(pid, publicKey);
    this.pairwise.set(pid, this.derivePairwise(publicKey));
    this.updateCode();
    this.serial(async () => {
      if (newcomer) await this.ratchetSendKey();
      await this.sendMediaKey(pid);
      const p = this.pendingKey; // a fresh key we are about to use: they need it too
      if (p) await this.sendMediaKey(pid, p.keyId, p.raw);
    });
  }

  async derivePairwise(publicKey) {
    const theirs = await crypto.subtle.importKey('raw', unb64(publicKey), ECDH, false, []);
    const shared = await crypto.subtle.deriveBits({ name: 'ECDH', public: theirs }, this.identity.privateKey, 256);
    const [a, b] = [this.publicKey, publicKey].sort();
    const salt = new Uint8Array(await crypto.subtle.digest('SHA-256', enc.encode(`${a}\n${b}`)));
    const material = await crypto.subtle.importKey('raw', shared, 'HKDF', false, ['deriveKey']);
    return crypto.subtle.deriveKey({ name: 'HKDF', hash: 'SHA-256', salt, info: enc.encode('ConsultBridge E2EE v1 pairwise') },
      material, { name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
  }

  /** Additional data of a media key message: binds it to its direction (from, to). */
  static mediaKeyAad(from, to) {
    return enc.encode(`ConsultBridge E2EE v1 media key ${from} > ${to}`);
  }

  /** e2eeMediaKey: IV (12) || AES-GCM(pairwise, version 1 | key id | 32-byte media key). */
  async sendMediaKey(pid, keyId = this.sendKeyId, raw = this.sendRaw) {
    const pair = this.pairwise.get(pid);
    if (!pair) return;
    // only to participants this page shows: a key the server slipped in for someone not in the list gets nothing
    if (!this.client.participants.has(pid)) { this.log(`no media key for ${pid}: not a listed participant`); return; }
    const iv = crypto.getRandomValues(new Uint8Array(12)); // few messages per pairwise key: random IVs are safe
    const plain = new Uint8Array(34);
    plain[0] = 1;
    plain[1] = keyId;
    plain.set(raw, 2);
    const cipher = new Uint8Array(await crypto.subtle.encrypt(
      { name: 'AES-GCM', iv, additionalData: E2ee.mediaKeyAad(this.selfId, pid) }, await pair, plain));
    const out = new Uint8Array(iv.length + cipher.length);
    out.set(iv);
    out.set(cipher, iv.length);
    this.log(`media key ${keyId} to ${pid}`);
    await this.client.request({ type: 'e2eeMediaKey', to: pid, ciphertext: b64(out) }).catch((e) => {
      this.log(`media key to ${pid} refused: ${e.code}`);
      if (e.code !== 'e2ee-unknown-target') throw e; // they left meanwhile
    });
  }

  async onMediaKey(from, ciphertext) {
    const pair = this.pairwise.get(from);
    if (!pair) { this.log(`media key from ${from} without its public key`); return; }
    const bytes = unb64(ciphertext);
    let plain;
    try {
      plain = new Uint8Array(await crypto.subtle.decrypt(
        { name: 'AES-GCM', iv: bytes.subarray(0, 12), additionalData: E2ee.mediaKeyAad(from, this.selfId) },
        await pair, bytes.subarray(12)));
    } catch (e) {
      this.emit('problem', `E2EE: key message from ${from} does not authenticate`);
      return;
    }
    if (plain.length !== 34 || plain[0] !== 1) return;
    const keyId = plain[1];
    const raw = plain.slice(2);
    this.log(`media key ${keyId} from ${from}`);
    let keys = this.recvRaw.get(from);
    if (!keys) { keys = new Map(); this.recvRaw.set(from, keys); }
    keys.set(keyId, raw);
    while (keys.size > 8) keys.delete(keys.keys().next().value);
    this.worker.postMessage({ type: 'setRecvKey', participantId: from, keyId, raw: raw.slice().buffer });
  }

  async installSendKey(keyId, raw) {
    this.log(`sending with key ${keyId}`);
    this.sendKeyId = keyId;
    this.sendRaw = raw;
    this.worker.postMessage({ type: 'setSendKey', keyId, raw: raw.slice().buffer });
  }

  /** Someone new: the next key of our ratchet; the others derive it themselves when our frames carry its id. */
  async ratchetSendKey() {
    await this.flushPendingKey();
    await this.installSendKey((this.sendKeyId + 1) % 256, await ratchet(this.sendRaw));
  }

  /**
   * Someone left: a fresh key, sent to everyone who stays, used once they have had time to receive it (meanwhile
   * the chain goes on: a newcomer's ratchet uses the fresh key at once).
   */
  async freshSendKey() {
    await this.flushPendingKey();
    const keyId = (this.sendKeyId + 1) % 256;
    const raw = crypto.getRandomValues(new Uint8Array(32));
    await Promise.all([...this.pairwise.keys()].map((pid) => this.sendMediaKey(pid, keyId, raw)));
    const pending = { keyId, raw };
    pending.timer = setTimeout(() => this.serial(() => this.flushPendingKey()), FRESH_KEY_DELAY_MS);
    this.pendingKey = pending;
  }

  async flushPendingKey() {
    const p = this.pendingKey;
    if (!p) return;
    this.pendingKey = null;
    clearTimeout(p.timer);
    await this.installSendKey(p.keyId, p.raw);
  }

  forget(pid) {
    this.publicKeys.delete(pid);
    this.pairwise.delete(pid);
    this.recvRaw.delete(pid);
    this.worker.postMessage({ type: 'forget', participantId: pid });
    this.updateCode();
  }

  /** SHA-256 over everyone's public keys (sorted): five groups of four digits. */
  async updateCode() {
    const keys = [this.publicKey, ...this.publicKeys.values()].sort();
    const h = new Uint8Array(await crypto.subtle.digest('SHA-256',
      enc.encode(`ConsultBridge E2EE v1 verification code\n${keys.join('\n')}`)));
    const groups = [];
    for (let i = 0; i < 5; i++) {
      const v = ((h[3 * i] << 16) | (h[3 * i + 1] << 8) | h[3 * i + 2]) % 10000;
      groups.push(String(v).padStart(4, '0'));
    }
    const code = groups.join(' ');
    // keys can change while we hash: only the latest set counts
    const now = [this.publicKey, ...this.publicKeys.values()].sort().join('\n');
    if (now !== keys.join('\n')) return;
    if (code !== this.verificationCode) {
      this.verificationCode = code;
      this.participantsInCode = keys.length;
      this.emit('code', code);
    }
  }

  /** Encrypts a sender's transform of its outgoing track. */
  attachSender(sender, kind) {
    if (!this.active) return;
    const options = { side: 'send', kind };
    if (typeof RTCRtpScriptTransform !== 'undefined') {
      sender.transform = new RTCRtpScriptTransform(this.worker, options);
    } else {
      const { readable, writable } = sender.createEncodedStreams();
      this.worker.postMessage({ type: 'stream', readable, writable, options }, [readable, writable]);
    }
  }

  /** Decrypts what a receiver gets from {@code participantId}. */
  attachReceiver(receiver, participantId, kind) {
    if (!this.active) return;
    const options = { side: 'recv', kind, participantId };
    if (typeof RTCRtpScriptTransform !== 'undefined') {
      receiver.transform = new RTCRtpScriptTransform(this.worker, options);
    } else {
      const { readable, writable } = receiver.createEncodedStreams();
      this.worker.postMessage({ type: 'stream', readable, writable, options }, [readable, writable]);
    }
  }

  // ---- blobs (still capture, issue #8): the same keys, a key of their own per media key (HKDF), random IVs

  async blobKey(raw, usage) {
    const bits = await hkdfBits(raw, 'ConsultBridge E2EE v1 blob');
    return crypto.subtle.importKey('raw', bits, 'AES-GCM', false, [usage]);
  }

  /**
   * Encrypts bytes (e.g. a still image) so that every participant in the call, and only they, can read them:
   * {keyId, iv, ciphertext} (base64 strings). {@code label} (e.g. a transfer id) is authenticated with it.
   */
  async encryptBlob(bytes, label = '') {
    if (!this.active) throw new Error('end-to-end encryption is not active');
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const keyId = this.sendKeyId;
    const key = await this.blobKey(this.sendRaw, 'encrypt');
    const cipher = await crypto.subtle.encrypt(
      { name: 'AES-GCM', iv, additionalData: enc.encode(`blob ${this.selfId} ${keyId} ${label}`) }, key, bytes);
    return { keyId, iv: b64(iv), ciphertext: b64(cipher) };
  }

  /** Decrypts what {@code from} made with encryptBlob; throws when it does not authenticate. */
  async decryptBlob(from, { keyId, iv, ciphertext }, label = '') {
    const keys = this.recvRaw.get(from);
    let raw = keys && keys.get(keyId);
    if (!raw && keys) { // a ratchet step or a few ahead of the last key we were given
      for (let back = 1; back <= 8 && !raw; back++) {
        let base = keys.get((keyId - back + 256) % 256);
        if (!base) continue;
        for (let i = 0; i < back; i++) base = await ratchet(base);
        raw = base;
      }
    }
    if (!raw) throw new Error(`no key ${keyId} of ${from}`);
    const key = await this.blobKey(raw, 'decrypt');
    return new Uint8Array(await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: unb64(iv), additionalData: enc.encode(`blob ${from} ${keyId} ${label}`) }, key,
      unb64(ciphertext)));
  }

  close() {
    clearInterval(this.statsTimer);
    if (this.worker) this.worker.terminate();
  }

  setState(state) {
    this.state = state;
    this.emit('state', state);
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

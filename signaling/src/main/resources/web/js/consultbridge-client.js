// ConsultBridge web client core: signalling over one WebSocket, a publish and a subscribe RTCPeerConnection.
// Plain ES module, no dependencies (works on an offline hospital network). Protocol: docs/protocol.md.

export const PROTOCOL_VERSION = 1;
const STATS_INTERVAL_MS = 5000;
// The server ended our part: declined from the waiting room, removed, or the consultation ended (protocol.md).
const FINAL_STATES = new Set(['declined', 'removed', 'ended']);
const FINAL_BY_CLOSE_CODE = { 4410: 'ended', 4420: 'declined', 4421: 'removed' };
// Reconnects (docs/protocol.md "Reconnects"): a ping every HEARTBEAT_MS; no answer within PONG_TIMEOUT_MS means the
// link is dead (a link that goes silent closes no TCP connection). Then new connections with exponential backoff and
// jitter (0.5 s, 1 s, 2 s ... at most RETRY_MAX_MS), each given CONNECT_TIMEOUT_MS, within the grace period.
const HEARTBEAT_MS = 2500;
const PONG_TIMEOUT_MS = 6000;
const CONNECT_TIMEOUT_MS = 4000;
const RETRY_FIRST_MS = 500;
const RETRY_MAX_MS = 5000;
// ICE down this long while signalling is up: ask for an ICE restart (RFC 8445 §9).
const ICE_RESTART_AFTER_MS = 3000;
// refusals worth retrying later: too many joins from this address (4429), no hello in time (4408)
const RETRY_LATER_CODES = new Set(['rate-limited', 'hello-timeout']);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** Exponential backoff with jitter: attempt 0, 1, 2 ... -> 0.5-1 x min(max, first * 2^attempt). */
export function backoffMs(attempt, firstMs = RETRY_FIRST_MS, maxMs = RETRY_MAX_MS) {
  const base = Math.min(maxMs, firstMs * 2 ** attempt);
  return Math.round(base * (0.5 + Math.random() * 0.5));
}

export class ConsultClient extends EventTarget {
  constructor(token, options = {}) {
    super();
    this.token = token;
    this.preferredVideoCodec = options.videoCodec || null; // e.g. 'h264' (hardware decoding on some kiosks)
    // Three simulcast layers (1/4, 1/2 and full resolution): the bridge forwards to each receiver the layer its
    // link carries. Off with #simulcast=0 (then one stream, adapted to the weakest receiver).
    this.simulcast = options.simulcast !== false;
    this.quality = null;             // last 'quality' message: the bridge's view of our downlink
    this.suspended = new Set();      // participantIds whose video the bridge paused for us (audio only)
    // relay only: all media through the TURN server (tests; diagnosing a hospital firewall)
    this.forceRelay = !!options.forceRelay;
    this.iceServers = [];
    this.state = 'idle';
    this.participants = new Map();   // participantId -> {participantId, role, displayName, audioMuted, videoMuted}
    this.remoteTracks = new Map();   // participantId -> MediaStream of what we receive from them
    this.publishPc = null;
    this.subscribePc = null;
    this.localStream = null;
    this.self = null;
    this.nextId = 1;
    this.pending = new Map();
    this.subscribeChain = Promise.resolve();
    this.transportStates = { publish: 'new', subscribe: 'new' };
    // issue #8: end-to-end encryption (an E2ee from e2ee.js, set by the page before start) and other listeners
    // of server messages (clinical profiles)
    this.e2ee = null;
    this.messageHooks = [];
    // waiting room (issue #7)
    this.consultationId = options.consultationId || null; // sent in hello: must be the token's consultation
    this.doctorPresent = false;      // while we wait: whether someone who may admit us is there
    this.waiting = [];               // doctor/staff: who waits, [{participantId, role, displayName, since}]
    this.admission = null;           // {resolve, reject} while we wait
    this.closeCode = null;
  }

  async start(localStream) {
    this.localStream = localStream;
    this.setState('connecting');
    const hello = { type: 'hello', version: PROTOCOL_VERSION, token: this.token };
    if (this.consultationId) hello.consultationId = this.consultationId;
    let welcome;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.connectSocket();
        this.helloSentAt = performance.now();
        welcome = await this.request(hello);
        break;
      } catch (e) {
        // too many joins from this address, or the hello came too late: wait and try again, and say so
        const retry = (RETRY_LATER_CODES.has(e.code) || this.closeCode === 4429 || this.closeCode === 4408) && attempt < 6;
        if (!retry) throw e;
        const wait = Math.max(retryAfterMs(e.message), backoffMs(attempt + 2, RETRY_FIRST_MS, 30000));
        this.emit('problem', `${RETRY_TEXT} ${Math.round(wait / 1000)} s`);
        await sleep(wait);
        this.setState('connecting');
      }
    }
    this.startTimers();
    this.self = welcome;
    if (welcome.admitted === false) {
      // the waiting room: no media until a doctor (or staff) admits us
      this.setState('waiting');
      const admitted = await new Promise((resolve, reject) => { this.admission = { resolve, reject }; });
      this.admission = null;
      welcome.participants = admitted.participants;
      if (admitted.profile) welcome.profile = admitted.profile;
      if (admitted.resume) welcome.resume = admitted.resume;
      this.helloSentAt = performance.now(); // time to first frame counts from the admission
      this.setState('connecting');
    }
    this.watchFirstFrame();
    this.emit('welcome', welcome);
    for (const p of welcome.participants) this.participants.set(p.participantId, p);
    this.emit('participants');
    this.iceServers = welcome.iceServers || []; // TURN with ephemeral credentials, when the server has one
    this.resume = welcome.resume || null; // reconnects: {token, graceSeconds} while we are in the call
    if (this.e2ee) await this.e2ee.start(welcome); // keys before the first frame is sent
    await this.publish();
    if (this.e2ee && this.e2ee.announced) await this.e2ee.announced; // our public key, sent before the offer
  }

  /** A new WebSocket as this.ws; resolves when open, rejects when it cannot be opened within CONNECT_TIMEOUT_MS. */
  connectSocket() {
    const proto = location.protocol === 'https:' ? 'wss' : 'ws';
    const ws = new WebSocket(`${proto}://${location.host}/ws`);
    this.ws = ws;
    this.epoch = (this.epoch || 0) + 1; // work started for an earlier connection is not finished on this one
    this.closeCode = null;
    ws.onmessage = (e) => { if (ws === this.ws) { this.lastHeard = performance.now(); this.onMessage(JSON.parse(e.data)); } };
    ws.onclose = (e) => this.onSocketClosed(ws, e.code, e.reason);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.abandon(ws), CONNECT_TIMEOUT_MS);
      ws.failConnect = () => { clearTimeout(timer); ws.failConnect = null; reject(new Error('cannot reach the server')); };
      ws.onopen = () => { clearTimeout(timer); ws.failConnect = null; this.lastHeard = performance.now(); resolve(); };
      ws.onerror = () => { if (ws.failConnect) ws.failConnect(); };
    });
  }

  /** Gives a socket up: no more events from it; closed as far as the network lets us. */
  abandon(ws) {
    if (ws.failConnect) ws.failConnect(); // an attempt still connecting fails now
    ws.onmessage = null; ws.onclose = null; ws.onopen = null; ws.onerror = null;
    try { ws.close(4000, 'abandoned'); } catch (e) { /* already closed */ }
    if (ws === this.ws) this.onSocketClosed(ws, 1006, 'no answer');
  }

  onSocketClosed(ws, code, reason) {
    if (ws !== this.ws) return;
    this.closeCode = code;
    this.ws = null;
    for (const p of this.pending.values()) p.reject(Object.assign(new Error('connection closed'), { code: 'closed' }));
    this.pending.clear();
    clearInterval(this.heartbeat);
    clearInterval(this.statsTimer);
    if (FINAL_BY_CLOSE_CODE[code]) { this.finish(FINAL_BY_CLOSE_CODE[code]); return; }
    if (this.state === 'left' || this.leaving || FINAL_STATES.has(this.state) || this.state === 'rejoin') return;
    if (this.resume && !this.reconnecting && code !== 1008 && code !== 1009) { this.reconnect(); return; }
    if (this.reconnecting) return; // the reconnect loop sees its attempt fail
    this.setState('disconnected', `${code} ${reason || ''}`.trim());
    if (this.admission) this.admission.reject(Object.assign(new Error('connection closed'), { code: this.state }));
  }

  /** Heartbeat (a dead link is noticed within seconds) and the clientStats reports. */
  startTimers() {
    clearInterval(this.heartbeat);
    clearInterval(this.statsTimer);
    this.pingSentAt = null;
    this.heartbeat = setInterval(() => this.beat(), HEARTBEAT_MS);
    // what this participant sees and hears, for the ops team (docs/protocol.md, clientStats); never media
    this.statsTimer = setInterval(() => this.reportStats().catch(() => {}), STATS_INTERVAL_MS);
  }

  beat() {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    const now = performance.now();
    if (this.pingSentAt !== null && now - this.pingSentAt > PONG_TIMEOUT_MS && now - (this.lastHeard || 0) > PONG_TIMEOUT_MS) {
      this.abandon(ws); // nothing came back: the link is dead even if the socket does not know it yet
      return;
    }
    if (this.pingSentAt === null) {
      this.pingSentAt = now;
      this.request({ type: 'ping' }).then(() => { this.pingSentAt = null; }, () => {});
    }
  }

  /**
   * The connection dropped while we were in the call: keep the media as it is, try new connections with backoff
   * within the grace period, and resume our place with the resume token (no new admission).
   */
  async reconnect() {
    this.reconnecting = true;
    this.setState('reconnecting');
    const graceMs = (this.resume.graceSeconds || 30) * 1000;
    // the server counts the grace period from when it noticed; a little longer here, it has the last word
    const deadline = performance.now() + graceMs + 10000;
    for (let attempt = 0; performance.now() < deadline; attempt++) {
      if (this.state === 'left' || this.leaving || FINAL_STATES.has(this.state)) { this.reconnecting = false; return; }
      await this.pause(attempt === 0 ? Math.round(Math.random() * 250) : backoffMs(attempt - 1));
      try {
        this.connectStarted = performance.now();
        await this.connectSocket();
        this.connectStarted = null;
        const welcome = await this.request({ type: 'hello', version: PROTOCOL_VERSION, resume: this.resume.token,
          consultationId: this.self.consultationId, participantId: this.self.participantId });
        this.reconnecting = false;
        await this.resumed(welcome);
        return;
      } catch (e) {
        this.connectStarted = null;
        if (e.code === 'resume-invalid' || e.code === 'resume-expired') break;
        if (RETRY_LATER_CODES.has(e.code)) {
          const wait = Math.max(retryAfterMs(e.message), backoffMs(attempt + 2));
          this.emit('problem', `${RETRY_TEXT} ${Math.round(wait / 1000)} s`);
          await sleep(wait);
        }
        if (this.ws && this.ws.readyState !== WebSocket.CLOSED) this.abandon(this.ws);
      }
    }
    this.reconnecting = false;
    this.mustRejoin();
  }

  /** Waits {@code ms}, or less when the network looks back (see {@link #networkBack}). */
  pause(ms) {
    return new Promise((resolve) => {
      const t = setTimeout(() => { this.wake = null; resolve(); }, ms);
      this.wake = () => { clearTimeout(t); this.wake = null; resolve(); };
    });
  }

  /**
   * While reconnecting, ICE came back (the media path works again): try a new connection now instead of waiting for
   * the backoff or for a connection attempt whose TCP handshake is stuck in its retransmission backoff.
   */
  networkBack() {
    if (!this.reconnecting) return;
    if (this.wake) this.wake();
    else if (this.connectStarted !== null && this.connectStarted !== undefined
      && performance.now() - this.connectStarted > 500 && this.ws) this.abandon(this.ws);
  }

  /** Our place is gone (the grace period ended): media off, the page says to join again. */
  mustRejoin() {
    this.resume = null;
    if (this.ws) this.abandon(this.ws);
    if (this.publishPc) this.publishPc.close();
    if (this.subscribePc) this.subscribePc.close();
    this.setState('rejoin');
    this.emit('problem', REJOIN_TEXT);
  }

  /** Back in our place on a new connection: fresh state from the welcome, then ICE restarts on both sides. */
  async resumed(welcome) {
    this.resume = welcome.resume || this.resume;
    this.iceServers = welcome.iceServers || this.iceServers;
    this.startTimers();
    const before = new Map(this.participants);
    this.participants = new Map(welcome.participants.map((p) => [p.participantId, p]));
    for (const id of before.keys()) {
      if (!this.participants.has(id)) { // left while we were away
        this.remoteTracks.delete(id);
        if (this.e2ee) this.e2ee.onMessage({ type: 'participantLeft', participantId: id });
        this.emit('remote', id);
      }
    }
    for (const p of welcome.participants) {
      if (!before.has(p.participantId) && this.e2ee) this.e2ee.onMessage({ type: 'participantJoined', participant: p });
    }
    this.emit('participants');
    this.emit('resumed', welcome);
    if (this.e2ee) this.e2ee.resync(); // our media key again, in case one was lost with the old connection
    await this.restartPublishIce();
    this.iceRestarts = (this.iceRestarts || 0) + 1;
    this.updateState(true);
  }

  /** ICE restart of the publish side (RFC 8445 §9): an offer with new credentials; the bridge answers with new ones. */
  async restartPublishIce() {
    const pc = this.publishPc;
    if (!pc || pc.signalingState === 'closed') return;
    try { pc.setConfiguration({ ...pc.getConfiguration(), iceServers: this.iceServers }); } catch (e) { /* keep */ }
    const offer = await pc.createOffer({ iceRestart: true });
    await pc.setLocalDescription(offer);
    const answer = await this.request({ type: 'publishOffer', sdp: pc.localDescription.sdp });
    if (pc.signalingState === 'have-local-offer') await pc.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
  }

  /**
   * ICE of a peer connection went down while signalling is up: after ICE_RESTART_AFTER_MS still down, ask the bridge
   * for an ICE restart (a new subscribe offer comes) and restart the publish side. A dead link is noticed sooner:
   * ping now.
   */
  watchIce(pc) {
    pc.addEventListener('iceconnectionstatechange', () => {
      const st = pc.iceConnectionState;
      if (st === 'connected' || st === 'completed') { this.networkBack(); return; }
      if (st !== 'disconnected' && st !== 'failed') return;
      this.beat();
      clearTimeout(this.iceTimer);
      this.iceTimer = setTimeout(() => this.restartIceIfStillDown(), st === 'failed' ? 0 : ICE_RESTART_AFTER_MS);
    });
  }

  async restartIceIfStillDown() {
    const down = [this.publishPc, this.subscribePc].some((pc) => pc && ['disconnected', 'failed'].includes(pc.iceConnectionState));
    if (!down || this.reconnecting || !this.ws || this.ws.readyState !== WebSocket.OPEN || !this.resume) return;
    const now = performance.now();
    if (now - (this.lastIceRestart || -1e9) < 5000) { // at most one every 5 s; look again then
      this.iceTimer = setTimeout(() => this.restartIceIfStillDown(), 5000);
      return;
    }
    this.lastIceRestart = now;
    try {
      await this.request({ type: 'iceRestart' });
      await this.restartPublishIce();
      this.iceRestarts = (this.iceRestarts || 0) + 1; // done (tests, support)
    } catch (e) { /* the connection went too: the reconnect takes over */ }
    this.iceTimer = setTimeout(() => this.restartIceIfStillDown(), 6000); // still down then: again
  }

  /** The RTCPeerConnection configuration of both connections. */
  pcConfig() {
    return {
      iceServers: this.iceServers,
      iceTransportPolicy: this.forceRelay ? 'relay' : 'all',
      bundlePolicy: 'max-bundle',
      rtcpMuxPolicy: 'require',
      // older browsers without RTCRtpScriptTransform: encoded streams for the end-to-end encryption
      ...(this.e2ee && this.e2ee.needsInsertableStreams ? { encodedInsertableStreams: true } : {}),
    };
  }

  request(msg) {
    const id = this.nextId++;
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) {
      return Promise.reject(Object.assign(new Error('not connected'), { code: 'closed' }));
    }
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      ws.send(JSON.stringify({ ...msg, id }));
    });
  }

  send(msg) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  onMessage(msg) {
    if (msg.id !== undefined && this.pending.has(msg.id)) {
      const p = this.pending.get(msg.id);
      this.pending.delete(msg.id);
      if (msg.type === 'error') {
        const err = new Error(msg.message);
        err.code = msg.code;
        p.reject(err);
      } else {
        p.resolve(msg);
      }
      return;
    }
    if (this.e2ee) this.e2ee.onMessage(msg);
    for (const hook of this.messageHooks) hook(msg);
    switch (msg.type) {
      case 'subscribeOffer':
        this.subscribeChain = this.subscribeChain.then(() => this.onSubscribeOffer(msg.sdp))
          .catch((e) => this.emit('problem', e.message));
        break;
      case 'participantJoined':
        this.participants.set(msg.participant.participantId, msg.participant);
        this.emit('participants');
        break;
      case 'participantState': { // reconnects: another participant's connection dropped, or it is back
        const p = this.participants.get(msg.participantId);
        if (p) { p.state = msg.state; this.emit('participants'); }
        break;
      }
      case 'participantLeft':
        this.participants.delete(msg.participantId);
        this.remoteTracks.delete(msg.participantId);
        this.emit('participants');
        this.emit('remote', msg.participantId);
        break;
      case 'muteChanged': {
        const p = this.participants.get(msg.participantId);
        if (p) { p.audioMuted = msg.audio; p.videoMuted = msg.video; }
        this.emit('participants');
        break;
      }
      case 'transportState':
        this.transportStates[msg.direction] = msg.state;
        this.updateState();
        break;
      case 'error':
        this.emit('problem', `${msg.code}: ${msg.message}`);
        break;
      case 'quality':
        this.quality = msg;
        this.adaptPlayout(msg.downlink);
        this.emit('quality', msg);
        break;
      case 'admitted':
        if (this.admission) this.admission.resolve(msg);
        break;
      case 'welcome': // a resume's reply comes as a request's answer; nothing to do here
        break;
      case 'waiting':
        this.doctorPresent = !!msg.doctorPresent;
        this.emit('waiting');
        break;
      case 'waitingRoom':
        this.waiting = msg.waiting || [];
        this.emit('waitingRoom');
        break;
      case 'declined':
      case 'removed':
      case 'consultationEnded':
        this.finish(msg.type === 'consultationEnded' ? 'ended' : msg.type);
        break;
      case 'videoSuspended':
        if (msg.suspended) this.suspended.add(msg.participantId); else this.suspended.delete(msg.participantId);
        this.emit('suspended', msg.participantId);
        break;
      default:
        break;
    }
  }

  async publish() {
    const pc = new RTCPeerConnection(this.pcConfig());
    this.publishPc = pc;
    pc.onconnectionstatechange = () => this.updateState();
    this.watchIce(pc);
    pc.onicecandidate = (e) => {
      // The bridge is ICE-lite and learns our address from our checks; we still tell it, as the protocol says.
      if (e.candidate) this.send({ type: 'iceCandidate', target: 'publish', candidate: e.candidate.candidate, sdpMid: e.candidate.sdpMid });
    };
    for (const track of this.localStream.getTracks()) {
      const init = { direction: 'sendonly', streams: [this.localStream] };
      if (track.kind === 'video' && this.simulcast) init.sendEncodings = SIMULCAST_ENCODINGS;
      const t = pc.addTransceiver(track, init);
      // end-to-end encryption leaves VP8's payload header in the clear for the bridge; H264 is not supported with
      // it (its NAL headers are spread through the frame), so an encrypted call uses VP8. Nor audio RED: Chromium
      // encrypts the RED packet whole, whose block headers the bridge reads (Jitsi turns RED off with E2EE too).
      const e2ee = this.e2ee && this.e2ee.active;
      if (e2ee) this.e2ee.attachSender(t.sender, track.kind);
      if (track.kind === 'video' && (e2ee || this.preferredVideoCodec)) preferCodec(t, e2ee ? 'vp8' : this.preferredVideoCodec);
      if (track.kind === 'audio' && e2ee) withoutCodec(t, 'audio/red');
    }
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    const answer = await this.request({ type: 'publishOffer', sdp: pc.localDescription.sdp });
    await pc.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
  }

  async onSubscribeOffer(sdp) {
    if (!this.subscribePc) {
      const pc = new RTCPeerConnection(this.pcConfig());
      this.subscribePc = pc;
      pc.onconnectionstatechange = () => this.updateState();
      this.watchIce(pc);
      pc.ontrack = (e) => this.onTrack(e);
      pc.onicecandidate = (e) => {
        if (e.candidate) this.send({ type: 'iceCandidate', target: 'subscribe', candidate: e.candidate.candidate, sdpMid: e.candidate.sdpMid });
      };
    }
    const pc = this.subscribePc;
    const epoch = this.epoch;
    await pc.setRemoteDescription({ type: 'offer', sdp });
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    // an offer of an earlier connection: the bridge superseded it with the one it sends after the resume
    if (epoch !== this.epoch) return;
    await this.request({ type: 'subscribeAnswer', sdp: pc.localDescription.sdp });
  }

  /**
   * On a lossy or long link a lost video packet comes back by NACK/RTX about one round trip later. Chromium counts
   * a frame that late as a freeze; a playout delay of about one round trip (RTCRtpReceiver.jitterBufferTarget) lets
   * the repaired frame play on time. Kept for 20 s after the link looks clean again (receiver reports of a few
   * seconds often show no loss on a 2 % link).
   */
  adaptPlayout(downlink) {
    if (!this.subscribePc || !downlink || !(downlink.rttMs > 0)) return;
    const now = Date.now();
    if (downlink.rttMs > 80 || downlink.fractionLost > 0.005) this.lossyUntil = now + 20000;
    const target = now < (this.lossyUntil || 0) ? Math.min(500, Math.round(downlink.rttMs * 1.2 + 80)) : null;
    this.playoutTargetMs = target;
    for (const r of this.subscribePc.getReceivers()) {
      if (r.track && r.track.kind === 'video' && 'jitterBufferTarget' in r && r.jitterBufferTarget !== target) {
        try { r.jitterBufferTarget = target; } catch (e) { /* out of range: keep the browser's own */ }
      }
    }
  }

  onTrack(e) {
    const participantId = e.streams[0] ? e.streams[0].id : 'unknown';
    let stream = this.remoteTracks.get(participantId);
    if (!stream) {
      stream = new MediaStream();
      this.remoteTracks.set(participantId, stream);
    }
    if (this.e2ee && this.e2ee.active) this.e2ee.attachReceiver(e.receiver, participantId, e.track.kind);
    if (e.track.kind === 'video' && 'jitterBufferTarget' in e.receiver && this.playoutTargetMs !== null) {
      // until the first quality report tells whether the link is clean: room for one NACK repair on a rural link
      try { e.receiver.jitterBufferTarget = this.playoutTargetMs === undefined ? 300 : this.playoutTargetMs; } catch (err) { /* keep */ }
    }
    for (const old of stream.getTracks().filter((t) => t.kind === e.track.kind)) stream.removeTrack(old);
    stream.addTrack(e.track);
    const gone = () => {
      // the bridge disabled this m-line (port 0): the transceiver stopped and the track ended
      if (stream.getTracks().includes(e.track)) stream.removeTrack(e.track);
      this.emit('remote', participantId);
    };
    e.track.addEventListener('ended', gone);
    if (e.streams[0]) e.streams[0].addEventListener('removetrack', (ev) => { if (ev.track === e.track) gone(); });
    this.emit('remote', participantId);
  }

  setMuted(audio, video) {
    for (const t of this.localStream.getAudioTracks()) t.enabled = !audio;
    for (const t of this.localStream.getVideoTracks()) t.enabled = !video;
    return this.request({ type: 'mute', audio, video });
  }

  /** Doctor or staff: let a waiting participant in, or not (docs/protocol.md, waiting room). */
  admit(participantId) { return this.request({ type: 'admit', participantId }); }

  decline(participantId) { return this.request({ type: 'decline', participantId }); }

  /** Doctor (or staff, for rooms and guests): take a participant out of the call. */
  remove(participantId) { return this.request({ type: 'remove', participantId }); }

  /** Doctor: end the consultation for everyone. */
  endConsultation() { return this.request({ type: 'endConsultation' }); }

  /** Declined, removed or ended by the server: stop everything, no media either way. */
  finish(state) {
    if (FINAL_STATES.has(this.state)) return;
    this.setState(state);
    if (this.admission) this.admission.reject(Object.assign(new Error(state), { code: state }));
    // media off at once; the server closes the WebSocket itself (with 4410/4420/4421), so the page sees its code
    if (this.publishPc) this.publishPc.close();
    if (this.subscribePc) this.subscribePc.close();
    if (this.localStream) this.localStream.getTracks().forEach((t) => t.stop());
  }

  async leave() {
    this.leaving = true;
    try { await this.request({ type: 'leave' }); } catch (e) { /* closing anyway */ }
    this.setState('left');
    this.close();
  }

  close() {
    if (this.e2ee) this.e2ee.close();
    if (this.publishPc) this.publishPc.close();
    if (this.subscribePc) this.subscribePc.close();
    if (this.localStream) this.localStream.getTracks().forEach((t) => t.stop());
    clearInterval(this.heartbeat);
    clearInterval(this.statsTimer);
    if (this.ws) this.ws.close(1000, 'left');
  }

  /**
   * Time from hello to the first decoded remote video frame, polled for at most two minutes: every 40 ms for the
   * first 10 s of the subscribe connection (the join; every 200 ms it read up to 200 ms late, 100 ms on average),
   * every 200 ms after that.
   */
  watchFirstFrame() {
    const started = performance.now();
    let subscribedAt;
    let busy = false;
    const poll = async () => {
      const now = performance.now();
      if (now - started > 120000 || this.firstFrameMs !== undefined) return;
      if (this.subscribePc && !busy) {
        if (subscribedAt === undefined) subscribedAt = now;
        busy = true;
        try {
          const stats = await this.subscribePc.getStats();
          const at = performance.now();
          stats.forEach((r) => {
            if (this.firstFrameMs === undefined && r.type === 'inbound-rtp' && r.kind === 'video' && r.framesDecoded > 0) {
              this.firstFrameMs = Math.round(at - this.helloSentAt);
            }
          });
        } catch (e) { /* closed meanwhile */ }
        busy = false;
      }
      setTimeout(poll, subscribedAt !== undefined && now - subscribedAt < 10000 ? 40 : 200);
    };
    setTimeout(poll, 40);
  }

  /** The clientStats message: a small summary of getStats() (protocol.md). */
  async reportStats() {
    const msg = { type: 'clientStats' };
    if (this.subscribePc) {
      let best = null; let freezes = 0; let freezeMs = 0; let samples = 0; let concealed = 0;
      (await this.subscribePc.getStats()).forEach((r) => {
        if (r.type !== 'inbound-rtp') return;
        if (r.kind === 'video') {
          freezes += r.freezeCount || 0; freezeMs += (r.totalFreezesDuration || 0) * 1000;
          const area = (r.frameWidth || 0) * (r.frameHeight || 0);
          if ((r.framesDecoded || 0) > 0 && (!best || area > (best.frameWidth || 0) * (best.frameHeight || 0))) best = r;
        } else if (r.kind === 'audio') {
          samples += r.totalSamplesReceived || 0; concealed += r.concealedSamples || 0;
        }
      });
      if (best) { msg.fps = best.framesPerSecond || 0; msg.width = best.frameWidth || 0; msg.height = best.frameHeight || 0; }
      msg.freezeCount = freezes; msg.freezeMs = Math.round(freezeMs);
      const prev = this.lastAudio || { samples: 0, concealed: 0 };
      if (samples > prev.samples) msg.concealment = Math.min(1, Math.max(0, (concealed - prev.concealed) / (samples - prev.samples)));
      this.lastAudio = { samples, concealed };
    }
    if (this.publishPc) {
      const stats = await this.publishPc.getStats();
      stats.forEach((r) => {
        if (r.type === 'candidate-pair' && r.nominated && r.state === 'succeeded') {
          if (r.currentRoundTripTime !== undefined) msg.rttMs = Math.round(r.currentRoundTripTime * 1000);
          const local = stats.get(r.localCandidateId);
          if (local && local.candidateType) msg.candidateType = local.candidateType;
        }
      });
    }
    if (this.firstFrameMs !== undefined && !this.firstFrameSent) { msg.firstFrameMs = this.firstFrameMs; this.firstFrameSent = true; }
    this.lastClientStats = msg;
    return this.request(msg);
  }

  updateState(force) {
    if (this.state === 'left' || this.state === 'disconnected' || this.state === 'waiting' || this.state === 'rejoin' || FINAL_STATES.has(this.state)) return;
    if (this.reconnecting && !force) return; // the signalling connection is being resumed
    const pub = this.publishPc ? this.publishPc.connectionState : 'new';
    if (pub === 'connected') this.setState('connected');
    else if (pub === 'failed' || pub === 'disconnected') this.setState('reconnecting');
    else this.setState('connecting');
  }

  setState(state, detail) {
    if (this.state === state) return;
    this.state = state;
    this.emit('state', detail);
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

// Lowest layer first: the bridge numbers layers in the order of a=simulcast. Bitrates as LiveKit and Jitsi use
// for 720p capture (about 150 / 500 / 1500 kbit/s); Chromium drops the layers its uplink estimate cannot carry.
export const SIMULCAST_ENCODINGS = [
  { rid: 'q', scaleResolutionDownBy: 4, maxBitrate: 150000 },
  { rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 500000 },
  { rid: 'f', scaleResolutionDownBy: 1, maxBitrate: 1500000 },
];

/** Leaves {@code mimeType} out of what the transceiver offers. */
function withoutCodec(transceiver, mimeType) {
  const caps = RTCRtpSender.getCapabilities(transceiver.sender.track.kind);
  if (!caps || !transceiver.setCodecPreferences) return;
  transceiver.setCodecPreferences(caps.codecs.filter((c) => c.mimeType.toLowerCase() !== mimeType));
}

function preferCodec(transceiver, name) {
  const caps = RTCRtpSender.getCapabilities('video');
  if (!caps || !transceiver.setCodecPreferences) return;
  const wanted = `video/${name}`.toLowerCase();
  const first = caps.codecs.filter((c) => c.mimeType.toLowerCase() === wanted
    && (!c.sdpFmtpLine || !c.sdpFmtpLine.includes('packetization-mode=0')));
  if (first.length === 0) return;
  const rest = caps.codecs.filter((c) => !first.includes(c));
  transceiver.setCodecPreferences([...first, ...rest]);
}

/**
 * Options from the URL fragment after the token (#token=...&video=h264&relay=1) or the query (?relay=1).
 * relay=1 forces iceTransportPolicy "relay": media only through the TURN server.
 */
export function optionsFromLocation() {
  const m = /(?:^|[#&])video=([A-Za-z0-9]+)/.exec(location.hash);
  const sc = /(?:^|[#&])simulcast=([01])/.exec(location.hash);
  const relay = /(?:^|[#&?])relay=(1|true)(?:&|$)/.test(location.hash) || /(?:^|[?&])relay=(1|true)(?:&|$)/.test(location.search);
  const cid = /(?:^|[#&?])consultation=([A-Za-z0-9._-]{1,64})(?:&|$)/.exec(location.hash) || /(?:^|[?&])consultation=([A-Za-z0-9._-]{1,64})(?:&|$)/.exec(location.search);
  return { videoCodec: m ? m[1] : null, simulcast: !(sc && sc[1] === '0'), forceRelay: relay, consultationId: cid ? cid[1] : null };
}

const RETRY_TEXT = 'Der Server ist gerade ausgelastet, neuer Versuch in · The server is busy, trying again in';
const REJOIN_TEXT = 'Die Verbindung war zu lange unterbrochen. Bitte treten Sie neu bei. · '
  + 'The connection was lost for too long. Please join again.';

/** "retry in 12 s" in a refusal's message: that many milliseconds (0 when absent). */
function retryAfterMs(message) {
  const m = /retry in (\d+) s/.exec(message || '');
  return m ? Number(m[1]) * 1000 : 0;
}

export function tokenFromLocation() {
  const m = /(?:^|[#&])token=([^&]+)/.exec(location.hash);
  return m ? decodeURIComponent(m[1]) : null;
}

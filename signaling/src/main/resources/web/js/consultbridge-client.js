// ConsultBridge web client core: signalling over one WebSocket, a publish and a subscribe RTCPeerConnection.
// Plain ES module, no dependencies (works on an offline hospital network). Protocol: docs/protocol.md.

export const PROTOCOL_VERSION = 1;
const STATS_INTERVAL_MS = 5000;
// The server ended our part: declined from the waiting room, removed, or the consultation ended (protocol.md).
const FINAL_STATES = new Set(['declined', 'removed', 'ended']);
const FINAL_BY_CLOSE_CODE = { 4410: 'ended', 4420: 'declined', 4421: 'removed' };

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
    const proto = location.protocol === 'https:' ? 'wss' : 'ws';
    this.ws = new WebSocket(`${proto}://${location.host}/ws`);
    this.ws.onmessage = (e) => this.onMessage(JSON.parse(e.data));
    this.ws.onclose = (e) => {
      this.closeCode = e.code;
      for (const p of this.pending.values()) p.reject(new Error('connection closed'));
      this.pending.clear();
      clearInterval(this.keepAlive);
      clearInterval(this.statsTimer);
      if (FINAL_BY_CLOSE_CODE[e.code]) this.finish(FINAL_BY_CLOSE_CODE[e.code]);
      else if (this.state !== 'left' && !FINAL_STATES.has(this.state)) this.setState('disconnected', `${e.code} ${e.reason || ''}`.trim());
      if (this.admission) this.admission.reject(Object.assign(new Error('connection closed'), { code: this.state }));
    };
    await new Promise((resolve, reject) => {
      this.ws.onopen = resolve;
      this.ws.onerror = () => reject(new Error('cannot reach the server'));
    });
    // the server closes sockets silent for 60 s: keep ours alive (and notice a dead link early)
    this.keepAlive = setInterval(() => this.request({ type: 'ping' }).catch(() => {}), 15000);
    this.helloSentAt = performance.now();
    const hello = { type: 'hello', version: PROTOCOL_VERSION, token: this.token };
    if (this.consultationId) hello.consultationId = this.consultationId;
    const welcome = await this.request(hello);
    // what this participant sees and hears, for the ops team (docs/protocol.md, clientStats); never media
    this.statsTimer = setInterval(() => this.reportStats().catch(() => {}), STATS_INTERVAL_MS);
    this.self = welcome;
    if (welcome.admitted === false) {
      // the waiting room: no media until a doctor (or staff) admits us
      this.setState('waiting');
      const admitted = await new Promise((resolve, reject) => { this.admission = { resolve, reject }; });
      this.admission = null;
      welcome.participants = admitted.participants;
      if (admitted.profile) welcome.profile = admitted.profile;
      this.helloSentAt = performance.now(); // time to first frame counts from the admission
      this.setState('connecting');
    }
    this.watchFirstFrame();
    this.emit('welcome', welcome);
    for (const p of welcome.participants) this.participants.set(p.participantId, p);
    this.emit('participants');
    this.iceServers = welcome.iceServers || []; // TURN with ephemeral credentials, when the server has one
    if (this.e2ee) await this.e2ee.start(welcome); // keys before the first frame is sent
    await this.publish();
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
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.ws.send(JSON.stringify({ ...msg, id }));
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
      pc.ontrack = (e) => this.onTrack(e);
      pc.onicecandidate = (e) => {
        if (e.candidate) this.send({ type: 'iceCandidate', target: 'subscribe', candidate: e.candidate.candidate, sdpMid: e.candidate.sdpMid });
      };
    }
    const pc = this.subscribePc;
    await pc.setRemoteDescription({ type: 'offer', sdp });
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
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
    try { await this.request({ type: 'leave' }); } catch (e) { /* closing anyway */ }
    this.setState('left');
    this.close();
  }

  close() {
    if (this.e2ee) this.e2ee.close();
    if (this.publishPc) this.publishPc.close();
    if (this.subscribePc) this.subscribePc.close();
    if (this.localStream) this.localStream.getTracks().forEach((t) => t.stop());
    if (this.ws) this.ws.close(1000, 'left');
  }

  /** Time from hello to the first decoded remote video frame (polled every 200 ms for at most two minutes). */
  watchFirstFrame() {
    const started = performance.now();
    const poll = setInterval(async () => {
      if (!this.subscribePc || performance.now() - started > 120000 || this.firstFrameMs !== undefined) {
        if (performance.now() - started > 120000 || this.firstFrameMs !== undefined) clearInterval(poll);
        return;
      }
      const stats = await this.subscribePc.getStats();
      stats.forEach((r) => {
        if (this.firstFrameMs === undefined && r.type === 'inbound-rtp' && r.kind === 'video' && r.framesDecoded > 0) {
          this.firstFrameMs = Math.round(performance.now() - this.helloSentAt);
        }
      });
    }, 200);
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

  updateState() {
    if (this.state === 'left' || this.state === 'disconnected' || this.state === 'waiting' || FINAL_STATES.has(this.state)) return;
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

export function tokenFromLocation() {
  const m = /(?:^|[#&])token=([^&]+)/.exec(location.hash);
  return m ? decodeURIComponent(m[1]) : null;
}

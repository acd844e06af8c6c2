// The pre-call check (issue #8, check.html): camera, microphone and a short test of the link to the server over the
// real media path, with a plain-language verdict, before the room joins. Protocol: docs/protocol.md, "Equipment
// check" (hello with mode "precheck": the server verifies the token but admits nobody and tells nobody).
import { PROTOCOL_VERSION, SIMULCAST_ENCODINGS, optionsFromLocation, tokenFromLocation } from './consultbridge-client.js';
import { judgeLink } from './link-verdict.js';

const $ = (id) => document.getElementById(id);
const LINK_SECONDS = 9;          // publishing and sampling after the connection stands
const CONNECT_TIMEOUT_MS = 10000;
const MIC_SECONDS = 6;
const MIC_THRESHOLD = 0.02;      // RMS of the signal (about -34 dBFS): more than room noise through a muted input
const CAMERA_MEASURE_MS = 2000;

const STATE_TEXT = {
  idle: 'Bereit · Ready',
  checking: 'Prüfung läuft … · Checking …',
  done: 'Prüfung beendet · Check finished',
};
const VERDICT_TEXT = {
  good: 'Verbindung gut: Bild und Ton in guter Qualität. · Link good: video and sound in good quality.',
  fair: 'Verbindung mäßig: das Bild kann unscharf werden oder ruckeln, der Ton geht. · Link fair: video may be reduced, sound will work.',
  bad: 'Verbindung schlecht: wahrscheinlich nur Ton. · Link poor: audio only is likely.',
  failed: 'Keine Verbindung zum Medienserver: bitte die IT fragen (Firewall?). · No connection to the media server: please ask IT (firewall?).',
};

const options = optionsFromLocation();
const token = tokenFromLocation();
// what the page found, for support and tests
const result = {
  state: 'idle',
  camera: { state: 'pending' },
  microphone: { state: 'pending', peak: 0 },
  link: { state: 'pending' },
};
window.consultbridgePrecheck = result;

function setState(s) {
  result.state = s;
  $('state').textContent = STATE_TEXT[s] || s;
  $('state').dataset.state = s === 'done' ? 'connected' : s === 'checking' ? 'connecting' : 'idle';
}

function show(id, state, text) {
  $(id).dataset.state = state;
  $(id).textContent = text;
}

/** What getUserMedia's error means for the person in front of the kiosk. */
function deviceProblem(e, what) {
  const [de, en] = what === 'camera' ? ['Kamera', 'camera'] : ['Mikrofon', 'microphone'];
  if (e.name === 'NotAllowedError' || e.name === 'SecurityError') {
    return ['denied', `Zugriff auf ${de} verweigert: bitte im Browser erlauben. · Access to the ${en} was denied: please allow it in the browser.`];
  }
  if (e.name === 'NotFoundError' || e.name === 'OverconstrainedError') {
    return ['missing', `Kein(e) ${de} gefunden: bitte anschließen. · No ${en} found: please connect one.`];
  }
  if (e.name === 'NotReadableError') {
    return ['error', `${de} wird von einem anderen Programm benutzt. · The ${en} is in use by another program.`];
  }
  return ['error', `${de} nicht verfügbar · ${en} unavailable: ${e.message}`];
}

const VIDEO = { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } }; // as the room page asks
const AUDIO = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };

/** Camera and microphone; one missing or refused device does not hide the other. */
async function openDevices() {
  try {
    return await navigator.mediaDevices.getUserMedia({ video: VIDEO, audio: AUDIO });
  } catch (both) {
    const stream = new MediaStream();
    for (const [kind, constraints] of [['camera', { video: VIDEO }], ['microphone', { audio: AUDIO }]]) {
      try {
        (await navigator.mediaDevices.getUserMedia(constraints)).getTracks().forEach((t) => stream.addTrack(t));
      } catch (e) {
        const [state, text] = deviceProblem(e, kind);
        result[kind].state = state;
        result[kind].error = e.name;
        show(kind === 'camera' ? 'camera-result' : 'mic-result', state, text);
      }
    }
    return stream;
  }
}

/** The resolution and frame rate the camera actually delivers (frames painted in the preview). */
async function checkCamera(stream) {
  const track = stream.getVideoTracks()[0];
  if (!track) return;
  const video = $('preview');
  video.srcObject = stream;
  await video.play().catch(() => {});
  let frames = 0;
  const started = performance.now();
  if ('requestVideoFrameCallback' in video) {
    await new Promise((resolve) => {
      const count = () => {
        frames++;
        if (performance.now() - started < CAMERA_MEASURE_MS) video.requestVideoFrameCallback(count); else resolve();
      };
      video.requestVideoFrameCallback(count);
      setTimeout(resolve, CAMERA_MEASURE_MS + 1000); // no frame at all: resolve anyway
    });
  } else {
    await new Promise((r) => setTimeout(r, CAMERA_MEASURE_MS));
  }
  const elapsed = (performance.now() - started) / 1000;
  const s = track.getSettings();
  const measured = frames > 0 ? frames / elapsed : null;
  Object.assign(result.camera, {
    width: video.videoWidth || s.width || 0,
    height: video.videoHeight || s.height || 0,
    fps: measured !== null ? Math.round(measured * 10) / 10 : (s.frameRate || 0),
    fpsMeasured: measured !== null,
  });
  const c = result.camera;
  if (c.width === 0 || (c.fpsMeasured && c.fps < 1)) {
    c.state = 'error';
    show('camera-result', 'error', 'Die Kamera liefert kein Bild. · The camera delivers no picture.');
    return;
  }
  c.state = 'ok';
  const low = c.height < 360 || c.fps < 15 ? ' (niedrig · low)' : '';
  show('camera-result', 'ok', `Kamera geht: ${c.width}×${c.height}, ${c.fps.toFixed(0)} Bilder/s${low} · Camera works: ${c.width}×${c.height}, ${c.fps.toFixed(0)} fps${low}`);
}

/** A level meter (WebAudio AnalyserNode); "sound heard" once the level passes a small threshold. */
async function checkMicrophone(stream) {
  if (stream.getAudioTracks().length === 0) return;
  const AudioCtx = window.AudioContext || window.webkitAudioContext;
  const ctx = new AudioCtx();
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 1024;
  ctx.createMediaStreamSource(new MediaStream(stream.getAudioTracks())).connect(analyser);
  if (ctx.state === 'suspended') {
    await ctx.resume().catch(() => {});
    if (ctx.state === 'suspended') {
      // kiosks without autoplay permission: WebAudio waits for a touch
      show('mic-result', 'pending', 'Bitte einmal auf den Bildschirm tippen und sprechen. · Please tap the screen once and speak.');
      await new Promise((r) => document.addEventListener('pointerdown', () => ctx.resume().then(r, r), { once: true }));
      show('mic-result', 'pending', 'Bitte sprechen Sie kurz. · Please say a few words.');
    }
  }
  const samples = new Float32Array(analyser.fftSize);
  const mic = result.microphone;
  const deadline = performance.now() + MIC_SECONDS * 1000;
  await new Promise((resolve) => {
    const tick = setInterval(() => {
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const v of samples) sum += v * v;
      const rms = Math.sqrt(sum / samples.length);
      mic.peak = Math.max(mic.peak, rms);
      $('mic-level').value = Math.min(1, rms * 5);
      if (!mic.heard && rms > MIC_THRESHOLD) {
        mic.heard = true;
        mic.state = 'heard';
        show('mic-result', 'heard', 'Ton gehört: das Mikrofon geht. · Sound heard: the microphone works.');
      }
      if (performance.now() > deadline) {
        clearInterval(tick);
        resolve();
      }
    }, 50);
  });
  if (!mic.heard) {
    mic.state = 'silent';
    show('mic-result', 'silent', 'Nichts gehört: ist das Mikrofon stumm geschaltet? · Nothing heard: is the microphone muted?');
  }
  $('mic-level').value = 0;
  ctx.close().catch(() => {});
}

/** One signalling socket in precheck mode: welcome, publishAnswer and the end of the check. */
class PrecheckSocket {
  constructor() {
    this.nextId = 1;
    this.pending = new Map();
  }

  async open(seconds) {
    const proto = location.protocol === 'https:' ? 'wss' : 'ws';
    this.ws = new WebSocket(`${proto}://${location.host}/ws`);
    this.ws.onmessage = (e) => {
      const msg = JSON.parse(e.data);
      const p = msg.id !== undefined ? this.pending.get(msg.id) : null;
      if (p) {
        this.pending.delete(msg.id);
        if (msg.type === 'error') p.reject(Object.assign(new Error(msg.message), { code: msg.code }));
        else p.resolve(msg);
      } else if (msg.type === 'precheckEnded') {
        this.ended = msg;
      }
    };
    this.ws.onclose = (e) => {
      this.closeCode = e.code;
      for (const p of this.pending.values()) p.reject(new Error(`connection closed (${e.code})`));
      this.pending.clear();
    };
    await new Promise((resolve, reject) => {
      this.ws.onopen = resolve;
      this.ws.onerror = () => reject(new Error('cannot reach the server'));
    });
    const hello = { type: 'hello', version: PROTOCOL_VERSION, mode: 'precheck', seconds, token };
    if (options.consultationId) hello.consultationId = options.consultationId;
    return this.request(hello);
  }

  request(msg) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.ws.send(JSON.stringify({ ...msg, id }));
    });
  }

  close() {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify({ type: 'leave', id: this.nextId++ }));
      this.ws.close(1000, 'precheck done');
    }
  }
}

/** Figures of one getStats() of the publishing connection. */
function sample(stats) {
  const out = { rttMs: null, availableOutgoingBitrate: null, lost: 0, sent: 0, transport: null };
  let pair = null;
  stats.forEach((r) => {
    if (r.type === 'transport' && r.selectedCandidatePairId) pair = stats.get(r.selectedCandidatePairId);
  });
  if (!pair) stats.forEach((r) => { if (r.type === 'candidate-pair' && r.nominated && r.state === 'succeeded') pair = r; });
  if (pair) {
    if (pair.currentRoundTripTime !== undefined) out.rttMs = pair.currentRoundTripTime * 1000;
    if (pair.availableOutgoingBitrate !== undefined) out.availableOutgoingBitrate = pair.availableOutgoingBitrate;
    const local = stats.get(pair.localCandidateId);
    if (local) {
      out.transport = local.candidateType === 'relay'
        ? `relay-${local.relayProtocol || 'udp'}` : (local.protocol || 'udp');
      out.candidateType = local.candidateType;
    }
  }
  // loss the bridge reports back (RTCP receiver reports, RFC 3550 §6.4.1) against what we sent
  const sentBySsrc = new Map();
  stats.forEach((r) => { if (r.type === 'outbound-rtp') sentBySsrc.set(r.ssrc, r.packetsSent || 0); });
  stats.forEach((r) => {
    if (r.type === 'remote-inbound-rtp' && sentBySsrc.has(r.ssrc)) {
      out.lost += Math.max(0, r.packetsLost || 0);
      out.sent += sentBySsrc.get(r.ssrc);
      if (out.rttMs === null && r.roundTripTime !== undefined) out.rttMs = r.roundTripTime * 1000;
    }
  });
  return out;
}

const median = (xs) => {
  const s = xs.filter((x) => x !== null && Number.isFinite(x)).sort((a, b) => a - b);
  return s.length === 0 ? null : s[Math.floor(s.length / 2)];
};

const TRANSPORT_TEXT = {
  udp: 'UDP (direkt · direct)',
  tcp: 'TCP (UDP gesperrt? · UDP blocked?)',
  'relay-udp': 'TURN-Relais über UDP · TURN relay over UDP',
  'relay-tcp': 'TURN-Relais über TCP · TURN relay over TCP',
  'relay-tls': 'TURN-Relais über TLS · TURN relay over TLS',
};

/** The link test: publish camera and microphone to a private bridge endpoint, read what getStats() says. */
async function checkLink(stream) {
  const link = result.link;
  if (stream.getTracks().length === 0) {
    link.state = 'skipped';
    show('link-result', 'error', 'Ohne Kamera und Mikrofon kein Verbindungstest. · No connection test without camera and microphone.');
    return;
  }
  link.state = 'running';
  const socket = new PrecheckSocket();
  let pc = null;
  try {
    const welcome = await socket.open(20);
    pc = new RTCPeerConnection({
      iceServers: welcome.iceServers || [],
      iceTransportPolicy: options.forceRelay ? 'relay' : 'all',
      bundlePolicy: 'max-bundle',
      rtcpMuxPolicy: 'require',
    });
    for (const track of stream.getTracks()) {
      const init = { direction: 'sendonly', streams: [stream] };
      if (track.kind === 'video' && options.simulcast) init.sendEncodings = SIMULCAST_ENCODINGS;
      pc.addTransceiver(track, init);
    }
    await pc.setLocalDescription(await pc.createOffer());
    const answer = await socket.request({ type: 'publishOffer', sdp: pc.localDescription.sdp });
    await pc.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
    const connectStarted = performance.now();
    while (pc.connectionState !== 'connected') {
      if (pc.connectionState === 'failed' || performance.now() - connectStarted > CONNECT_TIMEOUT_MS) {
        throw Object.assign(new Error('no media connection'), { code: 'failed' });
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    link.connectMs = Math.round(performance.now() - connectStarted);
    const samples = [];
    for (let i = 0; i < LINK_SECONDS; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      if (socket.closeCode !== undefined) break; // the server ended the check (time limit)
      const s = sample(await pc.getStats());
      samples.push(s);
      showFigures(summarize(samples));
    }
    Object.assign(link, summarize(samples));
    link.verdict = judgeLink({ fractionLost: link.loss ?? 0, rttMs: link.rttMs ?? -1, estimateBps: link.uplinkBps ?? -1 });
    link.state = 'done';
    $('link-result').dataset.verdict = link.verdict;
    $('link-result').textContent = VERDICT_TEXT[link.verdict];
  } catch (e) {
    link.state = 'failed';
    link.error = e.code || e.message;
    link.verdict = e.code === 'failed' ? 'bad' : undefined;
    $('link-result').dataset.verdict = e.code === 'failed' ? 'bad' : 'unknown';
    $('link-result').textContent = e.code === 'failed' ? VERDICT_TEXT.failed
      : `Verbindungstest nicht möglich · Connection test not possible: ${e.code ? `${e.code}: ` : ''}${e.message}`;
  } finally {
    if (pc) pc.close();
    socket.close();
  }
}

/** RTT and uplink: medians of the last samples (the estimate settles after Chromium's first probes); loss overall. */
function summarize(samples) {
  const recent = samples.slice(-4);
  const last = samples[samples.length - 1] || {};
  const rtt = median(recent.map((s) => s.rttMs));
  const up = median(recent.map((s) => s.availableOutgoingBitrate));
  return {
    rttMs: rtt === null ? null : Math.round(rtt),
    uplinkBps: up === null ? null : Math.round(up),
    loss: last.sent > 0 ? last.lost / last.sent : null,
    packetsSent: last.sent || 0,
    transport: last.transport || null,
    candidateType: last.candidateType || null,
  };
}

function showFigures(f) {
  $('rtt').textContent = f.rttMs === null ? '–' : `${f.rttMs} ms`;
  $('loss').textContent = f.loss === null ? '–' : `${(f.loss * 100).toFixed(1)} %`;
  $('uplink').textContent = f.uplinkBps === null ? '–' : `${Math.round(f.uplinkBps / 1000)} kbit/s`;
  $('transport').textContent = f.transport ? (TRANSPORT_TEXT[f.transport] || f.transport) : '–';
}

let running = false;
async function run() {
  if (running) return;
  running = true;
  $('again').disabled = true;
  setState('checking');
  result.camera = { state: 'pending' };
  result.microphone = { state: 'pending', peak: 0 };
  result.link = { state: 'pending' };
  result.done = false;
  let stream = null;
  try {
    stream = await openDevices();
    if (stream.getVideoTracks().length > 0 || stream.getAudioTracks().length > 0) {
      // the three checks at once: the link test publishes the same tracks the preview shows
      await Promise.all([checkCamera(stream), checkMicrophone(stream), checkLink(stream)]);
    } else {
      await checkLink(stream);
    }
  } catch (e) {
    $('problem').textContent = e.message;
  } finally {
    if (stream) stream.getTracks().forEach((t) => t.stop());
    $('preview').srcObject = null;
    result.done = true;
    setState('done');
    running = false;
    $('again').disabled = false;
  }
}

function main() {
  // back to the consultation with the same invitation (token, consultation and options)
  $('continue').href = `/room.html${location.search}${location.hash}`;
  $('again').addEventListener('click', () => run());
  if (!token) {
    $('problem').textContent = 'Diese Seite braucht einen Einladungslink. · This page needs an invitation link (#token=...).';
    return;
  }
  run();
}

main();

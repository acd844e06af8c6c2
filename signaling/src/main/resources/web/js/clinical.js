// Issue #8 in the call pages: clinical profiles applied to our camera, the doctor's profile switch, and what every
// screen shows about end-to-end encryption (lock, state, verification code).
'use strict';

/**
 * Per profile: how our camera sender degrades (RTCRtpSendParameters.degradationPreference), the track's content
 * hint, and the simulcast encodings by rid (lowest first). balanced and motion keep 30 fps on every layer (motion
 * tells Chromium to drop resolution, never frames); detail gives the lower layers more pixels and fewer frames, so a
 * weak link shows a sharp 360p picture at 10 fps rather than a smooth but blurred 180p (dermatology).
 */
export const PROFILES = {
  balanced: {
    degradationPreference: 'balanced', contentHint: '',
    encodings: { q: [4, 30, 150000], h: [2, 30, 500000], f: [1, 30, 1500000] },
  },
  motion: {
    degradationPreference: 'maintain-framerate', contentHint: 'motion',
    encodings: { q: [4, 30, 150000], h: [2, 30, 500000], f: [1, 30, 1500000] },
  },
  detail: {
    degradationPreference: 'maintain-resolution', contentHint: 'detail',
    encodings: { q: [2, 10, 150000], h: [1.5, 15, 450000], f: [1, 30, 1500000] },
  },
};

const PROFILE_TEXT = {
  balanced: 'Ausgewogen · Balanced',
  motion: 'Bewegung (Neurologie) · Motion (neurology)',
  detail: 'Detail (Dermatologie) · Detail (dermatology)',
};

/** Applies the consultation's profile to our camera whenever the server tells us one. */
export class ProfileApplier {
  constructor(client) {
    this.client = client;
    this.profile = null;
    this.applied = null;
    this.chain = Promise.resolve();
    client.messageHooks.push((msg) => { if (msg.type === 'profile') this.set(msg.profile); });
    client.addEventListener('welcome', (e) => this.set(e.detail.profile || 'balanced'));
  }

  set(profile) {
    if (!PROFILES[profile]) return;
    this.profile = profile;
    this.client.dispatchEvent(new CustomEvent('profile', { detail: profile }));
    this.chain = this.chain.then(() => this.apply()).catch((e) => console.warn('profile', e));
  }

  /** Call once publishing has started (the sender's encodings exist from then on). */
  ready() {
    this.chain = this.chain.then(() => this.apply()).catch((e) => console.warn('profile', e));
    return this.chain;
  }

  async apply() {
    const pc = this.client.publishPc;
    const profile = this.profile;
    if (!pc || !profile) return;
    const spec = PROFILES[profile];
    const sender = pc.getSenders().find((s) => s.track && s.track.kind === 'video');
    if (!sender) return;
    if ('contentHint' in sender.track) sender.track.contentHint = spec.contentHint;
    const params = sender.getParameters();
    for (const e of params.encodings || []) {
      const enc = e.rid && spec.encodings[e.rid];
      if (!enc) continue;
      [e.scaleResolutionDownBy, e.maxFramerate, e.maxBitrate] = enc;
    }
    params.degradationPreference = spec.degradationPreference;
    try {
      await sender.setParameters(params);
    } catch (err) {
      // a browser that does not take degradationPreference: the encodings and the content hint still apply
      const again = sender.getParameters();
      for (const e of again.encodings || []) {
        const enc = e.rid && spec.encodings[e.rid];
        if (enc) [e.scaleResolutionDownBy, e.maxFramerate, e.maxBitrate] = enc;
      }
      await sender.setParameters(again);
    }
    this.applied = profile;
    this.client.dispatchEvent(new CustomEvent('profileApplied', { detail: profile }));
  }
}

const LOCK_SVG = '<svg class="icon" viewBox="0 0 24 24" aria-hidden="true"><path fill="currentColor" d="M12 2a5 5 0 0 0-5 5v3H6a2 2 0 0 0-2 2v8a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2v-8a2 2 0 0 0-2-2h-1V7a5 5 0 0 0-5-5zm-3 8V7a3 3 0 0 1 6 0v3H9z"/></svg>';
const OPEN_SVG = '<svg class="icon" viewBox="0 0 24 24" aria-hidden="true"><path fill="currentColor" d="M17 10V7a5 5 0 0 0-9.9-1h2.1A3 3 0 0 1 15 7v3H6a2 2 0 0 0-2 2v8a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2v-8a2 2 0 0 0-2-2h-1z"/></svg>';
const E2EE_TEXT = {
  on: 'Ende-zu-Ende-verschlüsselt · End-to-end encrypted',
  off: 'Nicht Ende-zu-Ende-verschlüsselt (Server-Einstellung) · Not end-to-end encrypted (server setting)',
  disabled: 'Verschlüsselung für Diagnose aus · End-to-end encryption off for diagnosis',
  unsupported: 'Browser kann nicht Ende-zu-Ende verschlüsseln · Browser cannot encrypt end to end',
};

/**
 * The encryption badge in the page header (every page) and the profile control (a select for doctors, a label
 * for the others).
 */
export function mountClinicalUi(client, e2ee, profiles, options = {}) {
  const header = document.querySelector('header');
  const badge = document.createElement('span');
  badge.id = 'e2ee';
  badge.className = 'e2ee';
  badge.setAttribute('role', 'status');
  badge.innerHTML = `${OPEN_SVG}<span class="e2ee-text"></span> <span id="e2ee-code" class="e2ee-code"></span>`;
  header.append(badge);
  const render = () => {
    const state = e2ee.state === 'on' ? 'on' : e2ee.state;
    badge.dataset.state = state;
    badge.querySelector('svg').outerHTML = state === 'on' ? LOCK_SVG : OPEN_SVG;
    badge.querySelector('.e2ee-text').textContent = E2EE_TEXT[state] || '';
    const code = badge.querySelector('#e2ee-code');
    code.textContent = state === 'on' && e2ee.verificationCode
      ? `Sicherheitscode · Safety code: ${e2ee.verificationCode} (${e2ee.participantsInCode} Schlüssel · keys)` : '';
    badge.title = state === 'on'
      ? 'Vergleichen Sie den Code laut mit allen Teilnehmenden: gleicher Code und so viele Schlüssel wie Personen = '
        + 'niemand dazwischen. · Compare the code aloud with everyone: the same code, and as many keys as people in '
        + 'the call, means nobody is in between.'
      : '';
    if (state === 'on' && options.videoCodec && options.videoCodec.toLowerCase() !== 'vp8') {
      badge.title += ` (${options.videoCodec}: nicht mit Verschlüsselung, VP8 genutzt · not with encryption, VP8 used)`;
    }
  };
  e2ee.addEventListener('state', render);
  e2ee.addEventListener('code', render);
  e2ee.addEventListener('problem', (e) => { const p = document.getElementById('problem'); if (p) p.textContent = e.detail; });
  render();

  const wrap = document.createElement('span');
  wrap.className = 'profile';
  header.append(wrap);
  client.addEventListener('profile', () => {
    const select = document.getElementById('profile');
    if (select) select.value = profiles.profile;
    const label = document.getElementById('profile-label');
    if (label) label.textContent = `Profil · Profile: ${PROFILE_TEXT[profiles.profile] || profiles.profile}`;
  });
  return {
    /** After the welcome: doctors get a select, the others a label. */
    joined(role) {
      if (role === 'doctor') {
        wrap.innerHTML = '<label>Profil · Profile <select id="profile"></select></label>';
        const select = wrap.querySelector('select');
        for (const [value, text] of Object.entries(PROFILE_TEXT)) select.append(new Option(text, value));
        select.value = profiles.profile || 'balanced';
        select.addEventListener('change', () => {
          client.request({ type: 'setProfile', profile: select.value })
            .catch((e) => { document.getElementById('problem').textContent = `${e.code}: ${e.message}`; });
        });
      } else {
        wrap.innerHTML = '<span id="profile-label"></span>';
        wrap.querySelector('span').textContent = `Profil · Profile: ${PROFILE_TEXT[profiles.profile] || ''}`;
      }
    },
  };
}

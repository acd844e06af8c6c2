// The waiting room on the call pages (issue #7, docs/protocol.md "Waiting room").
// Rooms and guests see why they wait; doctors and staff see who waits, with Admit and Decline, a Remove button per
// participant, and (doctors) End consultation. Notices are visual only: never a sound, so that nothing disturbs a
// consultation that is going on.

const ROLE_TEXT = { doctor: 'Arzt/Ärztin · Doctor', staff: 'Praxisteam · Staff', room: 'Telemedizin-Raum · Room', guest: 'Gast · Guest' };

export const ADMISSION_STATE_TEXT = {
  waiting: 'Wartezimmer · Waiting room',
  declined: 'Nicht eingelassen · Not admitted',
  removed: 'Entfernt · Removed',
  ended: 'Sprechstunde beendet · Consultation ended',
};

const NOTICE = {
  waitingForDoctor: 'Warten auf die Ärztin / den Arzt … · Waiting for the doctor …',
  waitingToBeAdmitted: 'Bitte warten Sie: Sie werden gleich hereingelassen. · Please wait: the doctor will admit you shortly.',
  declined: 'Sie wurden nicht eingelassen. · You were not admitted to this consultation.',
  removed: 'Sie wurden aus der Sprechstunde entfernt. · You were removed from the consultation.',
  ended: 'Die Sprechstunde ist beendet. · The consultation has ended.',
};

const mayAdmit = (role) => role === 'doctor' || role === 'staff';

function element(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  Object.assign(el, props);
  el.append(...children);
  return el;
}

/** Buttons for one participant in the participants list: Remove, when our role may remove theirs. */
export function participantActions(client, p) {
  const me = client.self && client.self.role;
  const allowed = me === 'doctor' || (me === 'staff' && (p.role === 'room' || p.role === 'guest'));
  if (!allowed || !client.self || p.participantId === client.self.participantId) return [];
  const button = element('button', { type: 'button', className: 'remove', textContent: 'Entfernen · Remove' });
  button.dataset.target = p.participantId; // not data-participant: that names video tiles
  button.addEventListener('click', () => {
    button.disabled = true;
    client.remove(p.participantId).catch((e) => { button.disabled = false; showProblem(e); });
  });
  return [button];
}

function showProblem(e) {
  const el = document.getElementById('problem');
  if (el) el.textContent = e.code ? `${e.code}: ${e.message}` : e.message;
}

export function bindWaitingRoom(client) {
  const title = document.title;

  // rooms and guests: why they wait, and how it ended
  const notice = element('p', { id: 'admission', className: 'admission', hidden: true });
  notice.setAttribute('role', 'status');
  notice.setAttribute('aria-live', 'polite');
  (document.querySelector('main') || document.body).append(notice);
  function renderNotice() {
    const s = client.state;
    let text = '';
    if (s === 'waiting') text = client.doctorPresent ? NOTICE.waitingToBeAdmitted : NOTICE.waitingForDoctor;
    else if (NOTICE[s]) text = NOTICE[s];
    notice.textContent = text;
    notice.hidden = !text;
    notice.dataset.state = s;
    const other = document.getElementById('waiting'); // "the doctor will join shortly" of the room page
    if (other && text) other.hidden = true;
  }
  client.addEventListener('state', renderNotice);
  client.addEventListener('waiting', renderNotice);

  // doctors and staff: who waits
  const list = element('ul', { id: 'waiting-list', className: 'waiting-list' });
  const section = element('section', { id: 'waiting-room', className: 'waiting-room', hidden: true },
    element('h2', { textContent: 'Wartezimmer · Waiting room' }), list);
  const side = document.querySelector('aside.side');
  if (side) side.prepend(section); else (document.querySelector('main') || document.body).append(section);
  function renderList() {
    if (!client.self || !mayAdmit(client.self.role)) return;
    section.hidden = false;
    section.classList.toggle('has-waiting', client.waiting.length > 0);
    // visual only: a count in the tab title and a highlighted list, no sound
    document.title = client.waiting.length > 0 ? `(${client.waiting.length}) ${title}` : title;
    if (client.waiting.length === 0) {
      list.replaceChildren(element('li', { className: 'empty', textContent: 'Niemand wartet · Nobody is waiting' }));
      return;
    }
    list.replaceChildren(...client.waiting.map((w) => {
      const since = new Date(w.since).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
      const admit = element('button', { type: 'button', className: 'admit', textContent: 'Einlassen · Admit' });
      const decline = element('button', { type: 'button', className: 'decline', textContent: 'Ablehnen · Decline' });
      for (const [b, act] of [[admit, 'admit'], [decline, 'decline']]) {
        b.dataset.target = w.participantId;
        b.addEventListener('click', () => {
          admit.disabled = true;
          decline.disabled = true;
          client[act](w.participantId).catch(showProblem);
        });
      }
      const li = element('li', {}, element('span', { className: 'who', textContent: `${w.displayName} (${ROLE_TEXT[w.role] || w.role}) · ${since}` }), admit, decline);
      li.dataset.waiting = w.participantId;
      return li;
    }));
  }
  client.addEventListener('waitingRoom', renderList);
  client.addEventListener('state', renderList);

  // doctors: end the consultation for everyone (a second click confirms; no modal dialog)
  const controls = document.querySelector('footer.controls');
  const end = element('button', { type: 'button', id: 'end-consultation', className: 'leave end', hidden: true,
    textContent: 'Sprechstunde beenden · End consultation' });
  if (controls) controls.append(end);
  let armed = null;
  end.addEventListener('click', () => {
    if (!armed) {
      end.textContent = 'Wirklich für alle beenden? · Really end for everyone?';
      armed = setTimeout(() => { armed = null; end.textContent = 'Sprechstunde beenden · End consultation'; }, 5000);
      return;
    }
    clearTimeout(armed);
    end.disabled = true;
    client.endConsultation().catch((e) => { end.disabled = false; showProblem(e); });
  });
  client.addEventListener('state', () => {
    end.hidden = !(client.self && client.self.role === 'doctor') || ['declined', 'removed', 'ended', 'left'].includes(client.state);
    if (['declined', 'removed', 'ended'].includes(client.state)) {
      section.hidden = true;
      document.title = title;
    }
  });
}

// Landing page: in demo mode, mints tokens with /api/demo-token and shows links for a new consultation.
const $ = (id) => document.getElementById(id);

async function token(role, consultation, name) {
  const q = new URLSearchParams({ role, consultation, name });
  const r = await fetch(`/api/demo-token?${q}`, { method: 'POST' });
  if (!r.ok) throw new Error(`demo tokens unavailable (${r.status})`);
  return (await r.json()).token;
}

async function init() {
  // the endpoint exists only in demo mode: probe it with a harmless bad request
  const probe = await fetch('/api/demo-token', { method: 'POST' });
  if (probe.status !== 400) return;
  $('demo').hidden = false;
  $('consultation').value = `demo-${Math.random().toString(36).slice(2, 8)}`;
  $('demo-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const c = $('consultation').value;
    const links = [
      ['Doctor', 'doctor', 'Dr. Demo'], ['Telemedicine room', 'room', 'Room Demo'], ['Guest', 'guest', 'Guest Demo'],
      ['Practice staff', 'staff', 'Staff Demo'],
    ];
    const items = [];
    for (const [label, role, name] of links) {
      const t = await token(role, c, name);
      const li = document.createElement('li');
      const a = document.createElement('a');
      a.href = `/${role}.html#token=${encodeURIComponent(t)}`;
      a.target = '_blank';
      a.textContent = `${label} (${c})`;
      li.append(a);
      items.push(li);
    }
    $('links').replaceChildren(...items);
  });
}

init();

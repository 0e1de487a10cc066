// Gives a fresh panel something to show: registers two media servers through the API and
// pushes two hours of 30-second ingest reports for them (back-filled, ending now), with viewers
// from several countries, protocols and players joining and leaving.
//
//   TALLY_URL=… TALLY_EMAIL=… TALLY_PASSWORD=… node tests/browser/seed.mjs

const base = (process.env.TALLY_URL ?? '').replace(/\/+$/, '');
const email = process.env.TALLY_EMAIL ?? '';
const password = process.env.TALLY_PASSWORD ?? '';
const hours = Number(process.env.TALLY_SEED_HOURS ?? 2);
if (!base || !email || !password) {
  console.error('Set TALLY_URL, TALLY_EMAIL and TALLY_PASSWORD.');
  process.exit(2);
}

// Public addresses from well-known networks in different countries. They are only looked up
// in the panel's own GeoIP database; nothing contacts them.
const ADDRESSES = [
  '81.2.69.142',
  '8.8.8.8',
  '1.1.1.1',
  '200.147.67.142',
  '133.242.0.1',
  '85.214.132.117',
  '49.44.0.1',
  '196.25.1.1',
  '77.88.8.8',
  '91.198.174.192',
  '212.58.244.20',
  '17.253.144.10',
  '104.16.0.1',
  '2a00:1450:4001::1',
];
const PLAYERS = [
  'VLC/3.0.18 LibVLC/3.0.18',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
  'Lavf/60.3.100',
  'AppleCoreMedia/1.0.0.21E236 (iPhone; U; CPU OS 17_4 like Mac OS X; en_us)',
];
const STREAMS = [
  { app: 'live', stream: 'news', weight: 5, kbps: 4500 },
  { app: 'live', stream: 'sport', weight: 3, kbps: 6000 },
  { app: 'radio', stream: 'jazz', weight: 1, kbps: 192 },
];

let token = '';

async function api(method, path, body, auth = token) {
  const res = await fetch(`${base}/api/v1${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(auth ? { authorization: `Bearer ${auth}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

// A small deterministic generator, so every run seeds the same audience.
let state = 42;
function random() {
  state = (state * 1103515245 + 12345) % 2147483648;
  return state / 2147483648;
}
const pick = (list) => list[Math.floor(random() * list.length)];

({ token } = await api('POST', '/auth/login', { email, password }, ''));
const servers = [];
for (const [name, software] of [
  ['edge-1', 'nginx-rtmp'],
  ['edge-2', 'nginx-rtmp'],
]) {
  const created = await api('POST', '/servers', { name });
  servers.push({ ...created, software, sessions: new Map(), seq: 0 });
}

const interval = 30;
const now = Math.floor(Date.now() / 1000);
const start = now - hours * 3600;
let accepted = 0;

for (let t = start + interval; t <= now; t += interval) {
  const phase = (t - start) / (hours * 3600);
  for (const server of servers) {
    // The audience grows through the window, with some noise.
    const target = Math.round(8 + 22 * phase + random() * 6);
    for (const [id, s] of server.sessions) {
      if (random() < 0.04) s.ended = true;
      else s.seconds += interval;
      if (s.reported && s.ended) server.sessions.delete(id);
    }
    while ([...server.sessions.values()].filter((s) => !s.ended).length < target) {
      const id = `${server.name}-${server.seq++}`;
      const weights = STREAMS.flatMap((s) => Array(s.weight).fill(s));
      server.sessions.set(id, {
        stream: pick(weights),
        ip: pick(ADDRESSES),
        ua: pick(PLAYERS),
        protocol: pick(['hls', 'hls', 'rtmp', 'dash']),
        seconds: Math.floor(random() * interval) + 1,
        ended: false,
        reported: false,
      });
    }
    const streams = STREAMS.map((st) => ({
      vhost: '_defaultVHost_',
      app: st.app,
      instance: '_definst_',
      stream: st.stream,
      protocol: 'rtmp',
      publishing: true,
      ingress_bytes: (st.kbps * 1000 * interval) / 8,
      ingress_kbps: st.kbps,
      viewers: [...server.sessions.entries()]
        .filter(([, s]) => s.stream === st)
        .map(([session, s]) => {
          s.reported = true;
          return {
            session,
            ip: s.ip,
            user_agent: s.ua,
            protocol: s.protocol,
            bytes: Math.round((st.kbps * 1000 * Math.min(interval, s.seconds)) / 8),
            seconds: s.seconds,
            ended: s.ended,
          };
        }),
    }));
    const report = {
      report_id: `${server.name}-${t}`,
      time: t,
      interval_s: interval,
      server: { name: server.name, software: server.software, version: '1.2.2', ips: ['192.0.2.10'] },
      host: {
        cpu_pct: Math.round((18 + 40 * phase + random() * 10) * 10) / 10,
        ram_used_bytes: Math.round((2.5 + 2 * phase) * 2 ** 30),
        ram_total_bytes: 8 * 2 ** 30,
        net_in_bytes: 40_000_000,
        net_out_bytes: 600_000_000,
      },
      streams,
    };
    await api('POST', '/ingest', report, server.ingest_token);
    accepted += 1;
  }
}
console.log(`seeded ${servers.length} servers with ${accepted} reports over ${hours} h`);

// N concurrent POSTs with Node's built-in fetch (undici), as an application
// would send them: undici opens a socket per concurrent request and keeps
// each alive and idle for about 4 s after its answer.
// Usage: node node_fetch.mjs URL N
// Prints one JSON line {ok, failed, ms, errors}; exits 0 when all N were
// answered 200 with their own body echoed.
const url = process.argv[2];
const n = Number(process.argv[3] ?? 200);

const one = async (i) => {
  const body = `request-${i}`;
  const r = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'text/plain' } });
  const text = await r.text();
  if (r.status !== 200 || text !== body) throw new Error(`#${i}: ${r.status} ${text.slice(0, 80)}`);
};

const started = performance.now();
const results = await Promise.allSettled(Array.from({ length: n }, (_, i) => one(i)));
const ms = performance.now() - started;
const errors = results.filter((r) => r.status === 'rejected').map((r) => String(r.reason));
console.log(JSON.stringify({ ok: n - errors.length, failed: errors.length, ms, errors: errors.slice(0, 5) }));
// Undici's idle sockets would keep the process alive for seconds: leave now.
process.exit(errors.length === 0 ? 0 : 1);

// Drives one WebSocket session with the npm `ws` library, for tpp's
// websocket integration test: connects (without credentials: tpp adds the
// token), checks that a text and a binary message come back unchanged and
// that a ping is answered, then closes from the side --close names
// ("client": this script sends the close frame; "server": it asks the
// emulator to close first). Prints one JSON line with what it saw and exits
// 0 when every check held, 1 when one failed, 2 on timeout.
//
//   node ws_client.js --url ws://127.0.0.1:8080/ --close client|server
'use strict';
const WebSocket = require('ws');

function arg(name, fallback) {
  const i = process.argv.indexOf('--' + name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const url = arg('url');
const closeSide = arg('close', 'client');
const seen = { opened: false, text: null, binary_ok: false, pong: null, close_code: null,
               closed_by: closeSide, errors: [] };

const timer = setTimeout(() => {
  seen.errors.push('timed out');
  console.log(JSON.stringify(seen));
  process.exit(2);
}, 15000);

const ws = new WebSocket(url);
// Events arrive in order on one connection; each step waits for its answer.
let step = 'text';
const binary = Buffer.alloc(100 * 1024);
for (let i = 0; i < binary.length; ++i) binary[i] = (i * 7 + 3) & 0xff;

ws.on('open', () => {
  seen.opened = true;
  ws.send('hello through tpp');
});

ws.on('message', (data, isBinary) => {
  if (step === 'text') {
    if (isBinary) seen.errors.push('text came back binary');
    seen.text = data.toString();
    step = 'binary';
    ws.send(binary);
  } else if (step === 'binary') {
    seen.binary_ok = isBinary && Buffer.compare(Buffer.from(data), binary) === 0;
    step = 'ping';
    ws.ping('are-you-there');
  } else {
    seen.errors.push('unexpected message in step ' + step);
  }
});

ws.on('pong', (data) => {
  seen.pong = data.toString();
  step = 'close';
  if (closeSide === 'server') {
    ws.send('__emulator_close__');
  } else {
    ws.close(1000, 'client done');
  }
});

// With this handler `ws` leaves the refused request to us: report and stop.
ws.on('unexpected-response', (req, res) => {
  seen.errors.push('upgrade refused: HTTP ' + res.statusCode);
  clearTimeout(timer);
  console.log(JSON.stringify(seen));
  process.exit(1);
});

ws.on('error', (e) => seen.errors.push(String(e.message || e)));

ws.on('close', (code) => {
  seen.close_code = code;
  clearTimeout(timer);
  const ok = seen.opened && seen.text === 'hello through tpp' && seen.binary_ok &&
             seen.pong === 'are-you-there' && code === 1000 && seen.errors.length === 0;
  console.log(JSON.stringify(seen));
  process.exit(ok ? 0 : 1);
});

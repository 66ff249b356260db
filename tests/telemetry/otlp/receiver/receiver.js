'use strict';
// Test-only OTLP receiver for tpp's otlp_tests (tests/telemetry/otlp/).
//
// Listens on 127.0.0.1 ephemeral ports for OTLP/HTTP (POST /v1/traces and
// /v1/metrics, application/x-protobuf or application/json) and OTLP/gRPC
// (TraceService/Export, MetricsService/Export). Every request is decoded with
// the protobuf code generated from the official opentelemetry-proto schema
// that @opentelemetry/otlp-transformer ships, and appended to --out as one
// JSON line: {transport, signal, headers, errors, request}, where request is
// the decoded message (ids as lower-case hex, 64-bit integers as strings,
// enums as numbers) and errors lists what did not follow the OTLP encoding.
//
// Usage: node receiver.js --out FILE --port-file FILE
// The port file is written (atomically) once both servers listen:
// {"http": <port>, "grpc": <port>}. Runs until killed.

const fs = require('fs');
const http = require('http');
const grpc = require('@grpc/grpc-js');
const root = require('@opentelemetry/otlp-transformer/build/src/generated/root');

const otlp = root.opentelemetry.proto;
const TraceReq = otlp.collector.trace.v1.ExportTraceServiceRequest;
const TraceResp = otlp.collector.trace.v1.ExportTraceServiceResponse;
const MetricsReq = otlp.collector.metrics.v1.ExportMetricsServiceRequest;
const MetricsResp = otlp.collector.metrics.v1.ExportMetricsServiceResponse;

function arg(name) {
  const i = process.argv.indexOf(name);
  if (i < 0 || i + 1 >= process.argv.length) {
    console.error(`receiver: missing ${name}`);
    process.exit(2);
  }
  return process.argv[i + 1];
}
const outFile = arg('--out');
const portFile = arg('--port-file');

const ID_LENGTHS = { traceId: 32, spanId: 16, parentSpanId: 16 };

// Decoded message -> plain JSON: bytes as hex, longs as strings, enums as numbers.
function normalize(type, msg) {
  const obj = type.toObject(msg, { longs: String, enums: Number, bytes: Array, defaults: false });
  const walk = (v) => {
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') {
      const out = {};
      for (const [k, x] of Object.entries(v)) {
        if (k in ID_LENGTHS && Array.isArray(x)) out[k] = Buffer.from(x).toString('hex');
        else out[k] = walk(x);
      }
      return out;
    }
    return v;
  };
  return walk(obj);
}

function isMessage(v) {
  return v !== null && typeof v === 'object' && !(v instanceof Uint8Array) &&
    !Array.isArray(v) && Object.getPrototypeOf(v) !== Object.prototype;
}

// OTLP/JSON checks the generated decoder does not make: field names known to
// the schema (lowerCamelCase), ids as hex of the right length, 64-bit integers
// as strings. Converts the hex ids to base64 in place for fromObject().
function prepareJson(json, path, errors) {
  if (Array.isArray(json)) {
    json.forEach((e, i) => prepareJson(e, `${path}[${i}]`, errors));
    return;
  }
  if (!json || typeof json !== 'object') return;
  for (const [k, v] of Object.entries(json)) {
    if (k in ID_LENGTHS) {
      if (typeof v !== 'string' || !/^[0-9a-f]*$/.test(v) || (v.length !== 0 && v.length !== ID_LENGTHS[k])) {
        errors.push(`${path}.${k}: not a ${ID_LENGTHS[k]}-digit lower-case hex id: ${JSON.stringify(v)}`);
      } else {
        json[k] = Buffer.from(v, 'hex').toString('base64');
      }
      continue;
    }
    if (/UnixNano$/.test(k) || k === 'count' || k === 'intValue' || k === 'asInt') {
      if (typeof v !== 'string') errors.push(`${path}.${k}: 64-bit integer not encoded as a string`);
    }
    if (k === 'bucketCounts' && Array.isArray(v) && v.some((x) => typeof x !== 'string')) {
      errors.push(`${path}.${k}: 64-bit integers not encoded as strings`);
    }
    prepareJson(v, `${path}.${k}`, errors);
  }
}

// Every JSON key must be a field of the message it sits in.
function checkKnownFields(json, msg, path, errors) {
  if (!json || typeof json !== 'object' || !isMessage(msg)) return;
  for (const [k, v] of Object.entries(json)) {
    if (!(k in msg)) {
      errors.push(`${path}: unknown field "${k}" for ${msg.constructor && msg.constructor.name}`);
      continue;
    }
    const child = msg[k];
    if (Array.isArray(v) && Array.isArray(child)) {
      v.forEach((e, i) => checkKnownFields(e, child[i], `${path}.${k}[${i}]`, errors));
    } else if (v && typeof v === 'object' && !Array.isArray(v)) {
      checkKnownFields(v, child, `${path}.${k}`, errors);
    }
  }
}

function record(entry) {
  fs.appendFileSync(outFile, JSON.stringify(entry) + '\n');
}

function interestingHeaders(h) {
  const out = {};
  for (const [k, v] of Object.entries(h)) if (k.startsWith('x-tpp-')) out[k] = String(v);
  return out;
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const signal = req.url === '/v1/traces' ? 'traces' : req.url === '/v1/metrics' ? 'metrics' : null;
    const ctype = (req.headers['content-type'] || '').split(';')[0].trim();
    const errors = [];
    if (req.method !== 'POST' || !signal) {
      record({ transport: 'http', signal: null, path: req.url, errors: [`unexpected ${req.method} ${req.url}`] });
      res.writeHead(404).end();
      return;
    }
    const [Req, Resp] = signal === 'traces' ? [TraceReq, TraceResp] : [MetricsReq, MetricsResp];
    let msg;
    let transport;
    try {
      if (ctype === 'application/x-protobuf') {
        transport = 'http/protobuf';
        msg = Req.decode(body);
      } else if (ctype === 'application/json') {
        transport = 'http/json';
        const json = JSON.parse(body.toString('utf8'));
        prepareJson(json, '$', errors);
        msg = Req.fromObject(json);
        checkKnownFields(json, msg, '$', errors);
        const verr = Req.verify(msg);
        if (verr) errors.push(`verify: ${verr}`);
      } else {
        throw new Error(`unexpected content-type ${ctype}`);
      }
    } catch (e) {
      record({ transport: transport || 'http', signal, errors: [`decode failed: ${e.message}`] });
      res.writeHead(400).end();
      return;
    }
    record({ transport, signal, path: req.url, headers: interestingHeaders(req.headers), errors,
      request: normalize(Req, msg) });
    if (transport === 'http/json') {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    } else {
      res.writeHead(200, { 'Content-Type': 'application/x-protobuf' })
        .end(Buffer.from(Resp.encode(Resp.create({})).finish()));
    }
  });
});

function unary(path, Req, Resp) {
  return {
    path,
    requestStream: false,
    responseStream: false,
    requestSerialize: (m) => Buffer.from(Req.encode(m).finish()),
    requestDeserialize: (b) => Req.decode(b),
    responseSerialize: (m) => Buffer.from(Resp.encode(m).finish()),
    responseDeserialize: (b) => Resp.decode(b),
  };
}

function grpcHandler(signal, Req, Resp) {
  return (call, callback) => {
    const headers = {};
    for (const [k, v] of Object.entries(call.metadata.getMap())) if (k.startsWith('x-tpp-')) headers[k] = String(v);
    record({ transport: 'grpc', signal, headers, errors: [], request: normalize(Req, call.request) });
    callback(null, Resp.create({}));
  };
}

const grpcServer = new grpc.Server();
grpcServer.addService(
  { Export: unary('/opentelemetry.proto.collector.trace.v1.TraceService/Export', TraceReq, TraceResp) },
  { Export: grpcHandler('traces', TraceReq, TraceResp) });
grpcServer.addService(
  { Export: unary('/opentelemetry.proto.collector.metrics.v1.MetricsService/Export', MetricsReq, MetricsResp) },
  { Export: grpcHandler('metrics', MetricsReq, MetricsResp) });

server.listen(0, '127.0.0.1', () => {
  const httpPort = server.address().port;
  grpcServer.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, grpcPort) => {
    if (err) {
      console.error(`receiver: gRPC bind failed: ${err.message}`);
      process.exit(1);
    }
    fs.writeFileSync(portFile + '.tmp', JSON.stringify({ http: httpPort, grpc: grpcPort }));
    fs.renameSync(portFile + '.tmp', portFile);
  });
});

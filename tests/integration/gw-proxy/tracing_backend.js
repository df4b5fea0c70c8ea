// The backend of tests/integration/gw-proxy/tracing.sh with the official OpenTelemetry JS SDK
// as its tracer: W3CTraceContextPropagator extracts the context gw-proxy sent, a SERVER span is
// started in it and exported (OTLP/HTTP JSON) before the answer goes out. As tracing_backend.py:
// the first request of each trace gets 503, later ones 200; the body echoes the traceparent and
// tracestate fields received.
//
//   NODE_PATH=.../node_modules node tracing_backend.js OTLP_URL PORT_FILE
const fs = require('fs');
const http = require('http');
const api = require('@opentelemetry/api');
const { W3CTraceContextPropagator } = require('@opentelemetry/core');
const { BasicTracerProvider, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http');
const { resourceFromAttributes } = require('@opentelemetry/resources');

const [url, portFile] = process.argv.slice(2);
const provider = new BasicTracerProvider({
  resource: resourceFromAttributes({ 'service.name': 'backend-js' }),
  spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url }))],
});
const tracer = provider.getTracer('tracing_backend.js');
const propagator = new W3CTraceContextPropagator();
const getter = {
  keys: (h) => Object.keys(h),
  get: (h, k) => h[k],
};
const seen = new Set();

const server = http.createServer(async (req, res) => {
  const parent = propagator.extract(api.ROOT_CONTEXT, req.headers, getter);
  const span = tracer.startSpan('GET ' + req.url, { kind: api.SpanKind.SERVER }, parent);
  const traceId = span.spanContext().traceId;
  let status = 200;
  if (api.trace.getSpanContext(parent) && !seen.has(traceId)) {
    if (seen.size > 100000) seen.clear();
    seen.add(traceId);
    status = 503;
  }
  span.setAttribute('http.response.status_code', status);
  span.end();
  await provider.forceFlush();
  const tp = req.headersDistinct['traceparent'] || [];
  const ts = req.headersDistinct['tracestate'] || [];
  const body = JSON.stringify({ traceparent: tp, tracestate: ts });
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
});
server.listen(0, '127.0.0.1', () => {
  fs.writeFileSync(portFile + '.tmp', String(server.address().port));
  fs.renameSync(portFile + '.tmp', portFile);
});

// Spans made and exported by the official OpenTelemetry JavaScript SDK, the real peer of
// tracecat's OTLP/HTTP receiver: BasicTracerProvider + BatchSpanProcessor + OTLPTraceExporter
// (JSON over HTTP, or protobuf over HTTP), uncompressed or with gzip.
//
//   node otel_client.js URL [gzip|proto|proto-gzip]       (URL: http://127.0.0.1:PORT/v1/traces)
// Prints the trace id it made.
const api = require('@opentelemetry/api');
const { BasicTracerProvider, BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http');
const { OTLPTraceExporter: OTLPProtoExporter } = require('@opentelemetry/exporter-trace-otlp-proto');
const { resourceFromAttributes } = require('@opentelemetry/resources');

async function main() {
  const [url, compression] = process.argv.slice(2);
  const proto = compression === 'proto' || compression === 'proto-gzip';
  const gzip = compression === 'gzip' || compression === 'proto-gzip';
  const Exporter = proto ? OTLPProtoExporter : OTLPTraceExporter;
  const exporter = new Exporter({ url, compression: gzip ? 'gzip' : 'none' });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'shop', 'deployment.environment': 'test' }),
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('shop-tests', '1.2.3');
  const t0 = Date.now() - 1000;
  const root = tracer.startSpan('POST /checkout', {
    kind: api.SpanKind.SERVER,
    startTime: t0,
    attributes: { 'http.request.method': 'POST', 'http.response.status_code': 200, 'compressed': gzip },
  });
  const rootCtx = api.trace.setSpan(api.context.active(), root);
  const charge = tracer.startSpan('charge card', { kind: api.SpanKind.CLIENT, startTime: t0 + 10 }, rootCtx);
  charge.setAttribute('payment.amount', 42.5);
  charge.setAttribute('payment.tags', ['visa', 'retry']);
  const chargeCtx = api.trace.setSpan(rootCtx, charge);
  const select = tracer.startSpan('SELECT cards', { kind: api.SpanKind.CLIENT, startTime: t0 + 20, attributes: { 'db.system': 'postgresql' } }, chargeCtx);
  select.addEvent('rows fetched', { rows: 3 }, t0 + 45);
  select.end(t0 + 50);
  charge.setStatus({ code: api.SpanStatusCode.ERROR, message: 'card declined' });
  charge.end(t0 + 130);
  const email = tracer.startSpan('send email', { kind: api.SpanKind.PRODUCER, startTime: t0 + 140 }, rootCtx);
  email.end(t0 + 190);
  root.end(t0 + 200);
  await provider.forceFlush();
  await provider.shutdown();
  process.stdout.write(root.spanContext().traceId + '\n');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

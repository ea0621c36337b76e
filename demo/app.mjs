// The demo's application: a tiny HTTP service on the cluster's service address. Only one server can bind the
// address at a time, so whoever answers is the active server. Started by the exec resource (async: true).
import { createServer } from 'node:http';

const [host, port] = (process.env.DEMO_SERVICE ?? '127.0.0.10:18080').split(':');
const server = createServer((req, res) => {
  res.setHeader('content-type', 'text/plain');
  res.end(`served by ${process.env.TANDEM_SERVER} (event ${process.env.TANDEM_EVENT})\n`);
});
server.on('error', (e) => {
  console.error(`app: cannot listen on ${host}:${port}: ${e.message}`);
  process.exit(1);
});
server.listen(Number(port), host);
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => server.close(() => process.exit(0)));

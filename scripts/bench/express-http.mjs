// Baseline A′: express 5 itself, answering what baseline A answers from one route and nothing
// else (no middleware), with the request and response classes the daemon uses (see
// src/shared/http/server-classes.ts). The floor any express route of the daemon stands on.
// In its own process like the daemon. Prints its URL.
import { createServer } from 'node:http';
import express from 'express';

const { expressServerClasses } = await import(new URL('../../dist/shared/http/server-classes.js', import.meta.url).href);
const app = express();
app.disable('x-powered-by');
app.set('etag', false);
app.get('/', (_req, res) => {
  res.json({ status: 'ok' });
});
const server = createServer(expressServerClasses(app), app);
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`http://127.0.0.1:${server.address().port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));

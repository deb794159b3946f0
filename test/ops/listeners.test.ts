import type { Server } from 'node:http';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { closeGracefully, listen } from '../../src/ops/listeners.js';
import { expressServerClasses } from '../../src/shared/http/server-classes.js';

let servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => closeGracefully(s, 100)));
  servers = [];
});

describe('listeners', () => {
  it("builds an express app's requests and responses with its own prototypes, so express has nothing to re-prototype", async () => {
    const app = express();
    app.get('/probe', (req, res) => {
      res.json({ requestProto: Object.getPrototypeOf(req) === app.request, responseProto: Object.getPrototypeOf(res) === app.response, app: req.app === app, header: req.get('x-probe') ?? null });
    });
    const { server, url } = await listen(app, { host: '127.0.0.1', port: 0 });
    servers.push(server);
    for (let i = 0; i < 2; i += 1) {
      const res = await fetch(`${url}/probe`, { headers: { 'X-Probe': `p${i}` } });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ requestProto: true, responseProto: true, app: true, header: `p${i}` });
    }
  });

  it('leaves Node defaults for a handler that is not an express app', async () => {
    expect(expressServerClasses((_req, res) => res.end())).toEqual({});
    const { server, url } = await listen((_req, res) => res.end('plain'), { host: '127.0.0.1', port: 0 });
    servers.push(server);
    expect(await (await fetch(url)).text()).toBe('plain');
  });
});

// Benchmark target 1, the framework limit: a bare Hono JSON route on @hono/node-server.
import { serve } from '@hono/node-server';
import { Hono } from 'hono';

const app = new Hono().post('/', (c) => c.json({ success: true, data: { ok: true } }));
serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info) => console.log(JSON.stringify({ ready: true, port: info.port })));

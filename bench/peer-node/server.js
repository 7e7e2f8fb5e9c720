// The fan-out job done the way the seeds do it: fastify + @fastify/websocket,
// one process, pushing each change to the sockets that follow its topic.
// Same wire subset as livecart (subscribe to catalog / product:<id>, snapshot,
// change frames with seq), fed by the same PostgreSQL change_log through
// LISTEN/NOTIFY: like livecart it reads the log's facts, then the changed
// products by id (one query per batch), and makes the JSON itself. Like the
// seeds it does no authorisation, no resume, and reads the log in id order (no
// commit-order gap handling).
"use strict";

const fastify = require("fastify")({ logger: false });
const { Pool, Client } = require("pg");

const DATABASE_URL = process.env.DATABASE_URL;
const PORT = Number(process.env.PORT ?? 3400);
if (!DATABASE_URL) {
  console.error("DATABASE_URL (postgres://...) is required");
  process.exit(2);
}
const pool = new Pool({ connectionString: DATABASE_URL, max: 4 });
const topics = new Map(); // topic -> Set<socket>
let last = 0;

const PRODUCTS = `SELECT p.id, p.name, c.slug AS category, p.price_cents, p.currency, p.stock, p.units_sold, p.image,
  p.description FROM products p JOIN categories c ON c.id = p.category_id WHERE p.archived_at IS NULL`;
const summary = (p) => ({ id: Number(p.id), name: p.name, category: p.category,
  price: { minor: Number(p.price_cents), currency: p.currency }, stock: Number(p.stock), units_sold: Number(p.units_sold), image: p.image });
const full = (p) => ({ ...summary(p), description: p.description });

async function snapshot(topic) {
  if (topic === "catalog") {
    const r = await pool.query(`${PRODUCTS} ORDER BY lower(p.name), p.id`);
    return JSON.stringify(r.rows.map(summary));
  }
  const m = /^product:(\d+)$/.exec(topic);
  if (!m) return null;
  const r = await pool.query(`${PRODUCTS} AND p.id = $1`, [m[1]]);
  return r.rows.length ? JSON.stringify(full(r.rows[0])) : null;
}

function send(topic, text) {
  const subs = topics.get(topic);
  if (subs) for (const s of subs) s.send(text);
}

let reading = false;
let again = false;
async function readLog() {
  if (reading) { again = true; return; }
  reading = true;
  try {
    do {
      again = false;
      const r = await pool.query(
        "SELECT seq, kind, entity_id FROM change_log WHERE seq > $1 ORDER BY seq LIMIT 1000", [last]);
      const ids = [...new Set(r.rows.filter((f) => f.kind === "product").map((f) => f.entity_id))];
      const now = new Map();
      if (ids.length) {
        const p = await pool.query(`${PRODUCTS} AND p.id = ANY($1::bigint[])`, [ids]);
        for (const row of p.rows) now.set(String(row.id), row);
      }
      for (const f of r.rows) {
        last = Number(f.seq);
        if (f.kind !== "product") continue;
        const p = now.get(String(f.entity_id));
        for (const topic of ["catalog", `product:${f.entity_id}`]) {
          if (!topics.get(topic)?.size) continue;
          const frame = p
            ? `{"type":"change","topic":"${topic}","seq":${f.seq},"data":${JSON.stringify(topic === "catalog" ? summary(p) : full(p))}}`
            : `{"type":"removed","topic":"${topic}","seq":${f.seq},"id":${f.entity_id}}`;
          send(topic, frame);
        }
      }
      if (r.rows.length === 1000) again = true;
    } while (again);
  } finally {
    reading = false;
  }
}

async function main() {
  const r = await pool.query("SELECT coalesce(max(seq), 0) AS seq FROM change_log");
  last = Number(r.rows[0].seq);
  const listener = new Client({ connectionString: DATABASE_URL });
  await listener.connect();
  listener.on("notification", () => readLog().catch((e) => console.error(e)));
  await listener.query("LISTEN livecart_changes");

  await fastify.register(require("@fastify/websocket"));
  fastify.get("/healthz", async () => ({ status: "ok", seq: last }));
  fastify.get("/ws", { websocket: true }, (socket) => {
    const mine = new Set();
    socket.on("message", async (raw) => {
      let msg;
      try { msg = JSON.parse(raw.toString()); } catch { return socket.send('{"type":"error","code":"bad_request","message":"not JSON"}'); }
      if (msg.type === "ping") return socket.send('{"type":"pong"}');
      if (msg.type === "subscribe" && typeof msg.topic === "string") {
        const seq = last;
        const data = await snapshot(msg.topic);
        if (data === null) return socket.send(`{"type":"error","topic":${JSON.stringify(msg.topic)},"code":"unknown_topic","message":"unknown"}`);
        if (!topics.has(msg.topic)) topics.set(msg.topic, new Set());
        topics.get(msg.topic).add(socket);
        mine.add(msg.topic);
        socket.send(`{"type":"snapshot","topic":${JSON.stringify(msg.topic)},"seq":${seq},"data":${data}}`);
      }
    });
    socket.on("close", () => { for (const t of mine) topics.get(t)?.delete(socket); });
  });
  await fastify.listen({ port: PORT, host: "127.0.0.1" });
}

main().catch((e) => { console.error(e); process.exit(1); });

// graphile-worker on the same PostgreSQL, in the configuration its
// documentation gives for throughput (concurrentJobs 24, maxPoolSize 25,
// localQueue 500, completion and failure batching with no delay), measuring
// what benches/queue.rs measures: batch enqueue, end-to-end no-op jobs, and
// the time from enqueue to handler start on an idle queue.
//
// Environment: DATABASE_URL (a fresh database), JOBS (default 100000).
import { Logger, makeWorkerUtils, run } from "graphile-worker";
import pg from "pg";

const connectionString = process.env.DATABASE_URL;
const jobs = Number(process.env.JOBS ?? 100000);
const BATCH = 10000;
const SAMPLES = 1000;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
// Per-job INFO lines would measure the terminal, not the queue.
const logger = new Logger(() => (level, message) => {
  if (level === "error") console.error(message);
});
const preset = {
  worker: {
    connectionString,
    concurrentJobs: 24,
    maxPoolSize: 25,
    localQueue: { size: 500 },
    completeJobBatchDelay: 0,
    failJobBatchDelay: 0,
  },
};

const utils = await makeWorkerUtils({ connectionString, logger });
await utils.migrate();
const pool = new pg.Pool({ connectionString, max: 2 });
const remaining = async () =>
  (await pool.query("select count(*)::int as n from graphile_worker._private_jobs")).rows[0].n;

// (a) batch enqueue, starting right after a checkpoint as benches/queue.rs does.
try {
  await pool.query("checkpoint");
} catch (error) {
  console.log(`checkpoint_skipped=${error.message}`);
}
let start = performance.now();
for (let i = 0; i < jobs; i += BATCH) {
  const specs = [];
  for (let j = i; j < Math.min(i + BATCH, jobs); j++) specs.push({ identifier: "noop", payload: { i: j } });
  await utils.addJobs(specs);
}
console.log(`enqueue_jobs_per_sec=${Math.round(jobs / ((performance.now() - start) / 1000))}`);

// (b) end-to-end: run every queued job (graphile-worker deletes completed
// jobs), after collecting statistics as benches/queue.rs does.
await pool.query("analyze");
let ran = 0;
const started = new Map();
start = performance.now();
const runner = await run({
  preset,
  logger,
  noHandleSignals: true,
  taskList: {
    noop: async () => {
      ran++;
    },
    ping: async (payload) => {
      started.set(payload.i, performance.now());
    },
  },
});
while (ran < jobs) await sleep(5);
while ((await remaining()) > 0) await sleep(20);
console.log(`e2e_jobs_per_sec=${Math.round(jobs / ((performance.now() - start) / 1000))}`);

// (c) latency from enqueue to handler start on an idle queue.
await sleep(500);
const samples = [];
for (let i = 0; i < SAMPLES; i++) {
  const sent = performance.now();
  await utils.addJob("ping", { i });
  const deadline = sent + 5000;
  while (!started.has(i)) {
    if (performance.now() > deadline) throw new Error(`job ${i} did not start within 5 s`);
    await sleep(0);
  }
  samples.push(started.get(i) - sent);
  await sleep(3);
}
samples.sort((a, b) => a - b);
const pct = (p) => samples[Math.min(samples.length - 1, Math.floor(samples.length * p))];
console.log(`latency_p50_ms=${pct(0.5).toFixed(2)}`);
console.log(`latency_p99_ms=${pct(0.99).toFixed(2)}`);

await runner.stop();
await utils.release();
await pool.end();

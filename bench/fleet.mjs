/**
 * The density bench (`npm run bench -- --fleet N`): N idle busybox
 * containers from one image, no NIC, created and started 8 at a time by one
 * Node process, as an embedder filling a host would. Measures the time to
 * start all, host memory each (MemAvailable), the embedder's event-loop
 * delay while starting (p99 and max), the start rate of the last 500 against
 * the first 500, list(), a statsAll() sweep and stopping all; prints the
 * host limits beside them, and which limit stopped a run that stopped early.
 */
import { readdirSync, readFileSync } from "node:fs";
import { monitorEventLoopDelay } from "node:perf_hooks";

const IN_FLIGHT = 8;

function memAvailable() {
  const m = /^MemAvailable:\s+(\d+) kB/m.exec(readFileSync("/proc/meminfo", "utf8"));
  return m ? Number(m[1]) * 1024 : 0;
}

/**
 * The main thread's scheduler account (/proc/self/task/<tid>/schedstat), in
 * ms: time on a CPU and time runnable but waiting for one. Beside the
 * event-loop delay it says whether the loop was late for work of its own or
 * because the fleet's processes had the CPUs.
 */
function mainThreadSched() {
  try {
    const [run, wait] = readFileSync(`/proc/self/task/${process.pid}/schedstat`, "utf8").split(" ").map(Number);
    return { run: run / 1e6, wait: wait / 1e6 };
  } catch {
    return null; // no schedstats in this kernel
  }
}

/** Mean PSS (KiB) of up to 50 running warren-monitor processes, and how many run. */
function monitorPss() {
  const pss = [];
  let count = 0;
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, "utf8").trim() !== "warren-monitor") continue;
      count++;
      if (pss.length < 50) pss.push(Number(/^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"))?.[1] ?? NaN));
    } catch {
      /* gone */
    }
  }
  const ok = pss.filter(Number.isFinite);
  return { count, kib: ok.length ? Math.round(ok.reduce((a, b) => a + b, 0) / ok.length) : null };
}

/** Runs the fleet; `live` receives every container made (the caller's cleanup stops them on a signal). */
export async function fleetBench({ lib, runtime, image, init, n, live, log, checkInterrupted, kind = "busybox", extra = () => ({}), startOptions = {} }) {
  const { Container, doctor } = lib;
  const limits = Object.fromEntries(
    doctor({ containers: n })
      .checks.filter((c) => c.area === "sysctl" || c.area === "limits")
      .map((c) => [c.id.replace(/^(sysctl|limits)\./, ""), { have: c.value, want: c.want, ok: c.status === "ok" }]),
  );
  const delay = monitorEventLoopDelay({ resolution: 5 });
  const memBefore = memAvailable();
  const doneAt = new Array(n);
  const fleet = [];
  let stoppedBy = null;
  let aloneMemory = null;
  let next = 0;
  const t0 = performance.now();
  const sched0 = mainThreadSched();
  delay.enable();
  const worker = async () => {
    while (next < n && !stoppedBy) {
      const i = next++;
      checkInterrupted();
      let c;
      try {
        c = await Container.create(`fleet-${i}`, { image, ...(init ? { init } : {}), ...extra(i) }, runtime);
        live.add(c);
        await c.start(startOptions);
        if (i === 0) aloneMemory = memBefore - memAvailable(); // the first, before any other has started (8 in flight: approximate)
        fleet.push(c);
        doneAt[i] = performance.now() - t0;
      } catch (e) {
        stoppedBy ??= `container ${i}: ${e.message}`;
        // One made but not started is not in the fleet: it goes now.
        if (c && !fleet.includes(c)) {
          await c.destroy({ force: true }).catch(() => undefined);
          live.delete(c);
        }
      }
      if (i % 500 === 499) log(`    ${i + 1} started, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  delay.disable();
  const startAllMs = performance.now() - t0;
  const sched1 = mainThreadSched();
  const started = doneAt.filter((x) => x !== undefined).sort((a, b) => a - b);
  const rate = (from, to) => (to - from > 0 ? Math.round(((to - from) / (started[to - 1] - (from ? started[from - 1] : 0))) * 1000) : 0);
  const k = Math.min(500, Math.floor(started.length / 2));
  const firstRate = rate(0, k);
  const lastRate = rate(started.length - k, started.length);
  await new Promise((r) => setTimeout(r, 1000)); // the inits settle into their idle loop
  const memEach = (memBefore - memAvailable()) / Math.max(1, fleet.length);
  const monitors = monitorPss();

  // The first list() after the fleet started, then the median of three more
  // (a dashboard's next polls: the kernel's dentries and inodes are made).
  let tl = performance.now();
  const listed = await Container.list(runtime);
  const listFirstMs = performance.now() - tl;
  const lists = [];
  for (let r = 0; r < 3; r++) {
    tl = performance.now();
    await Container.list(runtime);
    lists.push(performance.now() - tl);
  }
  lists.sort((a, b) => a - b);
  const listMs = lists[1];
  const sweeps = [];
  for (let s = 0; s < 5; s++) {
    const ts = performance.now();
    await Container.statsAll(runtime);
    sweeps.push(performance.now() - ts);
  }
  sweeps.sort((a, b) => a - b);
  const lean = [];
  for (let s = 0; s < 5; s++) {
    const ts = performance.now();
    await Container.statsAll({ ...runtime, pressure: false });
    lean.push(performance.now() - ts);
  }
  lean.sort((a, b) => a - b);

  log(`    stopping ${fleet.length}`);
  const tstop = performance.now();
  let stopNext = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (stopNext < fleet.length) {
        const c = fleet[stopNext++];
        await c.stop({ timeout: 0 }).catch(() => undefined);
        await c.destroy({ force: true }).catch(() => undefined);
        live.delete(c);
      }
    }),
  );
  const stopAllMs = performance.now() - tstop;
  return {
    kind,
    asked: n,
    started: fleet.length,
    first_alone_mib: aloneMemory === null ? null : Math.round((aloneMemory / 2 ** 20) * 100) / 100,
    stopped_by: stoppedBy,
    start_all_s: Math.round(startAllMs / 100) / 10,
    host_mib_per_container: Math.round((memEach / 2 ** 20) * 100) / 100,
    loop_delay_p99_ms: Math.round(delay.percentile(99) / 1e4) / 100,
    loop_delay_max_ms: Math.round(delay.max / 1e4) / 100,
    main_thread_cpu_ms_each: sched0 && sched1 ? Math.round(((sched1.run - sched0.run) / Math.max(1, fleet.length)) * 100) / 100 : null,
    main_thread_runqueue_ms_each: sched0 && sched1 ? Math.round(((sched1.wait - sched0.wait) / Math.max(1, fleet.length)) * 100) / 100 : null,
    first_500_per_s: firstRate,
    last_500_per_s: lastRate,
    last_to_first: firstRate ? Math.round((lastRate / firstRate) * 100) / 100 : 0,
    list_ms: Math.round(listMs),
    list_first_ms: Math.round(listFirstMs),
    listed: listed.length,
    stats_sweep_ms: Math.round(sweeps[2] * 10) / 10,
    stats_us_per_container: Math.round((sweeps[2] / Math.max(1, fleet.length)) * 1000 * 10) / 10,
    stats_no_pressure_us_per_container: Math.round((lean[2] / Math.max(1, fleet.length)) * 1000 * 10) / 10,
    stop_all_s: Math.round(stopAllMs / 100) / 10,
    monitors: monitors.count,
    monitor_pss_kib: monitors.kib,
    host_limits: limits,
  };
}

/** The report lines for a fleet result. */
export function fleetLines(f) {
  const met = (ok) => (ok ? "met" : "not met");
  const out = [
    f.kind === "busybox"
      ? `${f.started} of ${f.asked} idle busybox containers (image, no NIC, ${IN_FLIGHT} at a time): all started in ${f.start_all_s} s (goal ≤ 60 s for 5000: ${met(f.asked < 5000 || f.start_all_s <= 60)})`
      : `${f.started} of ${f.asked} idle ${f.kind} containers (${IN_FLIGHT} at a time): all started in ${f.start_all_s} s; the first alone took ${f.first_alone_mib ?? "?"} MiB of host memory`,
    `  host memory each ${f.host_mib_per_container} MiB (goal ≤ 0.45: ${met(f.host_mib_per_container <= 0.45)}); event-loop delay while starting p99 ${f.loop_delay_p99_ms} ms, max ${f.loop_delay_max_ms} ms (goal p99 ≤ 20 ms: ${met(f.loop_delay_p99_ms <= 20)})`,
    ...(f.main_thread_cpu_ms_each != null
      ? [`  the embedder's main thread per start: ${f.main_thread_cpu_ms_each} ms on a CPU, ${f.main_thread_runqueue_ms_each} ms runnable but waiting for one (the loop's delay is mostly the latter when the fleet keeps the CPUs busy)`]
      : []),
    `  start rate: first 500 ${f.first_500_per_s}/s, last 500 ${f.last_500_per_s}/s = ${f.last_to_first}× (goal ≥ 0.8×: ${met(f.last_to_first >= 0.8)})`,
    `  list() of ${f.listed}: ${f.list_ms} ms (the first after the starts: ${f.list_first_ms} ms; goal ≤ 200 ms for 5000: ${met(f.list_ms <= 200 * Math.max(1, f.listed / 5000))}); statsAll() sweep ${f.stats_sweep_ms} ms = ${f.stats_us_per_container} µs each (goal ≤ 50 µs: ${met(f.stats_us_per_container <= 50)}), ${f.stats_no_pressure_us_per_container} µs without the PSI files (pressure: false); stop+destroy all ${f.stop_all_s} s`,
    f.monitors === 0
      ? "  per-container processes: none (no console, readiness or restart policy was asked for)"
      : `  per-container processes: ${f.monitors} warren-monitor running, PSS ${f.monitor_pss_kib ?? "?"} KiB each (goal ≤ 250 KiB: ${met((f.monitor_pss_kib ?? Infinity) <= 250)})`,
    `  host limits for ${f.asked}: ${Object.entries(f.host_limits).map(([k, v]) => `${k}=${v.have}${v.ok ? "" : ` (wants ${v.want})`}`).join(", ")}`,
  ];
  if (f.stopped_by) out.push(`  stopped early: ${f.stopped_by}`);
  return out;
}

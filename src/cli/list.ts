/**
 * `warren list`: the containers under a root, from their records on disk
 * (container/listing.ts), without loading the container verbs. When the
 * disk disagrees with reality (an init that died unseen, a stopped
 * ephemeral container waiting to be removed) it asks `Container.list()` to
 * reconcile first, which loads the rest.
 * @module
 */
import { summarizeContainers, type ContainerSummary } from "../container/listing.js";
import { resolveRuntime } from "../config/runtime.js";
import { COMMON_OPTIONS, noArguments, splitArgs, stateRoot } from "./args.js";
import { formatTable, type Io } from "./io.js";
import { USAGE } from "./usage.js";

/** What `list --json` prints for each container. */
export type ListEntry = Omit<ContainerSummary, "stale">;

function rootfsText(e: ListEntry): string {
  const r = e.rootfs;
  if (r.kind === "embedded") return "(host /usr)";
  if (r.kind === "image") return `image ${e.image ?? r.image.slice(0, 12)}${r.storage === "btrfs" ? " (btrfs)" : ""}`;
  return r.mode === "rw" ? r.path : `${r.path} (${r.mode})`;
}

/** The summaries, reconciled first when the disk is out of date (which loads the container verbs). */
async function entries(root: string): Promise<ListEntry[]> {
  const runtime = resolveRuntime({ root });
  let list = await summarizeContainers(runtime);
  if (list.some((e) => e.stale)) {
    const { Container } = await import("../container/container.js");
    for (const c of await Container.list({ root })) c.unref();
    list = await summarizeContainers(runtime);
  }
  return list.map(({ stale: _stale, ...e }) => e);
}

export async function listCommand(argv: string[], io: Io): Promise<number> {
  const parsed = splitArgs(argv, { ...COMMON_OPTIONS, json: { type: "boolean" } }, 0, "list");
  if (parsed.values.help) {
    io.out(USAGE.list!);
    return 0;
  }
  noArguments("list", parsed);
  const list = await entries(stateRoot(parsed.values));
  if (parsed.values.json) {
    io.out(JSON.stringify(list, null, 2));
    return 0;
  }
  const rows = [["NAME", "STATE", "PID", "ROOTFS"]];
  for (const e of list) {
    const ended = e.exit ? [e.exit.signal ?? `exit ${e.exit.code}`] : [];
    const notes = [...ended, ...(e.restartRefused ? [e.restartRefused.reason] : [])];
    const state = e.state === "stopped" && notes.length ? `stopped (${notes.join(", ")})` : e.state;
    rows.push([e.name, state, e.pid === null ? "-" : String(e.pid), rootfsText(e)]);
  }
  io.out(formatTable(rows));
  return 0;
}

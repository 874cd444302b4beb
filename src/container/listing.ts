/**
 * A read-only look at the containers under a root, for `warren list` and
 * anything else that only shows them: records and states as on disk, a
 * recorded init checked against /proc (pid and start time). It adopts
 * nothing, cleans nothing and loads none of the verbs, so it stays cheap
 * for the CLI's cold start; {@link Container.list} is the call that
 * reconciles.
 * @module
 */
import type { ResolvedRuntime } from "../config/runtime.js";
import { processInfo } from "./proc.js";
import { readJsonFilesIn } from "../linux/json-file.js";
import { isLive, StateStore, type ContainerRecord, type ExitStatus, type RestartRefusal, type RuntimeState, type Status } from "./state.js";

/** What a listing shows of one container. */
export interface ContainerSummary {
  name: string;
  /** As on disk, but `stopped` when the recorded init is gone (until someone reconciles it). */
  state: Status;
  pid: number | null;
  rootfs:
    | { kind: "embedded" }
    | { kind: "directory"; path: string; mode: string }
    | { kind: "image"; image: string; storage: "overlay" | "btrfs" };
  /** The image reference the container was created with (a tag or an id), when made from one. */
  image: string | null;
  exit: ExitStatus | null;
  /** Why the restart policy left it stopped after its last run, if it did. */
  restartRefused: RestartRefusal | null;
  createdAt: string;
  /**
   * What is on disk is out of date: the record says running but the init is
   * gone, or an ephemeral container stopped and waits to be removed. A
   * reconciling call (`Container.list`, `get`, `gc`) brings it up to date.
   */
  stale: boolean;
}

export async function summarizeContainers(runtime: ResolvedRuntime): Promise<ContainerSummary[]> {
  const store = new StateStore(runtime.root);
  const out: ContainerSummary[] = [];
  const names = await store.names();
  const dirs = names.map((n) => store.dir(n));
  const [records, states] = await Promise.all([
    readJsonFilesIn<ContainerRecord>(dirs, "container.json"),
    readJsonFilesIn<RuntimeState>(dirs, "state.json"),
  ]);
  for (const [i, name] of names.entries()) {
    const record = records[i];
    if (!record) continue; // being created or destroyed right now
    const state = states[i] ?? { status: "created" as const };
    let status = state.status;
    let stale = false;
    if (isLive(status)) {
      const info = state.pid !== undefined ? processInfo(state.pid) : undefined;
      const alive = info !== undefined && info.state !== "Z" && info.state !== "X" && info.startTime === state.startTime;
      if (!alive) [status, stale] = ["stopped", true];
    }
    if (status === "stopped" && record.config.ephemeral) stale = true;
    const r = record.rootfs;
    out.push({
      name,
      state: status,
      pid: isLive(status) ? (state.pid ?? null) : null,
      rootfs:
        r.kind === "image"
          ? { kind: "image", image: r.image, storage: r.storage === "btrfs" ? "btrfs" : "overlay" }
          : r.kind === "directory"
            ? { kind: "directory", path: r.path, mode: r.mode }
            : { kind: "embedded" },
      image: record.config.image ?? null,
      exit: state.exit ?? null,
      restartRefused: state.restartRefused ?? null,
      createdAt: record.createdAt,
      stale,
    });
  }
  return out;
}

/**
 * Containers sharing network, IPC and UTS namespaces (a pod), on the real
 * kernel: each with its own user namespace and id range, as by default.
 * The embedded default rootfs (the host's /usr) is used where a tool
 * busybox lacks is needed (ipcmk).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

import { ConfigError, Container, NotFoundError, StateError, type ContainerConfig } from "../../src/index.js";
import { busybox, cleanupAll, IDLE, runtime, uniqueName } from "../helpers/env.js";

afterAll(async () => {
  await cleanupAll();
  await Container.gc(runtime()); // the managed bridge of the NIC test
});

/** A container on the embedded default rootfs (host /usr: busybox and util-linux). */
const embedded = (prefix: string, config: ContainerConfig = {}) => busybox(prefix, { rootfs: undefined, ...config });
const nsOf = async (c: Container, kind: string) => (await c.execOutput(["readlink", `/proc/self/ns/${kind}`])).stdout.trim();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sends `text` from `from` to a `nc -l` on 127.0.0.1:port in `to`, and returns what `to` received. */
async function loopback(to: Container, from: Container, port: number, text: string): Promise<string> {
  // A loaded machine can still lose a round (a send that connected and
  // failed ends the listener): a fresh listener on the next port then.
  for (let round = 0; round < 3; round++, port += 100) {
    // The listener in the background, its output in a file of the
    // listener's /dev/shm. Its stdin stays open: at the end of a closed
    // one busybox nc may quit before the text has arrived.
    await to.execOutput(["sh", "-c", `(sleep 10 | busybox nc -l -p ${port}) </dev/null > /dev/shm/got-${port} 2>&1 &`]);
    let sent = false;
    for (let i = 0; i < 50 && !sent; i++) {
      sent = (await from.execOutput(["sh", "-c", `echo ${text} | busybox nc -w 1 127.0.0.1 ${port}`])).code === 0;
      if (!sent) await sleep(50);
    }
    for (let i = 0; i < 50; i++) {
      const got = (await to.execOutput(["cat", `/dev/shm/got-${port}`])).stdout;
      if (got) return got;
      await sleep(50);
    }
  }
  return "";
}

describe("shared namespaces", () => {
  it("net, ipc and uts of a running container: 127.0.0.1 reaches it, same namespaces, its hostname and IPC objects", async () => {
    const a = await embedded("pod-a", { hostname: "pod-host" });
    const b = await embedded("pod-b", { namespaces: { net: { container: a.name }, ipc: { container: a.name }, uts: { container: a.name } } });
    const other = await embedded("pod-c");
    await a.start();
    await b.start();
    await other.start();

    for (const kind of ["net", "ipc", "uts"]) {
      const [na, nb, nc] = [await nsOf(a, kind), await nsOf(b, kind), await nsOf(other, kind)];
      expect(na).toMatch(new RegExp(`^${kind}:\\[\\d+\\]$`));
      expect(nb).toBe(na);
      expect(nc).not.toBe(na);
      expect(readlinkSync(`/proc/self/ns/${kind}`)).not.toBe(na);
    }
    // Each keeps its own user, pid and mount namespaces.
    for (const kind of ["user", "pid", "mnt"]) expect(await nsOf(b, kind)).not.toBe(await nsOf(a, kind));

    expect(await loopback(a, b, 5555, "from-b")).toBe("from-b\n");
    expect(await loopback(b, a, 5556, "from-a")).toBe("from-a\n");
    // b's root is no one in a's namespace: it cannot configure it or take a port below 1024.
    expect((await b.execOutput(["ip", "link", "set", "lo", "mtu", "1400"])).code).not.toBe(0);
    expect((await b.execOutput(["sh", "-c", "busybox timeout 2 busybox nc -l -p 80 </dev/null"])).stderr).toMatch(/denied/i);
    expect((await a.execOutput(["ip", "link", "set", "lo", "mtu", "65000"])).code).toBe(0);
    // A third container's 127.0.0.1 is its own.
    expect((await other.execOutput(["sh", "-c", "echo x | busybox nc -w 1 127.0.0.1 5557"])).code).not.toBe(0);

    // uts: a's hostname; b's root has no privilege over a's namespace, so
    // it cannot change it for both.
    expect((await b.execOutput(["hostname"])).stdout).toBe("pod-host\n");
    expect((await b.execOutput(["hostname", "other"])).code).not.toBe(0);
    expect((await a.execOutput(["hostname"])).stdout).toBe("pod-host\n");

    // ipc: a System V segment made in a is listed in b, not in the third container.
    const made = await a.execOutput(["ipcmk", "-M", "4096"]);
    expect(made.code).toBe(0);
    const id = /(\d+)\s*$/.exec(made.stdout.trim())?.[1];
    expect(id).toBeDefined();
    const ids = async (c: Container) =>
      (await c.execOutput(["cat", "/proc/sysvipc/shm"])).stdout.trim().split("\n").slice(1).map((l) => l.trim().split(/\s+/)[1]);
    expect(await ids(b)).toContain(id);
    expect(await ids(other)).not.toContain(id);

    // b's /sys is a's network namespace's (only lo), not the host's.
    expect((await b.execOutput(["ls", "/sys/class/net"])).stdout.trim()).toBe("lo");
    expect((await b.execOutput(["sh", "-c", "grep ' /sys ' /proc/self/mountinfo"])).stdout).toMatch(/ \/sys ro,.* - sysfs /);

    // a stops: b keeps the namespaces (they live while b's processes are in them).
    const netA = await nsOf(a, "net");
    await a.stop({ timeout: 0 });
    expect(await nsOf(b, "net")).toBe(netA);
    expect(await loopback(b, b, 5558, "alone")).toBe("alone\n");
    expect((await b.execOutput(["hostname"])).stdout).toBe("pod-host\n");
    // a started again gets new namespaces; b stays in the old ones until restarted.
    await a.start();
    expect(await nsOf(a, "net")).not.toBe(netA);
    await b.stop({ timeout: 0 });
    await b.start();
    expect(await nsOf(b, "net")).toBe(await nsOf(a, "net"));
  });

  it("a's NICs serve b; when a stops they leave the namespace b keeps, and a restarted has them alone", async () => {
    const a = await busybox("nic-a", { nics: [{ type: "bridged" }] });
    const b = await busybox("nic-b", { namespaces: { net: { container: a.name } } });
    await a.start();
    await b.start();
    const address = (await a.network()).find((i) => i.name === "eth0")!.addresses[0]!;
    expect((await b.execOutput(["ip", "-o", "addr", "show", "eth0"])).stdout).toContain(address);
    const veths = () => readdirSync("/sys/class/net").filter((l) => l.startsWith("ve"));
    expect(veths()).toHaveLength(1);
    await a.stop({ timeout: 0 });
    // Not left on the bridge with a's address while b holds the namespace.
    expect((await b.execOutput(["ip", "-o", "link"])).stdout.trim().split("\n")).toEqual([expect.stringMatching(/^1: lo:/)]);
    expect(veths()).toEqual([]);
    await a.start();
    expect(veths()).toHaveLength(1);
    expect((await a.network()).find((i) => i.name === "eth0")!.addresses[0]).toBe(address);
    await b.stop({ timeout: 0 });
    await a.stop({ timeout: 0 });
    for (let i = 0; i < 100 && veths().length; i++) await sleep(50);
    expect(veths()).toEqual([]);
  });

  it("joins a namespace file by path", async () => {
    const a = await busybox("path-a");
    await a.start();
    const b = await busybox("path-b", { namespaces: { net: { path: `/proc/${a.pid}/ns/net` } } });
    await b.start();
    expect(await nsOf(b, "net")).toBe(await nsOf(a, "net"));
    // A file that is no network namespace is refused before anything runs.
    const wrong = await busybox("path-w", { namespaces: { net: { path: `/proc/${a.pid}/ns/ipc` } } });
    const e = await wrong.start().catch((x) => x);
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.issues[0]).toMatchObject({ path: "namespaces.net", message: expect.stringContaining("is not a net namespace") });
    expect(wrong.state).toBe("created");
  });

  it("writes sysctls into a network namespace joined by path (runc's rule), never into the host's", async () => {
    // podman and containerd make the container's network namespace as host
    // root and pass its path, a bind mount on nsfs as `ip netns add` makes
    // (its fd's link is that path, not `net:[inode]`). (A container in a
    // user namespace of its own may not write the sysctls of a namespace
    // owned by another: EACCES, as with runc.)
    const dir = mkdtempSync(join(tmpdir(), "warren-netns-"));
    const netns = join(dir, "net");
    writeFileSync(netns, "");
    execFileSync("unshare", [`--net=${netns}`, "true"]);
    try {
      const b = await busybox("sysctl-b", { namespaces: { user: false, net: { path: netns } }, sysctls: { "net.ipv4.ping_group_range": "0 1000" } });
      await b.start();
      const range = execFileSync("nsenter", [`--net=${netns}`, "cat", "/proc/sys/net/ipv4/ping_group_range"], { encoding: "utf8" });
      expect(range.split(/\s+/).filter(Boolean)).toEqual(["0", "1000"]);
      await b.stop({ timeout: 0 });
      await b.destroy();
    } finally {
      execFileSync("umount", [netns]);
      rmSync(dir, { recursive: true, force: true });
    }
    // A file that is not on nsfs is no namespace at all.
    const notNs = await busybox("sysctl-f", { namespaces: { net: { path: "/etc/hostname" } } });
    const f = await notNs.start().catch((x) => x);
    expect(f).toBeInstanceOf(ConfigError);
    expect(f.issues[0]).toMatchObject({ path: "namespaces.net", message: expect.stringContaining("is not a net namespace") });
    // The path of this process's own (the host's) network namespace: refused, naming the sysctl.
    const hostNs = await busybox("sysctl-h", { namespaces: { net: { path: "/proc/self/ns/net" } }, sysctls: { "net.ipv4.ping_group_range": "0 0" } });
    const e = await hostNs.start().catch((x) => x);
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.issues[0]).toMatchObject({ path: "sysctls.net.ipv4.ping_group_range", message: expect.stringContaining("is the host's net namespace") });
    expect(hostNs.state).toBe("created");
  });

  it("starting one whose container is not running, does not exist, or is itself is a typed error naming it", async () => {
    const a = await busybox("dep-a");
    const b = await busybox("dep-b", { namespaces: { net: { container: a.name } } });
    const e = await b.start().catch((x) => x);
    expect(e).toBeInstanceOf(StateError);
    expect(e.message).toContain(`namespaces.net joins container "${a.name}", which is not running`);
    expect(b.state).toBe("created");

    const ghost = uniqueName("ghost");
    const g = await busybox("dep-g", { namespaces: { ipc: { container: ghost } } });
    const eg = await g.start().catch((x) => x);
    expect(eg).toBeInstanceOf(NotFoundError);
    expect(eg.message).toContain(`namespaces.ipc joins container "${ghost}", which does not exist`);

    // Its own name: known only once it has a name, so refused at start.
    const selfName = uniqueName("dep-self");
    const me = await Container.create(selfName, { init: IDLE, namespaces: { uts: { container: selfName } } }, runtime());
    const es = await me.start().catch((x) => x);
    await me.destroy({ force: true });
    expect(es).toBeInstanceOf(ConfigError);
    expect(es.issues[0]).toMatchObject({ path: "namespaces.uts", message: "a container cannot join its own namespace" });
  });

  it("refuses sharing user, pid, cgroup and mount namespaces, and what needs an own namespace", async () => {
    const refused = async (config: ContainerConfig) => {
      const e = await busybox("refuse", config).catch((x) => x);
      expect(e).toBeInstanceOf(ConfigError);
      return e.issues as { path: string; message: string }[];
    };
    const a = { container: "a" } as never;
    expect(await refused({ namespaces: { user: a } })).toContainEqual({ path: "namespaces.user", message: expect.stringContaining("the user namespace cannot be shared") });
    expect(await refused({ namespaces: { pid: a } })).toContainEqual({ path: "namespaces.pid", message: expect.stringContaining("cannot be shared") });
    expect(await refused({ namespaces: { cgroup: a } })).toContainEqual({ path: "namespaces.cgroup", message: expect.stringContaining("cannot be shared") });
    expect(await refused({ namespaces: { mount: a } as never })).toContainEqual({ path: "namespaces.mount", message: "unknown field" });
    expect(await refused({ namespaces: { net: { container: "a" } }, nics: [{ type: "bridged" }] })).toContainEqual({ path: "nics", message: expect.stringContaining("own network namespace") });
    expect(await refused({ namespaces: { uts: { container: "a" } }, hostname: "mine" })).toContainEqual({ path: "hostname", message: expect.stringContaining("shares another UTS namespace") });
    expect(await refused({ namespaces: { net: { container: "a", path: "/proc/1/ns/net" } as never } })).toContainEqual(expect.objectContaining({ path: "namespaces.net" }));
  });
});

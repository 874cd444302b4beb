/**
 * warren's nftables table on the real kernel, entirely inside throwaway
 * network namespaces (`unshare --net sleep`, nft run through `nsenter`), so
 * the host's ruleset is never touched: the last test checks it is identical.
 * All traffic stays between two namespaces, A (the "host", with the bridge
 * and the table) and B (the "container", a TCP server on 10.98.0.2:80).
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { ConfigError } from "../../src/errors.js";
import { bridgeChains, containerChains, Nft, nftAvailable } from "../../src/network/nft.js";

const have = (bin: string) => ["/usr/sbin", "/usr/bin", "/sbin", "/bin"].some((d) => existsSync(join(d, bin)));
const usable = process.getuid?.() === 0 && ["nft", "unshare", "nsenter", "ip"].every(have);

/** Runs a command with a short timeout; resolves its stdout, rejects with its stderr. */
function sh(argv: string[], timeout = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(argv[0]!, argv.slice(1), { timeout, killSignal: "SIGKILL" }, (err, stdout, stderr) => {
      if (err) reject(new Error(`\`${argv.join(" ")}\` failed: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

const inNs = (ns: string, argv: string[], timeout?: number) => sh(["nsenter", `--net=${ns}`, "--", ...argv], timeout);

const processes: ChildProcess[] = [];

/** A new network namespace, held by a `sleep` (killed in afterAll); returns its /proc path. */
async function newNetns(): Promise<string> {
  const p = spawn("unshare", ["--net", "sleep", "120"], { stdio: "ignore" });
  processes.push(p);
  const own = readlinkSync("/proc/self/ns/net");
  const path = `/proc/${p.pid}/ns/net`;
  for (let i = 0; i < 200; i++) {
    try {
      if (readlinkSync(path) !== own) return path; // unshare has run
    } catch {
      /* not there yet */
    }
    await sleep(10);
  }
  throw new Error("unshare --net did not create a namespace");
}

/** A one-shot TCP client run inside `ns`: what the server sent, or a rejection. */
function connect(ns: string, host: string, port: number): Promise<string> {
  const code = `
    const s = require("net").connect(Number(process.argv[2]), process.argv[1]);
    let d = "";
    s.on("data", (b) => (d += b));
    s.on("end", () => { process.stdout.write(d); process.exit(0); });
    s.on("error", (e) => { console.error(e.message); process.exit(1); });
    s.setTimeout(2000, () => { console.error("timed out"); process.exit(2); });`;
  return inNs(ns, [process.execPath, "-e", code, host, String(port)], 8000);
}

const hostRuleset = () => sh(["nft", "list", "ruleset"]);

describe.skipIf(!usable)("nftables table, in throwaway network namespaces", () => {
  const table = `warren_test_${randomBytes(4).toString("hex")}`;
  const lockDir = mkdtempSync(join(tmpdir(), "warren-nft-"));
  let hostBefore = "";
  let nsA = "";
  let nsB = "";
  let nft: Nft;

  beforeAll(async () => {
    expect(await nftAvailable()).toBe(true);
    hostBefore = await hostRuleset();
    nsA = await newNetns();
    nsB = await newNetns();
    nft = new Nft({ table, netnsPath: nsA, lockPath: join(lockDir, "nft.lock"), timeoutMs: 5000 });
  });

  afterAll(async () => {
    for (const p of processes) {
      if (p.exitCode === null && p.signalCode === null) {
        const gone = new Promise((r) => p.once("exit", r));
        p.kill("SIGKILL");
        await Promise.race([gone, sleep(2000)]);
      }
    }
    rmSync(lockDir, { recursive: true, force: true });
    // Nothing of this file on the host: its ruleset is what it was.
    expect(await hostRuleset()).toBe(hostBefore);
  });

  it("sets up a bridge's NAT idempotently", async () => {
    await nft.ensureBridgeNat("wbr0", "10.98.0.0/24");
    const once = await nft.rules();
    await nft.ensureBridgeNat("wbr0", "10.98.0.0/24");
    expect(await nft.rules()).toBe(once);
    expect(once).toContain(`table inet ${table} {`);
    expect(once.match(/masquerade/g)).toHaveLength(2);
    expect(once.match(new RegExp(`jump ${bridgeChains("wbr0").nat4}\\b`, "g"))).toHaveLength(1);
    expect(once).toContain(`ip saddr 10.98.0.0/24 ip daddr != 10.98.0.0/24 oifname != "wbr0" masquerade`);
    expect(once).toContain(`iifname "wbr0" accept`);
    // IPv6 is added beside IPv4, not instead of it.
    await nft.ensureBridgeNat("wbr0", "fd42:98::/64");
    const both = await nft.rules();
    expect(both).toContain(`ip6 saddr fd42:98::/64 ip6 daddr != fd42:98::/64 oifname != "wbr0" masquerade`);
    expect(both).toContain(`ip saddr 10.98.0.0/24 ip daddr != 10.98.0.0/24`);
    // The namespace's ruleset holds only warren's table.
    expect((await inNs(nsA, ["nft", "list", "tables"])).trim()).toBe(`table inet ${table}`);
  });

  it("adds port forwards for two containers and refuses a taken host port", async () => {
    expect(await nft.addPortForwards("web", [{ hostAddress: "127.0.0.1", hostPort: 8080, containerAddress: "10.98.0.2", containerPort: 80, proto: "tcp" }], "wbr0")).toEqual({
      needsRouteLocalnet: true,
    });
    await nft.addPortForwards("db", [{ hostPort: 5432, containerAddress: "10.98.0.3", containerPort: 5432, proto: "tcp" }], "wbr0");
    // Adding the same again (a restart) does not duplicate.
    await nft.addPortForwards("db", [{ hostPort: 5432, containerAddress: "10.98.0.3", containerPort: 5432, proto: "tcp" }], "wbr0");
    const text = await nft.rules();
    expect(text.match(/comment "warren:db tcp 0\.0\.0\.0:5432"/g)).toHaveLength(3); // prerouting, output, localhost masquerade
    expect(text).toContain(`ip daddr 127.0.0.1 tcp dport 8080 dnat ip to 10.98.0.2:80 comment "warren:web tcp 127.0.0.1:8080"`);
    expect((await nft.portForwards()).map((f) => `${f.container} ${f.host}:${f.hostPort}`).sort()).toEqual(["db 0.0.0.0:5432", "web 127.0.0.1:8080"]);

    const before = await nft.rules();
    const err = await nft
      .addPortForwards("other", [{ hostAddress: "127.0.0.1", hostPort: 8080, containerAddress: "10.98.0.4", containerPort: 80, proto: "tcp" }], "wbr0")
      .then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toContain("127.0.0.1:8080/tcp is already forwarded to container web");
    expect((err as ConfigError).issues[0]!.path).toBe("ports[0]");
    expect(await nft.rules()).toBe(before);
  });

  it("loses no change when several instances change the table at once", async () => {
    const names = ["c0", "c1", "c2", "c3", "c4"];
    await Promise.all(
      names.map((n, i) =>
        new Nft({ table, netnsPath: nsA, lockPath: join(lockDir, "nft.lock"), timeoutMs: 5000 }).addPortForwards(
          n,
          [{ hostPort: 7000 + i, containerAddress: `10.98.0.${20 + i}`, containerPort: 80, proto: "udp" }],
          "wbr0",
        ),
      ),
    );
    const text = await nft.rules();
    for (const n of names) expect(text.match(new RegExp(`jump ${containerChains(n).pre}\\b`, "g")), n).toHaveLength(1);
    await Promise.all(names.map((n) => nft.removePortForwards(n)));
    expect(await nft.rules()).not.toMatch(/warren:c\d/);
  });

  it("removes one container's forwards and leaves the other's", async () => {
    await nft.removePortForwards("db");
    await nft.removePortForwards("db"); // idempotent
    await nft.removePortForwards("never-there");
    const text = await nft.rules();
    expect(text).not.toContain("warren:db");
    expect(text).not.toContain(containerChains("db").pre);
    expect(text).toContain("warren:web tcp 127.0.0.1:8080");
    expect(text).toContain(`jump ${containerChains("web").out}`);
    // The port is free again.
    await nft.addPortForwards("db", [{ hostPort: 5432, containerAddress: "10.98.0.3", containerPort: 5432, proto: "tcp" }], "wbr0");
    await nft.removePortForwards("db");
  });

  it("forwards 127.0.0.1:8080 in A to a server in B, end to end", async () => {
    // A: bridge 10.98.0.1/24 with one end of a veth; B: the other end, 10.98.0.2/24.
    const ipA = (args: string) => inNs(nsA, ["ip", ...args.split(" ")]);
    const ipB = (args: string) => inNs(nsB, ["ip", ...args.split(" ")]);
    await ipA("link set lo up");
    await ipA("link add wbr0 type bridge");
    await ipA("addr add 10.98.0.1/24 dev wbr0");
    await ipA("link set wbr0 up");
    await inNs(nsA, ["ip", "link", "add", "vethA", "type", "veth", "peer", "name", "vethB", "netns", nsB.split("/")[2]!]);
    await ipA("link set vethA master wbr0");
    // Hairpin mode, as for a container's port: with br_netfilter (built into
    // many kernels, bridge-nf-call-iptables=1) a container's packet to the
    // host's forwarded port is DNATed at the bridge and must go back out the
    // port it came in on.
    await ipA("link set vethA type bridge_slave hairpin on");
    await ipA("link set vethA up");
    await ipB("link set lo up");
    await ipB("addr add 10.98.0.2/24 dev vethB");
    await ipB("link set vethB up");
    await ipB("route add default via 10.98.0.1");

    // B: a server that says who connected.
    const server = spawn(
      "nsenter",
      [`--net=${nsB}`, "--", process.execPath, "-e", `require("net").createServer((s) => s.end("hello from B to " + s.remoteAddress + "\\n")).listen(80, "0.0.0.0", () => console.log("listening"))`],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    processes.push(server);
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("the server in B did not start")), 5000);
      server.stdout!.on("data", (b: Buffer) => {
        if (b.toString().includes("listening")) {
          clearTimeout(t);
          resolve();
        }
      });
      server.on("exit", (c) => reject(new Error(`the server in B exited (${c})`)));
    });
    // The bridge works before any NAT: A reaches B directly.
    expect(await connect(nsA, "10.98.0.2", 80)).toBe("hello from B to 10.98.0.1\n");

    await nft.enableRouteLocalnet("wbr0");
    expect((await inNs(nsA, ["cat", "/proc/sys/net/ipv4/conf/wbr0/route_localnet"])).trim()).toBe("1");
    // 127.0.0.1:8080 → 10.98.0.2:80, masqueraded to the bridge's address.
    expect(await connect(nsA, "127.0.0.1", 8080)).toBe("hello from B to 10.98.0.1\n");

    // Every address: from the host to localhost and to its own bridge address, and hairpin from the container itself.
    await nft.addPortForwards("any", [{ hostPort: 8081, containerAddress: "10.98.0.2", containerPort: 80, proto: "tcp" }], "wbr0");
    await nft.enableForwarding();
    expect((await inNs(nsA, ["cat", "/proc/sys/net/ipv4/ip_forward"])).trim()).toBe("1");
    // The table has IPv6 NAT: IPv6 forwarding too, and warren's bridge never takes router advertisements.
    expect((await inNs(nsA, ["cat", "/proc/sys/net/ipv6/conf/all/forwarding"])).trim()).toBe("1");
    expect((await inNs(nsA, ["cat", "/proc/sys/net/ipv6/conf/wbr0/accept_ra"])).trim()).toBe("0");
    expect((await inNs(nsA, ["cat", "/proc/sys/net/ipv6/conf/vethA/accept_ra"])).trim()).toBe("2");
    expect(await connect(nsA, "127.0.0.1", 8081)).toBe("hello from B to 10.98.0.1\n");
    expect(await connect(nsA, "10.98.0.1", 8081)).toBe("hello from B to 10.98.0.1\n");
    expect(await connect(nsB, "10.98.0.1", 8081)).toBe("hello from B to 10.98.0.1\n");

    // Without the forward, nothing listens on A's 127.0.0.1:8080.
    await nft.removePortForwards("web");
    await expect(connect(nsA, "127.0.0.1", 8080)).rejects.toThrow(/ECONNREFUSED/);
  });

  it("keeps the container away from the host's loopback services despite route_localnet", async () => {
    // A: a service on 127.0.0.1 only. B: routes 127.0.0.1 to A (ahead of its own local table).
    const secret = spawn(
      "nsenter",
      [`--net=${nsA}`, "--", process.execPath, "-e", `require("net").createServer((s) => s.end("loopback of A\\n")).listen(9999, "127.0.0.1", () => console.log("listening"))`],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    processes.push(secret);
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("the loopback server in A did not start")), 5000);
      secret.stdout!.on("data", () => (clearTimeout(t), resolve()));
    });
    await inNs(nsB, ["ip", "rule", "add", "pref", "1", "to", "127.0.0.1", "lookup", "100"]);
    await inNs(nsB, ["ip", "rule", "del", "pref", "0", "table", "local"]);
    await inNs(nsB, ["ip", "rule", "add", "pref", "10", "table", "local"]);
    await inNs(nsB, ["ip", "route", "add", "127.0.0.1/32", "via", "10.98.0.1", "dev", "vethB", "table", "100"]);
    await inNs(nsB, ["sh", "-c", "echo 1 > /proc/sys/net/ipv4/conf/vethB/route_localnet"]);

    // Without the guard, route_localnet on the bridge lets B in (CVE-2020-8558)...
    await inNs(nsA, ["nft", "flush", "chain", "inet", table, "guard"]);
    expect(await connect(nsB, "127.0.0.1", 9999)).toBe("loopback of A\n");
    // ...with it (re-installed by enableRouteLocalnet), B's packets to 127.0.0.0/8 are dropped.
    await nft.enableRouteLocalnet("wbr0");
    expect(await nft.rules()).toContain(`jump ${bridgeChains("wbr0").guard}`);
    await expect(connect(nsB, "127.0.0.1", 9999)).rejects.toThrow(/timed out/);
    // The host itself still reaches it.
    expect(await connect(nsA, "127.0.0.1", 9999)).toBe("loopback of A\n");
  });

  it("removes the whole table, leaving the namespace's ruleset empty", async () => {
    await nft.removeTable();
    await nft.removeTable(); // idempotent
    expect(await nft.rules()).toBe("");
    expect((await inNs(nsA, ["nft", "list", "ruleset"])).trim()).toBe("");
    // Removing from a table that is gone is a no-op.
    await nft.removePortForwards("web");
    await nft.removeBridgeNat("wbr0");
    await nft.disableRouteLocalnet("wbr0");
    expect(await nft.rules()).toBe("");
    expect((await inNs(nsA, ["cat", "/proc/sys/net/ipv4/conf/wbr0/route_localnet"])).trim()).toBe("0");
  });

  it("never touched the host's ruleset", async () => {
    expect(await hostRuleset()).toBe(hostBefore);
  });
});

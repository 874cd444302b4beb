import { describe, expect, it } from "vitest";

import { ConfigError, HostError } from "../errors.js";
import {
  bridgeChains,
  bridgeNatScript,
  chainId,
  containerChains,
  dispatchScript,
  EMPTY_STATE,
  endpointText,
  existingForwards,
  forwardComment,
  localnetGuardScript,
  needsLocalnet,
  Nft,
  nftMissingError,
  type NftState,
  parseForwardComment,
  parseTable,
  portForwardScript,
  removeBridgeNatScript,
  removeLocalnetGuardScript,
  removePortForwardsScript,
  removeTableScript,
  tableScript,
  type PortForward,
} from "./nft.js";

const T = "warren_t";

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error("expected a ConfigError");
}

/**
 * What nft would hold after running `script` on `state`: a small model of
 * the commands these builders emit (add/flush/delete chain, add/delete
 * rule), good enough to check idempotence and removal without a kernel.
 */
function apply(state: NftState, script: string): NftState {
  const chains = new Map<string, { handle: number; text: string; comment?: string }[]>();
  for (const c of state.chains) chains.set(c, []);
  for (const r of state.rules) chains.get(r.chain)!.push({ handle: r.handle, text: r.text, ...(r.comment !== undefined ? { comment: r.comment } : {}) });
  let exists = state.exists;
  let handle = 1000 + state.rules.length;
  const lines = script.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    let m: RegExpExecArray | null;
    if ((m = /^table inet (\S+) \{$/.exec(l))) {
      exists = true;
      for (i++; lines[i] !== "}"; i++) {
        const c = /^\tchain (\S+) \{$/.exec(lines[i]!);
        if (c && !chains.has(c[1]!)) chains.set(c[1]!, []);
      }
    } else if ((m = /^add chain inet \S+ (\S+)$/.exec(l))) {
      if (!chains.has(m[1]!)) chains.set(m[1]!, []);
    } else if ((m = /^flush chain inet \S+ (\S+)$/.exec(l))) {
      if (!chains.has(m[1]!)) throw new Error(`flush of missing chain ${m[1]}`);
      chains.set(m[1]!, []);
    } else if ((m = /^delete chain inet \S+ (\S+)$/.exec(l))) {
      if (chains.get(m[1]!)?.length) throw new Error(`delete of non-empty chain ${m[1]}`);
      for (const rules of chains.values()) if (rules.some((r) => r.text === `jump ${m![1]}`)) throw new Error(`delete of referenced chain ${m[1]}`);
      chains.delete(m[1]!);
    } else if ((m = /^add rule inet \S+ (\S+) (.*)$/.exec(l))) {
      const comment = /comment "([^"]*)"$/.exec(m[2]!)?.[1];
      chains.get(m[1]!)!.push({ handle: handle++, text: m[2]!, ...(comment !== undefined ? { comment } : {}) });
    } else if ((m = /^delete rule inet \S+ (\S+) handle (\d+)$/.exec(l))) {
      const rules = chains.get(m[1]!)!;
      const at = rules.findIndex((r) => r.handle === Number(m![2]));
      if (at < 0) throw new Error(`no rule ${m[2]} in ${m[1]}`);
      rules.splice(at, 1);
    } else if ((m = /^delete table inet \S+$/.exec(l))) {
      return { ...EMPTY_STATE };
    } else if (l !== "") {
      throw new Error(`unexpected line ${l}`);
    }
  }
  return {
    exists,
    chains: [...chains.keys()],
    rules: [...chains.entries()].flatMap(([chain, rules]) => rules.map((r) => ({ chain, ...r }))),
  };
}

const rulesOf = (s: NftState, chain: string) => s.rules.filter((r) => r.chain === chain).map((r) => r.text);

const fwd = (hostPort: number, containerAddress: string, extra: Partial<PortForward> = {}): PortForward => ({
  hostPort,
  containerAddress,
  containerPort: 80,
  proto: "tcp",
  ...extra,
});

describe("names", () => {
  it("derives distinct, nft-safe chain names", () => {
    expect(chainId("warren0")).toMatch(/^warren0_[0-9a-f]{8}$/);
    expect(chainId("a.b")).not.toBe(chainId("a-b"));
    expect(chainId("a.b")).toMatch(/^a_b_[0-9a-f]{8}$/);
    expect(bridgeChains("warren0")).toEqual({
      nat4: `br_${chainId("warren0")}_nat4`,
      nat6: `br_${chainId("warren0")}_nat6`,
      fwd: `br_${chainId("warren0")}_fwd`,
      guard: `br_${chainId("warren0")}_guard`,
    });
    expect(containerChains("web#1").pre).toMatch(/^ct_web_1_[0-9a-f]{8}_pre$/);
  });

  it("tags and reads back forwards in comments", () => {
    expect(forwardComment("web", { host: "127.0.0.1", hostPort: 8080, proto: "tcp" })).toBe("warren:web tcp 127.0.0.1:8080");
    expect(forwardComment("web", { host: "::", hostPort: 53, proto: "udp" })).toBe("warren:web udp [::]:53");
    expect(parseForwardComment("warren:web udp [::]:53")).toEqual({ container: "web", proto: "udp", host: "::", hostPort: 53, family: 6, any: true });
    expect(parseForwardComment("warren:web tcp 10.0.0.1:80")).toMatchObject({ family: 4, any: false });
    expect(parseForwardComment("warren:bridge warren0")).toBeUndefined();
    expect(endpointText("fd00::1", 80, "tcp")).toBe("[fd00::1]:80/tcp");
    // The longest comment fits nft's 128 bytes.
    const longest = forwardComment("x".repeat(64), { host: "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", hostPort: 65535, proto: "tcp" });
    expect(longest.length).toBeLessThanOrEqual(128);
  });
});

describe("table and dispatch", () => {
  it("declares the table with its base chains", () => {
    expect(tableScript(T)).toBe(
      [
        "table inet warren_t {",
        "\tchain postrouting {",
        "\t\ttype nat hook postrouting priority srcnat; policy accept;",
        "\t}",
        "\tchain prerouting {",
        "\t\ttype nat hook prerouting priority dstnat; policy accept;",
        "\t}",
        "\tchain output {",
        "\t\ttype nat hook output priority -100; policy accept;",
        "\t}",
        "\tchain forward {",
        "\t\ttype filter hook forward priority filter; policy accept;",
        "\t}",
        "\tchain guard {",
        "\t\ttype filter hook prerouting priority raw; policy accept;",
        "\t}",
        "}",
      ].join("\n"),
    );
    expect(() => tableScript("bad-name")).toThrow(ConfigError);
    expect(() => tableScript("x; flush ruleset")).toThrow(ConfigError);
  });

  it("rebuilds every base chain with one jump per warren chain, bridges first", () => {
    expect(dispatchScript(T, ["postrouting", "ct_b_1_post", "ct_b_1_pre", "ct_a_2_out", "br_w_3_nat4", "br_w_3_fwd", "br_w_3_guard", "br_w_3_nat6", "ct_b_1_pre"])).toBe(
      [
        "flush chain inet warren_t postrouting",
        "add rule inet warren_t postrouting jump br_w_3_nat4",
        "add rule inet warren_t postrouting jump br_w_3_nat6",
        "add rule inet warren_t postrouting jump ct_b_1_post",
        "flush chain inet warren_t prerouting",
        "add rule inet warren_t prerouting jump ct_b_1_pre",
        "flush chain inet warren_t output",
        "add rule inet warren_t output jump ct_a_2_out",
        "flush chain inet warren_t forward",
        "add rule inet warren_t forward jump br_w_3_fwd",
        "flush chain inet warren_t guard",
        "add rule inet warren_t guard jump br_w_3_guard",
      ].join("\n"),
    );
  });

  it("removes the table idempotently", () => {
    expect(removeTableScript(T)).toBe("table inet warren_t {\n}\ndelete table inet warren_t\n");
  });
});

describe("bridge NAT", () => {
  const br = bridgeChains("wbr0");

  it("builds the NAT and forward chains and the jumps", () => {
    const s = bridgeNatScript(T, "wbr0", ["10.98.0.0/24"]);
    expect(s).toBe(
      [
        tableScript(T),
        `add chain inet warren_t ${br.nat4}`,
        `flush chain inet warren_t ${br.nat4}`,
        `add rule inet warren_t ${br.nat4} ip saddr 10.98.0.0/24 ip daddr != 10.98.0.0/24 oifname != "wbr0" masquerade comment "warren:bridge wbr0"`,
        `add rule inet warren_t ${br.nat4} ip saddr 10.98.0.0/24 oifname "wbr0" ct status dnat masquerade comment "warren:bridge wbr0"`,
        `add chain inet warren_t ${br.fwd}`,
        `flush chain inet warren_t ${br.fwd}`,
        `add rule inet warren_t ${br.fwd} iifname "wbr0" accept comment "warren:bridge wbr0"`,
        `add rule inet warren_t ${br.fwd} oifname "wbr0" accept comment "warren:bridge wbr0"`,
        "flush chain inet warren_t postrouting",
        `add rule inet warren_t postrouting jump ${br.nat4}`,
        "flush chain inet warren_t prerouting",
        "flush chain inet warren_t output",
        "flush chain inet warren_t forward",
        `add rule inet warren_t forward jump ${br.fwd}`,
        "flush chain inet warren_t guard",
        "",
      ].join("\n"),
    );
  });

  it("uses the network address and handles IPv6", () => {
    const s = bridgeNatScript(T, "wbr0", ["fd42:98:0::/64", "10.98.0.1/24"]);
    expect(s).toContain(`add rule inet warren_t ${br.nat6} ip6 saddr fd42:98::/64 ip6 daddr != fd42:98::/64 oifname != "wbr0" masquerade`);
    expect(s).toContain(`ip saddr 10.98.0.0/24 ip daddr != 10.98.0.0/24`);
    expect(configError(() => bridgeNatScript(T, "wbr0", ["10.0.0.0/24", "10.1.0.0/24"])).message).toMatch(/more than one IPv4 subnet/);
    expect(() => bridgeNatScript(T, "wbr0", [])).toThrow(ConfigError);
    expect(() => bridgeNatScript(T, "wbr0", ["10.0.0.0"])).toThrow(ConfigError);
    expect(() => bridgeNatScript(T, 'a" accept', ["10.0.0.0/24"])).toThrow(ConfigError);
    expect(() => bridgeNatScript(T, "sixteen-chars-xx", ["10.0.0.0/24"])).toThrow(ConfigError);
  });

  it("is idempotent, keeps the other family, and removes as a unit", () => {
    let st = apply(EMPTY_STATE, bridgeNatScript(T, "wbr0", ["10.98.0.0/24"]));
    const once = st;
    st = apply(st, bridgeNatScript(T, "wbr0", ["10.98.0.0/24"], st));
    expect(st.chains).toEqual(once.chains);
    expect(st.rules.map((r) => [r.chain, r.text])).toEqual(once.rules.map((r) => [r.chain, r.text]));
    st = apply(st, bridgeNatScript(T, "wbr0", ["fd42:98::/64"], st));
    expect(rulesOf(st, br.nat4)).toHaveLength(2);
    expect(rulesOf(st, br.nat6)).toHaveLength(2);
    expect(rulesOf(st, "postrouting")).toEqual([`jump ${br.nat4}`, `jump ${br.nat6}`]);
    st = apply(st, bridgeNatScript(T, "wbr1", ["10.99.0.0/24"], st));
    expect(rulesOf(st, "forward")).toEqual([`jump ${br.fwd}`, `jump ${bridgeChains("wbr1").fwd}`]);

    st = apply(st, removeBridgeNatScript(T, "wbr0", st));
    expect(st.chains.filter((c) => c.includes(chainId("wbr0")))).toEqual([]);
    expect(rulesOf(st, "postrouting")).toEqual([`jump ${bridgeChains("wbr1").nat4}`]);
    expect(removeBridgeNatScript(T, "wbr0", st)).toBe("");
  });

  it("guards route_localnet with a drop of 127.0.0.0/8 arriving on the bridge", () => {
    let st = apply(EMPTY_STATE, localnetGuardScript(T, "wbr0"));
    expect(rulesOf(st, br.guard)).toEqual([`iifname "wbr0" ip daddr 127.0.0.0/8 drop comment "warren:bridge wbr0"`]);
    expect(rulesOf(st, "guard")).toEqual([`jump ${br.guard}`]);
    st = apply(st, localnetGuardScript(T, "wbr0", st));
    expect(rulesOf(st, "guard")).toEqual([`jump ${br.guard}`]);
    // Removing the bridge's NAT leaves the guard: route_localnet may still be on.
    st = apply(st, bridgeNatScript(T, "wbr0", ["10.98.0.0/24"], st));
    st = apply(st, removeBridgeNatScript(T, "wbr0", st));
    expect(rulesOf(st, "guard")).toEqual([`jump ${br.guard}`]);
    st = apply(st, removeLocalnetGuardScript(T, "wbr0", st));
    expect(st.chains).not.toContain(br.guard);
    expect(removeLocalnetGuardScript(T, "wbr0", st)).toBe("");
  });
});

describe("port forwards", () => {
  const web = containerChains("web");
  const db = containerChains("db");

  it("forwards 127.0.0.1 from the host only, with the localhost masquerade", () => {
    const s = portForwardScript(T, "web", [fwd(8080, "10.98.0.2", { hostAddress: "127.0.0.1" })], "wbr0");
    expect(s).toBe(
      [
        tableScript(T),
        `add chain inet warren_t ${web.pre}`,
        `add chain inet warren_t ${web.out}`,
        `add chain inet warren_t ${web.post}`,
        `add rule inet warren_t ${web.out} ip daddr 127.0.0.1 tcp dport 8080 dnat ip to 10.98.0.2:80 comment "warren:web tcp 127.0.0.1:8080"`,
        `add rule inet warren_t ${web.post} ip saddr 127.0.0.0/8 ip daddr 10.98.0.2 oifname "wbr0" tcp dport 80 masquerade comment "warren:web tcp 127.0.0.1:8080"`,
        "flush chain inet warren_t postrouting",
        `add rule inet warren_t postrouting jump ${web.post}`,
        "flush chain inet warren_t prerouting",
        `add rule inet warren_t prerouting jump ${web.pre}`,
        "flush chain inet warren_t output",
        `add rule inet warren_t output jump ${web.out}`,
        "flush chain inet warren_t forward",
        "flush chain inet warren_t guard",
        "",
      ].join("\n"),
    );
  });

  it("forwards every address from outside (never 127.0.0.0/8) and from the host", () => {
    const s = portForwardScript(T, "web", [fwd(8080, "10.98.0.2", { proto: "udp", containerPort: 53 })], "wbr0");
    expect(s).toContain(
      `add rule inet warren_t ${web.pre} fib daddr type local ip daddr != 127.0.0.0/8 udp dport 8080 dnat ip to 10.98.0.2:53 comment "warren:web udp 0.0.0.0:8080"`,
    );
    expect(s).toContain(`add rule inet warren_t ${web.out} meta nfproto ipv4 fib daddr type local udp dport 8080 dnat ip to 10.98.0.2:53 comment "warren:web udp 0.0.0.0:8080"`);
    expect(s).toContain(`${web.post} ip saddr 127.0.0.0/8 ip daddr 10.98.0.2 oifname "wbr0" udp dport 53 masquerade`);
  });

  it("forwards one host address, and IPv6", () => {
    const s = portForwardScript(
      T,
      "web",
      [fwd(80, "10.98.0.2", { hostAddress: "192.0.2.10" }), fwd(80, "fd42:98::2"), fwd(443, "fd42:98::2", { hostAddress: "2001:db8::10", containerPort: 443 })],
      "wbr0",
    );
    const lines = s.split("\n");
    const rule = `ip daddr 192.0.2.10 fib daddr type local tcp dport 80 dnat ip to 10.98.0.2:80 comment "warren:web tcp 192.0.2.10:80"`;
    expect(lines).toContain(`add rule inet warren_t ${web.pre} ${rule}`);
    expect(lines).toContain(`add rule inet warren_t ${web.out} ${rule}`);
    const any6 = `fib daddr type local ip6 daddr != ::1 tcp dport 80 dnat ip6 to [fd42:98::2]:80 comment "warren:web tcp [::]:80"`;
    expect(lines).toContain(`add rule inet warren_t ${web.pre} ${any6}`);
    expect(lines).toContain(`add rule inet warren_t ${web.out} ${any6}`);
    expect(lines).toContain(
      `add rule inet warren_t ${web.pre} ip6 daddr 2001:db8::10 fib daddr type local tcp dport 443 dnat ip6 to [fd42:98::2]:443 comment "warren:web tcp [2001:db8::10]:443"`,
    );
    expect(lines.filter((l) => l.includes(web.post) && l.includes("masquerade"))).toEqual([]);
  });

  it("validates each forward, naming the field", () => {
    const cases: [PortForward, string, RegExp][] = [
      [fwd(0, "10.0.0.2"), "ports[0].hostPort", /not a port/],
      [fwd(70000, "10.0.0.2"), "ports[0].hostPort", /not a port/],
      [fwd(80, "10.0.0.2", { containerPort: 1.5 }), "ports[0].containerPort", /not a port/],
      [fwd(80, "10.0.0.2", { proto: "sctp" as never }), "ports[0].proto", /tcp or udp/],
      [fwd(80, "10.0.0"), "ports[0].containerAddress", /not an IPv4 or IPv6/],
      [fwd(80, "127.0.0.1"), "ports[0].containerAddress", /not a container's address/],
      [fwd(80, "10.0.0.2", { hostAddress: "fd00::1" }), "ports[0].hostAddress", /same IP version/],
      [fwd(80, "fd00::2", { hostAddress: "::1" }), "ports[0].hostAddress", /::1 cannot be forwarded/],
      [fwd(80, "10.0.0.2", { hostAddress: "localhost" }), "ports[0].hostAddress", /not an IPv4 or IPv6/],
    ];
    for (const [f, path, why] of cases) {
      const e = configError(() => portForwardScript(T, "web", [f], "wbr0"));
      expect(e.issues[0]!.path, JSON.stringify(f)).toBe(path);
      expect(e.issues[0]!.message).toMatch(why);
    }
    expect(configError(() => portForwardScript(T, "web", [fwd(0, "10.0.0.2")], "wbr0", EMPTY_STATE, "nics.ports")).issues[0]!.path).toBe("nics.ports[0].hostPort");
    expect(() => portForwardScript(T, "bad name", [fwd(80, "10.0.0.2")], "wbr0")).toThrow(ConfigError);
    expect(() => portForwardScript(T, 'x"', [fwd(80, "10.0.0.2")], "wbr0")).toThrow(ConfigError);
    expect(portForwardScript(T, "web", [], "wbr0")).toBe("");
  });

  it("refuses a host port another container forwards, and duplicates in one call", () => {
    let st = apply(EMPTY_STATE, portForwardScript(T, "web", [fwd(8080, "10.98.0.2", { hostAddress: "127.0.0.1" })], "wbr0"));
    const e = configError(() => portForwardScript(T, "db", [fwd(8080, "10.98.0.3", { hostAddress: "127.0.0.1" })], "wbr0", st));
    expect(e.issues[0]).toEqual({ path: "ports[0]", message: "127.0.0.1:8080/tcp is already forwarded to container web" });
    expect(e.container).toBe("db");
    // Every address includes 127.0.0.1.
    const any = configError(() => portForwardScript(T, "db", [fwd(8080, "10.98.0.3")], "wbr0", st));
    expect(any.issues[0]!.message).toBe("0.0.0.0:8080/tcp is already forwarded to container web (as 127.0.0.1:8080/tcp)");
    // Another protocol, address, port or family is free.
    st = apply(st, portForwardScript(T, "db", [fwd(8080, "10.98.0.3", { proto: "udp" }), fwd(8080, "10.98.0.3", { hostAddress: "127.0.0.2" }), fwd(8081, "10.98.0.3"), fwd(8080, "fd42::3")], "wbr0", st));
    expect(existingForwards(st).map((f) => `${f.container} ${endpointText(f.host, f.hostPort, f.proto)}`).sort()).toEqual([
      "db 0.0.0.0:8080/udp",
      "db 0.0.0.0:8081/tcp",
      "db 127.0.0.2:8080/tcp",
      "db [::]:8080/tcp",
      "web 127.0.0.1:8080/tcp",
    ]);
    const twice = configError(() => portForwardScript(T, "x", [fwd(9000, "10.98.0.4"), fwd(9000, "10.98.0.4", { hostAddress: "10.0.0.1" })], "wbr0", st));
    expect(twice.issues[0]).toEqual({ path: "ports[1]", message: "10.0.0.1:9000/tcp is forwarded twice (also by ports[0])" });
  });

  it("replaces a container's own forward on the same endpoint, and removes a container as a unit", () => {
    let st = apply(EMPTY_STATE, portForwardScript(T, "web", [fwd(8080, "10.98.0.2"), fwd(9090, "10.98.0.2")], "wbr0"));
    st = apply(st, portForwardScript(T, "db", [fwd(5432, "10.98.0.3", { containerPort: 5432 })], "wbr0", st));
    // A restart with a new address: same endpoint, new target, no duplicate.
    st = apply(st, portForwardScript(T, "web", [fwd(8080, "10.98.0.7")], "wbr0", st));
    expect(rulesOf(st, web.pre)).toEqual([
      `fib daddr type local ip daddr != 127.0.0.0/8 tcp dport 9090 dnat ip to 10.98.0.2:80 comment "warren:web tcp 0.0.0.0:9090"`,
      `fib daddr type local ip daddr != 127.0.0.0/8 tcp dport 8080 dnat ip to 10.98.0.7:80 comment "warren:web tcp 0.0.0.0:8080"`,
    ]);
    expect(rulesOf(st, web.post)).toHaveLength(2);
    expect(rulesOf(st, "prerouting")).toEqual([`jump ${db.pre}`, `jump ${web.pre}`]);

    st = apply(st, removePortForwardsScript(T, "web", st));
    expect(st.chains.filter((c) => c.startsWith("ct_web"))).toEqual([]);
    expect(rulesOf(st, "prerouting")).toEqual([`jump ${db.pre}`]);
    expect(rulesOf(st, "output")).toEqual([`jump ${db.out}`]);
    expect(rulesOf(st, "postrouting")).toEqual([`jump ${db.post}`]);
    expect(existingForwards(st).map((f) => f.container)).toEqual(["db"]);
    expect(removePortForwardsScript(T, "web", st)).toBe("");
    // The port is free again.
    expect(() => portForwardScript(T, "other", [fwd(8080, "10.98.0.9")], "wbr0", st)).not.toThrow();
  });

  it("says when a forward needs route_localnet", () => {
    expect(needsLocalnet([fwd(80, "10.0.0.2")])).toBe(true);
    expect(needsLocalnet([fwd(80, "10.0.0.2", { hostAddress: "127.0.0.1" })])).toBe(true);
    expect(needsLocalnet([fwd(80, "10.0.0.2", { hostAddress: "192.0.2.1" }), fwd(80, "fd00::2")])).toBe(false);
  });
});

describe("reading the table back", () => {
  it("parses `nft -a list table` output", () => {
    const text = `table inet warren_t { # handle 7
\tchain postrouting { # handle 1
\t\ttype nat hook postrouting priority srcnat; policy accept;
\t\tjump br_wbr0_36957360_nat4 # handle 9
\t}

\tchain ct_web_4b5e57f6_out { # handle 5
\t\tip daddr 127.0.0.1 tcp dport 8080 dnat ip to 10.98.0.2:80 comment "warren:web tcp 127.0.0.1:8080" # handle 12
\t}
}
`;
    expect(parseTable(text)).toEqual({
      exists: true,
      chains: ["postrouting", "ct_web_4b5e57f6_out"],
      rules: [
        { chain: "postrouting", handle: 9, text: "jump br_wbr0_36957360_nat4" },
        {
          chain: "ct_web_4b5e57f6_out",
          handle: 12,
          comment: "warren:web tcp 127.0.0.1:8080",
          text: `ip daddr 127.0.0.1 tcp dport 8080 dnat ip to 10.98.0.2:80 comment "warren:web tcp 127.0.0.1:8080"`,
        },
      ],
    });
    expect(parseTable("")).toEqual(EMPTY_STATE);
  });
});

describe("Nft", () => {
  it("names the table and lock, and checks its names", () => {
    expect(new Nft().table).toBe("warren");
    expect(new Nft().lockPath).toBe("/run/warren/nft-warren.lock");
    expect(new Nft({ table: "warren_x", netnsPath: "/proc/1/ns/net" }).lockPath).toMatch(/^\/run\/warren\/nft-warren_x-[0-9a-f]{8}\.lock$/);
    expect(() => new Nft({ table: "no-dash" })).toThrow(ConfigError);
  });

  it("says how to install nft when it is missing", () => {
    const e = nftMissingError();
    expect(e).toBeInstanceOf(HostError);
    expect(e.errno).toBe("ENOENT");
    expect(e.message).toBe(
      "nftables is needed for NAT and port forwards: install Debian's `nftables` package (the `nft` binary was not found): ENOENT",
    );
  });
});

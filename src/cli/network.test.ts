import { describe, expect, it } from "vitest";

import { containerSchema } from "../schema.js";
import { COMMON_OPTIONS, CONFIG_OPTIONS, splitArgs } from "./args.js";
import { configFromFlags } from "./config-args.js";
import { networkFromFlags, parseDns, parseNic, parsePublish } from "./network-args.js";
import { main } from "./main.js";
import { interfaceTable } from "./network.js";
import { capture, usageError } from "./testing.js";
import { USAGE } from "./usage.js";

const RUN = { ...COMMON_OPTIONS, ...CONFIG_OPTIONS, name: { type: "string" }, rm: { type: "boolean" } } as const;
const flags = (argv: string[]) => configFromFlags(splitArgs(argv, RUN, 0, "run").values, "/work");
const net = (argv: string[]) => networkFromFlags(splitArgs(argv, RUN, 0, "run").values);

describe("parseNic", () => {
  it("parses bridged specs, every key", () => {
    expect(parseNic("bridged")).toEqual({ type: "bridged" });
    expect(
      parseNic("bridged,name=eth1,bridge=br0,ipv4=192.168.7.5/24,subnet=10.9.0.0/24,subnet6=fd42:1::/64,gateway=192.168.7.1,mac=02:16:3e:00:00:01,mtu=1400"),
    ).toEqual({
      type: "bridged",
      name: "eth1",
      bridge: "br0",
      ipv4: "192.168.7.5/24",
      subnet: "10.9.0.0/24",
      subnet6: "fd42:1::/64",
      gateway: "192.168.7.1",
      mac: "02:16:3e:00:00:01",
      mtu: 1400,
    });
    expect(parseNic("bridged,ipv4=10.117.0.50")).toEqual({ type: "bridged", ipv4: "10.117.0.50" });
  });

  it("parses macvlan and physical specs", () => {
    expect(parseNic("macvlan,parent=enp1s0")).toEqual({ type: "macvlan", parent: "enp1s0" });
    expect(parseNic("macvlan,parent=enp1s0,name=lan0,ipv4=192.168.5.20/24,gateway=192.168.5.1,mac=02:00:00:00:00:02,mtu=9000")).toEqual({
      type: "macvlan",
      parent: "enp1s0",
      name: "lan0",
      ipv4: "192.168.5.20/24",
      gateway: "192.168.5.1",
      mac: "02:00:00:00:00:02",
      mtu: 9000,
    });
    expect(parseNic("physical,parent=enp2s0")).toEqual({ type: "physical", parent: "enp2s0" });
    expect(parseNic("physical,parent=enp2s0,name=eth0,ipv4=10.0.0.2/8,gateway=10.0.0.1")).toEqual({
      type: "physical",
      parent: "enp2s0",
      name: "eth0",
      ipv4: "10.0.0.2/8",
      gateway: "10.0.0.1",
    });
  });

  it("parses routed specs, with or without a parent", () => {
    expect(parseNic("routed,ipv4=192.0.2.10")).toEqual({ type: "routed", ipv4: "192.0.2.10" });
    expect(parseNic("routed,ipv4=192.0.2.10,ipv6=2001:db8::10,parent=enp1s0,name=eth1,gateway=169.254.0.2,gateway6=fe80::2")).toEqual({
      type: "routed",
      ipv4: "192.0.2.10",
      ipv6: "2001:db8::10",
      parent: "enp1s0",
      name: "eth1",
      gateway: "169.254.0.2",
      gateway6: "fe80::2",
    });
    expect(usageError(() => parseNic("routed,parent=enp1s0")).message).toMatch(/ipv4/);
  });

  it("gives what the library accepts", () => {
    for (const spec of ["bridged,name=eth1,mtu=1400", "macvlan,parent=enp1s0,ipv4=192.168.5.20/24", "physical,parent=enp2s0", "routed,ipv4=192.0.2.10"]) {
      expect(containerSchema.safeParse({ nics: [parseNic(spec)] }).success, spec).toBe(true);
    }
  });

  it("names the flag and the bad part", () => {
    const cases: [string, string][] = [
      ["bridged,foo=1", '--nic: unknown key "foo" in "bridged,foo=1"'],
      ["bridged,parent=eth0", '--nic: unknown key "parent" in "bridged,parent=eth0"'],
      ["physical,parent=x,mac=02:00:00:00:00:01", '--nic: unknown key "mac" in "physical,parent=x,mac=02:00:00:00:00:01"'],
      ["bridge", '--nic: unknown NIC type "bridge" in "bridge" (expected bridged, macvlan, physical or routed)'],
      ["", '--nic: unknown NIC type "" in "" (expected bridged, macvlan, physical or routed)'],
      ["bridged,name", '--nic: expected KEY=VALUE, got "name" in "bridged,name"'],
      ["bridged,", '--nic: expected KEY=VALUE, got "" in "bridged,"'],
      ["bridged,=x", '--nic: expected KEY=VALUE, got "=x" in "bridged,=x"'],
      ["bridged,name=", '--nic: name needs a value in "bridged,name="'],
      ["bridged,name=a,name=b", '--nic: name given twice in "bridged,name=a,name=b"'],
      ["macvlan", '--nic: macvlan needs parent=IF (the host interface) in "macvlan"'],
      ["physical,name=x", '--nic: physical needs parent=IF (the host interface) in "physical,name=x"'],
      ["bridged,mtu=abc", '--nic: mtu="abc": expected a number from 576 to 65535 in "bridged,mtu=abc"'],
      ["bridged,mtu=100", '--nic: mtu="100": expected a number from 576 to 65535 in "bridged,mtu=100"'],
      ["bridged,mac=zz", '--nic: mac="zz": must be a MAC address like 02:16:3e:00:00:01 in "bridged,mac=zz"'],
      ["bridged,mac=03:00:00:00:00:01", '--nic: mac="03:00:00:00:00:01": must be a unicast MAC address in "bridged,mac=03:00:00:00:00:01"'],
      ["bridged,ipv4=10.1.2", '--nic: ipv4="10.1.2": must be an IPv4 address, or ADDRESS/PREFIX on a bridge of your own, in "bridged,ipv4=10.1.2"'],
      ["bridged,subnet=10.0.0.0", '--nic: subnet="10.0.0.0": must be an IPv4 address with a prefix length, like 10.0.0.2/24 in "bridged,subnet=10.0.0.0"'],
      ["macvlan,parent=eth0,ipv4=1.2.3.4", '--nic: ipv4="1.2.3.4": must be an IPv4 address with a prefix length, like 10.0.0.2/24 in "macvlan,parent=eth0,ipv4=1.2.3.4"'],
      ["macvlan,parent=eth0,gateway=1.2.3", '--nic: gateway="1.2.3": must be an IPv4 address in "macvlan,parent=eth0,gateway=1.2.3"'],
    ];
    for (const [spec, message] of cases) expect(usageError(() => parseNic(spec)).message, spec).toBe(message);
    expect(usageError(() => parseNic("bridged,name=way-too-long-name")).message).toMatch(/^--nic: name="way-too-long-name": must be an interface name/);
    expect(usageError(() => parseNic("bridged,foo=1", "nic add")).message).toBe('nic add: unknown key "foo" in "bridged,foo=1"');
  });
});

describe("parsePublish", () => {
  it("parses every form, TCP by default", () => {
    expect(parsePublish("8080:80")).toEqual({ host: "8080", container: 80, proto: "tcp" });
    expect(parsePublish("127.0.0.1:8080:80")).toEqual({ host: "127.0.0.1:8080", container: 80, proto: "tcp" });
    expect(parsePublish("8080:80/tcp")).toEqual({ host: "8080", container: 80, proto: "tcp" });
    expect(parsePublish("5353:53/udp")).toEqual({ host: "5353", container: 53, proto: "udp" });
    expect(parsePublish("0.0.0.0:1:65535/udp")).toEqual({ host: "0.0.0.0:1", container: 65535, proto: "udp" });
  });

  it("gives what the library accepts", () => {
    for (const p of ["8080:80", "127.0.0.1:8080:80/udp"]) {
      expect(containerSchema.safeParse({ nics: [{ type: "bridged" }], ports: [parsePublish(p)] }).success, p).toBe(true);
    }
  });

  it("names the flag and the bad part", () => {
    const cases: [string, string][] = [
      ["80", '-p/--publish: expected [HOSTADDR:]HOSTPORT:CONTAINERPORT[/tcp|udp], got "80"'],
      ["1.2.3.4:1:2:3", '-p/--publish: expected [HOSTADDR:]HOSTPORT:CONTAINERPORT[/tcp|udp], got "1.2.3.4:1:2:3"'],
      ["8080:80/sctp", '-p/--publish: unknown protocol "sctp" in "8080:80/sctp" (expected tcp or udp)'],
      ["8080:80/", '-p/--publish: unknown protocol "" in "8080:80/" (expected tcp or udp)'],
      ["localhost:8080:80", '-p/--publish: bad host address "localhost" in "localhost:8080:80" (expected an IPv4 address like 127.0.0.1)'],
      ["300.0.0.1:8080:80", '-p/--publish: bad host address "300.0.0.1" in "300.0.0.1:8080:80" (expected an IPv4 address like 127.0.0.1)'],
      [":8080:80", '-p/--publish: bad host address "" in ":8080:80" (expected an IPv4 address like 127.0.0.1)'],
      ["0:80", '-p/--publish: bad host port "0" in "0:80" (expected 1-65535)'],
      ["65536:80", '-p/--publish: bad host port "65536" in "65536:80" (expected 1-65535)'],
      ["8080:http", '-p/--publish: bad container port "http" in "8080:http" (expected 1-65535)'],
      ["8080-8081:80", '-p/--publish: bad host port "8080-8081" in "8080-8081:80" (expected 1-65535)'],
      ["8080:", '-p/--publish: bad container port "" in "8080:" (expected 1-65535)'],
    ];
    for (const [spec, message] of cases) expect(usageError(() => parsePublish(spec)).message, spec).toBe(message);
  });
});

describe("network flags", () => {
  it("adds nothing without them", () => {
    expect(net([])).toEqual({ nics: [], ports: [], dns: [] });
    expect(flags([])).toEqual({});
  });

  it("maps --net bridged to one default bridged NIC", () => {
    expect(flags(["--net", "bridged"])).toEqual({ nics: [{ type: "bridged" }] });
    expect(usageError(() => flags(["--net", "host"])).message).toBe(
      '--net: expected bridged, got "host" (other NICs are --nic SPEC; the host\'s network is --share-net)',
    );
  });

  it("keeps --nic in order, after --net bridged", () => {
    expect(flags(["--nic", "macvlan,parent=enp1s0,name=lan0", "--net", "bridged", "--nic=bridged,name=eth1"]).nics).toEqual([
      { type: "bridged" },
      { type: "macvlan", parent: "enp1s0", name: "lan0" },
      { type: "bridged", name: "eth1" },
    ]);
  });

  it("rejects two interfaces with one name", () => {
    expect(usageError(() => flags(["--net", "bridged", "--nic", "bridged"])).message).toBe(
      "--nic: interface name eth0 used twice (--net bridged is eth0); give one a name=",
    );
    expect(usageError(() => flags(["--nic", "macvlan,parent=a", "--nic", "physical,parent=b,name=eth0"])).message).toBe(
      "--nic: interface name eth0 used twice; give one a name=",
    );
  });

  it("maps -p and --publish to ports", () => {
    expect(flags(["-p", "8080:80", "--publish", "127.0.0.1:5353:53/udp", "--net", "bridged"])).toEqual({
      nics: [{ type: "bridged" }],
      ports: [
        { host: "8080", container: 80, proto: "tcp" },
        { host: "127.0.0.1:5353", container: 53, proto: "udp" },
      ],
    });
    expect(usageError(() => flags(["-p", "8080:80", "-p", "8080:81"])).message).toBe("-p/--publish: host port 8080/tcp published twice");
    expect(net(["-p", "8080:80", "-p", "8080:80/udp"]).ports).toHaveLength(2);
  });

  it("adds a default bridged NIC for -p when there is no bridged NIC", () => {
    expect(flags(["-p", "8080:80"])).toEqual({ nics: [{ type: "bridged" }], ports: [{ host: "8080", container: 80, proto: "tcp" }] });
    // eth0 is taken by the macvlan: the added one is eth1.
    expect(flags(["--nic", "macvlan,parent=enp1s0", "-p", "8080:80"]).nics).toEqual([
      { type: "macvlan", parent: "enp1s0" },
      { type: "bridged", name: "eth1" },
    ]);
    // A bridged NIC already there: nothing added.
    expect(flags(["--nic", "bridged,name=lan", "-p", "8080:80"]).nics).toEqual([{ type: "bridged", name: "lan" }]);
    const config = flags(["-p", "127.0.0.1:8080:80"]);
    expect(containerSchema.safeParse(config).success).toBe(true);
  });

  it("rejects network options with --share-net", () => {
    expect(usageError(() => flags(["--share-net", "-p", "8080:80"])).message).toBe(
      "-p/--publish needs the container's own network: it cannot be used with --share-net",
    );
    expect(usageError(() => flags(["--share-net", "--net", "bridged"])).message).toMatch(/^--net needs the container's own network/);
    expect(usageError(() => flags(["--share-net", "--nic", "bridged"])).message).toMatch(/^--nic needs the container's own network/);
  });

  it("maps --dns to dns", () => {
    expect(flags(["--dns", "192.168.1.1", "--dns", "fd00::53"])).toEqual({ dns: ["192.168.1.1", "fd00::53"] });
    expect(parseDns("1.1.1.1")).toBe("1.1.1.1");
    expect(usageError(() => flags(["--dns", "dns.example"])).message).toBe('--dns: expected an IP address, got "dns.example"');
  });

  it("reports a bad --nic through run and create before creating anything", async () => {
    for (const command of ["run", "create"]) {
      const io = capture();
      const argv = command === "run" ? ["run", "--nic", "bridged,foo=1", "--", "true"] : ["create", "--nic", "bridged,foo=1", "x"];
      expect(await main(["--root", `/tmp/warren-cli-net-${process.pid}`, ...argv], io)).toBe(125);
      expect(io.stderr).toBe(`warren: --nic: unknown key "foo" in "bridged,foo=1"\nSee 'warren ${command} --help'.\n`);
    }
  });
});

describe("network, nic and gc commands", () => {
  it("have help texts", async () => {
    for (const [argv, head] of [
      [["network", "--help"], "Usage: warren network [OPTIONS] NAME"],
      [["nic", "--help"], "Usage: warren nic add [OPTIONS] NAME SPEC"],
      [["nic", "add", "--help"], "Usage: warren nic add"],
      [["help", "nic"], "Usage: warren nic add"],
      [["gc", "--help"], "Usage: warren gc [OPTIONS]"],
    ] as const) {
      const io = capture();
      expect(await main([...argv], io), argv.join(" ")).toBe(0);
      expect(io.stdout.startsWith(head), argv.join(" ")).toBe(true);
    }
    expect(USAGE.run).toContain("--nic SPEC");
    expect(USAGE.create).toContain("-p, --publish [HOSTADDR:]HOSTPORT:CONTAINERPORT[/tcp|udp]");
    const io = capture();
    await main(["--help"], io);
    expect(io.stdout).toMatch(/^ {2}network /m);
    expect(io.stdout).toMatch(/^ {2}nic /m);
    expect(io.stdout).toMatch(/^ {2}gc /m);
  });

  it("fail with 125 and a hint on usage errors", async () => {
    const cases: [string[], string][] = [
      [["network"], "warren: missing container name\nSee 'warren network --help'."],
      [["network", "a", "b"], "warren: unexpected argument \"b\"\nSee 'warren network --help'."],
      [["nic"], "warren: missing subcommand (add or rm)\nSee 'warren nic --help'."],
      [["nic", "plug", "web"], "warren: unknown subcommand \"plug\" (expected add or rm)\nSee 'warren nic --help'."],
      [["nic", "add"], "warren: missing container name\nSee 'warren nic --help'."],
      [["nic", "add", "web"], "warren: missing NIC SPEC\nSee 'warren nic --help'."],
      [["nic", "rm", "web"], "warren: missing interface name\nSee 'warren nic --help'."],
      [["nic", "add", "web", "bridged,foo=1"], 'warren: nic add: unknown key "foo" in "bridged,foo=1"\nSee \'warren nic --help\'.'],
      [["nic", "rm", "web", "eth1", "extra"], "warren: unexpected argument \"extra\"\nSee 'warren nic --help'."],
      [["gc", "extra"], "warren: unexpected argument \"extra\"\nSee 'warren gc --help'."],
    ];
    for (const [argv, message] of cases) {
      const io = capture();
      expect(await main(["--root", `/tmp/warren-cli-net-${process.pid}`, ...argv], io), argv.join(" ")).toBe(125);
      expect(io.stderr, argv.join(" ")).toBe(`${message}\n`);
      expect(io.stdout).toBe("");
    }
  });

  it("shows interfaces as a table with human byte counts", () => {
    const table = interfaceTable([
      { name: "lo", index: 1, mac: "00:00:00:00:00:00", mtu: 65536, up: true, addresses: ["127.0.0.1/8", "::1/128"], stats: { rxBytes: 0, txBytes: 0, rxPackets: 0, txPackets: 0 } },
      { name: "eth0", index: 2, mac: "02:16:3e:00:00:01", mtu: 1500, up: true, addresses: ["10.117.0.2/24"], stats: { rxBytes: 1536, txBytes: 3 * 1024 * 1024, rxPackets: 3, txPackets: 9 } },
      { name: "eth1", index: 3, mtu: 1500, up: false, addresses: [] },
    ]);
    expect(table.split("\n")).toEqual([
      "NAME  MAC                MTU    STATE  ADDRESSES            RX      TX",
      "lo    00:00:00:00:00:00  65536  up     127.0.0.1/8,::1/128  0B      0B",
      "eth0  02:16:3e:00:00:01  1500   up     10.117.0.2/24        1.5KiB  3MiB",
      "eth1  -                  1500   down   -                    -       -",
    ]);
  });
});

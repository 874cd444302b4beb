import { describe, expect, it } from "vitest";

import {
  COMMON_OPTIONS,
  CONFIG_OPTIONS,
  parseCount,
  parseEnv,
  parseUser,
  splitArgs,
  stateRoot,
} from "./args.js";
import { configFromFlags, parseVolume } from "./config-args.js";
import { usageError } from "./testing.js";

const RUN = { ...COMMON_OPTIONS, ...CONFIG_OPTIONS, name: { type: "string" }, rm: { type: "boolean" } } as const;
const EXEC = { ...COMMON_OPTIONS, tty: { type: "boolean", short: "t" }, env: { type: "string", short: "e", multiple: true } } as const;


describe("splitArgs", () => {
  it("stops at -- and keeps the command's own flags", () => {
    const r = splitArgs(["--rm", "--name", "x", "--", "sh", "-c", "exit 7"], RUN, 0, "run");
    expect(r.values.rm).toBe(true);
    expect(r.values.name).toBe("x");
    expect(r.positionals).toEqual([]);
    expect(r.command).toEqual(["sh", "-c", "exit 7"]);
  });

  it("starts the command at the first extra positional, without --", () => {
    const r = splitArgs(["-e", "A=1", "web", "ls", "-l", "--rm"], EXEC, 1, "exec");
    expect(r.values.env).toEqual(["A=1"]);
    expect(r.positionals).toEqual(["web"]);
    expect(r.command).toEqual(["ls", "-l", "--rm"]);
  });

  it("takes option values that look like positionals, attached or not", () => {
    const r = splitArgs(["-eA=1", "--env", "B=2", "--env=C=3", "-te", "D=4", "web", "--", "cat"], EXEC, 1, "exec");
    expect(r.values.env).toEqual(["A=1", "B=2", "C=3", "D=4"]);
    expect(r.values.tty).toBe(true);
    expect(r.positionals).toEqual(["web"]);
    expect(r.command).toEqual(["cat"]);
  });

  it("fills missing positionals from after --", () => {
    const r = splitArgs(["--", "web", "cat", "/etc/hostname"], EXEC, 1, "exec");
    expect(r.positionals).toEqual(["web"]);
    expect(r.command).toEqual(["cat", "/etc/hostname"]);
  });

  it("repeats -v and -e in order", () => {
    const r = splitArgs(["-v", "/a:/b", "-v", "/c:/d:ro", "-e", "X=1", "-e", "Y=2"], RUN, 0, "run");
    expect(r.values.volume).toEqual(["/a:/b", "/c:/d:ro"]);
    expect(r.values.env).toEqual(["X=1", "Y=2"]);
  });

  it("rejects an unknown option with a usage error naming it and the command", () => {
    const e = usageError(() => splitArgs(["--bogus", "--", "true"], RUN, 0, "run"));
    expect(e.message).toBe("unknown option --bogus");
    expect(e.command).toBe("run");
  });

  it("rejects an option without its value", () => {
    const e = usageError(() => splitArgs(["--name"], RUN, 0, "run"));
    expect(e.message).toBe("option --name needs a value");
    expect(usageError(() => splitArgs(["-e"], RUN, 0, "run")).message).toBe("option --env needs a value");
    expect(usageError(() => splitArgs(["-e", "-x"], RUN, 0, "run")).message).toBe(
      "option -e needs a value (one starting with `-` is written --env=VALUE)",
    );
  });
});

describe("configFromFlags", () => {
  const flags = (argv: string[]) => configFromFlags(splitArgs(argv, RUN, 0, "run").values, "/work");

  it("is empty without flags (the embedded default rootfs)", () => {
    expect(flags([])).toEqual({});
  });

  it("maps -v HOST:CONTAINER:ro to a read-only bind mount", () => {
    expect(flags(["-v", "/a:/b:ro", "-v", "rel/dir:/c", "-v", "/d:/e:ro,idmap"]).mounts).toEqual([
      { type: "bind", source: "/a", target: "/b", readonly: true, recursive: true, optional: false, idmap: false },
      { type: "bind", source: "/work/rel/dir", target: "/c", readonly: false, recursive: true, optional: false, idmap: false },
      { type: "bind", source: "/d", target: "/e", readonly: true, recursive: true, optional: false, idmap: true },
    ]);
  });

  it("maps --intercept to security.intercept, and rejects other calls", () => {
    expect(flags(["--intercept", "mknod,setxattr"]).security).toEqual({ intercept: { mknod: true, setxattr: true } });
    expect(flags(["--intercept=setxattr"]).security).toEqual({ intercept: { setxattr: true } });
    expect(usageError(() => flags(["--intercept", "mknod,mount"])).message).toBe('--intercept: expected mknod, setxattr or mknod,setxattr, got "mount"');
  });

  it("maps --restart to the restart policy, and rejects other values", () => {
    expect(flags(["--restart", "on-failure"]).restart).toBe("on-failure");
    expect(flags(["--restart=always"]).restart).toBe("always");
    expect(usageError(() => flags(["--restart", "sometimes"])).message).toBe('--restart: expected no, on-failure or always, got "sometimes"');
  });

  it("maps --rootfs, --ro and --overlay to the rootfs and its mode", () => {
    expect(flags(["--rootfs", "/srv/r"]).rootfs).toBe("/srv/r");
    expect(flags(["--rootfs", "r", "--ro"]).rootfs).toEqual({ path: "/work/r", mode: "ro" });
    expect(flags(["--rootfs=/srv/r", "--overlay"]).rootfs).toEqual({ path: "/srv/r", mode: "overlay", idmap: true });
    expect(flags(["--rootfs=/srv/r", "--overlay", "--no-userns"]).rootfs).toEqual({ path: "/srv/r", mode: "overlay", idmap: false });
  });

  it("maps --proc, --sys and --sysctl KEY=VALUE (repeatable); refuses an unknown mode or a pair without =", () => {
    expect(flags(["--proc", "ro", "--sys=rw", "--sysctl", "net.ipv4.ip_forward=1", "--sysctl", "kernel.sem=250 32000 32 128"])).toEqual({
      proc: "ro",
      sys: "rw",
      sysctls: { "net.ipv4.ip_forward": "1", "kernel.sem": "250 32000 32 128" },
    });
    expect(usageError(() => flags(["--proc", "writable"])).message).toBe('--proc: expected mixed, ro or rw, got "writable"');
    expect(usageError(() => flags(["--sysctl", "net.ipv4.ip_forward"])).message).toBe('--sysctl: expected KEY=VALUE, got "net.ipv4.ip_forward"');
  });

  it("rejects --ro or --overlay without --rootfs, and both together", () => {
    expect(usageError(() => flags(["--ro"])).message).toBe("--ro needs --rootfs DIR");
    expect(usageError(() => flags(["--overlay"])).message).toBe("--overlay needs --rootfs DIR");
    expect(usageError(() => flags(["--rootfs", "/r", "--ro", "--overlay"])).message).toBe("--ro and --overlay cannot be used together");
  });

  it("maps --lxcfs auto|on|off and names the flag for anything else", () => {
    expect(flags(["--lxcfs", "auto"]).lxcfs).toBe("auto");
    expect(flags(["--lxcfs", "on"]).lxcfs).toBe(true);
    expect(flags(["--lxcfs=off"]).lxcfs).toBe(false);
    expect(flags([]).lxcfs).toBeUndefined();
    expect(usageError(() => flags(["--lxcfs", "yes"])).message).toBe('--lxcfs: expected auto, on or off, got "yes"');
  });

  it("maps --user, --cwd, --hostname, -e and the namespace switches", () => {
    expect(flags(["--user", "1000:1000", "--cwd", "/tmp", "--hostname", "h1", "-e", "A=1", "-e", "B=x=y", "--no-userns", "--share-net"])).toEqual({
      user: { uid: 1000, gid: 1000, groups: [] },
      cwd: "/tmp",
      hostname: "h1",
      env: { A: "1", B: "x=y" },
      namespaces: { user: false, net: false },
    });
    expect(flags(["--share-net"]).namespaces).toEqual({ net: false });
  });

  it("names the flag of a bad -e", () => {
    const e = usageError(() => flags(["-e", "NOVALUE"]));
    expect(e.message).toBe('-e/--env: expected KEY=VALUE, got "NOVALUE"');
  });
});

describe("value parsers", () => {
  it("parses UID and UID:GID", () => {
    expect(parseUser("1000:1000")).toEqual({ uid: 1000, gid: 1000 });
    expect(parseUser("5")).toEqual({ uid: 5, gid: 5 });
    expect(parseUser("0:42")).toEqual({ uid: 0, gid: 42 });
    for (const bad of ["", "root", "1:2:3", "-1", "1:", ":1", "4294967295"]) {
      expect(usageError(() => parseUser(bad)).message).toMatch(/^-u\/--user: /);
    }
  });

  it("parses KEY=VALUE lists, keeping = in values and empty values", () => {
    expect(parseEnv(["A=", "B=c=d"])).toEqual({ A: "", B: "c=d" });
    expect(parseEnv(undefined)).toEqual({});
    expect(usageError(() => parseEnv(["=x"])).message).toBe('-e/--env: expected KEY=VALUE, got "=x"');
  });

  it("rejects malformed volumes", () => {
    for (const bad of ["/a", "/a:/b:rx", "/a:/b:ro:x", ":/b", "/a:"]) {
      expect(usageError(() => parseVolume(bad)).message).toMatch(/^-v\/--volume: expected HOST:CONTAINER/);
    }
    expect(usageError(() => parseVolume("/a:b")).message).toBe('-v/--volume: the container path must be absolute, got "b"');
    expect(parseVolume("/a:/b:rw").readonly).toBe(false);
  });

  it("parses counts", () => {
    expect(parseCount("0", "--timeout")).toBe(0);
    expect(parseCount(undefined, "--timeout")).toBeUndefined();
    expect(usageError(() => parseCount("1.5", "--timeout")).message).toBe('--timeout: expected a non-negative integer, got "1.5"');
  });

  it("takes the state root from --root, then WARREN_ROOT, then the default", () => {
    expect(stateRoot({ root: "/x" }, { WARREN_ROOT: "/y" })).toBe("/x");
    expect(stateRoot({}, { WARREN_ROOT: "/y" })).toBe("/y");
    expect(stateRoot({}, {})).toBe("/var/lib/warren");
  });
});

describe("--image", () => {
  it("maps to config.image", () => {
    const { values } = splitArgs(["--image", "busybox:1", "--", "true"], RUN, 0, "run");
    expect(configFromFlags(values)).toEqual({ image: "busybox:1" });
    expect(configFromFlags(splitArgs(["--image=abc"], RUN, 0, "run").values)).toEqual({ image: "abc" });
  });

  it("is refused together with --rootfs, or empty", () => {
    const v = splitArgs(["--image", "bb:1", "--rootfs", "/srv/r"], RUN, 0, "run").values;
    expect(usageError(() => configFromFlags(v)).message).toBe("--image and --rootfs cannot be used together");
    expect(usageError(() => configFromFlags(splitArgs(["--image="], RUN, 0, "run").values)).message).toBe("--image: must not be empty");
    expect(usageError(() => configFromFlags(splitArgs(["--image", "x", "--ro"], RUN, 0, "run").values)).message).toBe("--ro needs --rootfs DIR");
  });
});

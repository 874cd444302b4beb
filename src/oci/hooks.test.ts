/**
 * OCI hooks run for real: small shell scripts in a temporary directory,
 * checked for what they received (stdin, argv, env) and for how a failure,
 * a timeout and a warn-only kind come back.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

import { ConfigError, HookError } from "../errors.js";
import { hostExecutor, parseHooks, runHook, runHooks, type HookExecutor, type OciState } from "./hooks.js";

const dir = mkdtempSync(join(tmpdir(), "warren-hooks-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function script(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

const state: OciState = { ociVersion: "1.2.0", id: "web", status: "creating", pid: 4242, bundle: "/bundles/web", annotations: { "org.example/x": "1" } };

describe("runHook", () => {
  it("gives the state on stdin, argv with its own argv[0], and exactly its env", async () => {
    const out = join(dir, "seen");
    const hook = script("seen.sh", `cat > ${out}.stdin; printf '%s\\n' "$0" "$@" > ${out}.argv; env > ${out}.env`);
    await runHook({ path: hook, args: ["my-hook", "one", "two words"], env: ["A=1", "B=x=y"] }, state, "hooks.createRuntime[0]");
    expect(JSON.parse(readFileSync(`${out}.stdin`, "utf8"))).toEqual(state);
    // sh reports $0 as the script it runs; the kernel's argv[0] is in /proc.
    expect(readFileSync(`${out}.argv`, "utf8")).toBe(`${hook}\none\ntwo words\n`);
    const env = readFileSync(`${out}.env`, "utf8").trim().split("\n").filter((l) => !/^(PWD|SHLVL|_)=/.test(l));
    expect(env.sort()).toEqual(["A=1", "B=x=y"]);
  });

  it("passes args[0] as the program's argv[0]", async () => {
    const out = join(dir, "argv0");
    const hook = script("argv0.sh", `tr '\\0' ' ' < /proc/$$/cmdline > ${out}`);
    await runHook({ path: hook, args: ["custom-name", "x"] }, state, "hooks.prestart[0]");
    // /bin/sh runs the script: its cmdline is the interpreter, the script, then the args.
    expect(readFileSync(out, "utf8")).toBe(`/bin/sh ${hook} x `);
    // A program (not a script) sees args[0] as is.
    const env = join(dir, "argv0-bin");
    await runHook({ path: "/bin/sh", args: ["not-sh", "-c", `echo "$0" > ${env}`] }, state, "hooks.prestart[1]");
    expect(readFileSync(env, "utf8")).toBe("not-sh\n");
  });

  it("inherits the runtime's environment when the hook has no env", async () => {
    const out = join(dir, "inherit");
    process.env.WARREN_HOOK_TEST = "inherited";
    try {
      await runHook({ path: script("inherit.sh", `echo "$WARREN_HOOK_TEST" > ${out}`) }, state, "hooks.poststop[0]");
    } finally {
      delete process.env.WARREN_HOOK_TEST;
    }
    expect(readFileSync(out, "utf8")).toBe("inherited\n");
  });

  it("does not fail a hook that ignores its stdin", async () => {
    await expect(runHook({ path: script("ignore.sh", "exec 0<&-; exit 0") }, state, "hooks.prestart[0]")).resolves.toBeUndefined();
  });

  it("fails on a non-zero exit with the stderr tail, naming the hook", async () => {
    const hook = script("fail.sh", "echo starting; echo 'first line' >&2; echo 'the reason' >&2; exit 3");
    const e = await runHook({ path: hook }, state, "hooks.createRuntime[1]").catch((x) => x);
    expect(e).toBeInstanceOf(HookError);
    expect(e.message).toBe(`hooks.createRuntime[1] (${hook}): exited with code 3: first line | the reason`);
    expect(e).toMatchObject({ hook: "hooks.createRuntime[1]", path: hook, exitCode: 3, signal: null, timedOut: false, stderr: "first line\nthe reason\n" });
  });

  it("kills a hook that outlives its timeout, with everything it started", async () => {
    const pids = join(dir, "timeout-pids");
    const hook = script("slow.sh", `sleep 60 & echo $$ $! > ${pids}; echo 'about to wait' >&2; wait`);
    const e = await runHook({ path: hook, timeout: 1 }, state, "hooks.createRuntime[0]").catch((x) => x);
    expect(e).toBeInstanceOf(HookError);
    expect(e.message).toBe(`hooks.createRuntime[0] (${hook}): timed out after 1 s: about to wait`);
    expect(e.timedOut).toBe(true);
    // The hook's group went with it: its background sleep too.
    for (const pid of readFileSync(pids, "utf8").trim().split(" ").map(Number)) {
      await expect.poll(() => existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z ")).toBe(false);
    }
  });

  it("says a hook that cannot be started could not be started", async () => {
    const e = await runHook({ path: join(dir, "missing") }, state, "hooks.prestart[2]").catch((x) => x);
    expect(e).toBeInstanceOf(HookError);
    expect(e.message).toMatch(/^hooks\.prestart\[2\] \(.*missing\): could not be started: .*ENOENT/);
  });
});

describe("runHooks", () => {
  it("runs a kind's hooks in order and stops at the first failure", async () => {
    const log = join(dir, "order");
    const hooks = {
      createRuntime: [
        { path: script("a.sh", `echo a >> ${log}`) },
        { path: script("b.sh", `echo b >> ${log}; exit 1`) },
        { path: script("c.sh", `echo c >> ${log}`) },
      ],
    };
    await expect(runHooks(hooks, "createRuntime", state)).rejects.toThrow(/^hooks\.createRuntime\[1\]/);
    expect(readFileSync(log, "utf8")).toBe("a\nb\n");
  });

  it("turns poststart and poststop failures into warnings and runs the rest", async () => {
    const log = join(dir, "post");
    const failing = script("post-fail.sh", "echo broken >&2; exit 2");
    const ok = script("post-ok.sh", `echo ok >> ${log}`);
    for (const kind of ["poststart", "poststop"] as const) {
      const { warnings } = await runHooks({ [kind]: [{ path: failing }, { path: ok }] }, kind, { ...state, status: "stopped" });
      expect(warnings).toEqual([`hooks.${kind}[0] (${failing}): exited with code 2: broken`]);
    }
    expect(readFileSync(log, "utf8")).toBe("ok\nok\n");
  });

  it("runs createContainer and startContainer through the container executor only", async () => {
    const hooks = { startContainer: [{ path: "/bin/true" }] };
    await expect(runHooks(hooks, "startContainer", state)).rejects.toThrow(TypeError);
    const seen: string[][] = [];
    const executor: HookExecutor = async (h) => {
      seen.push(h.args);
      return hostExecutor(h);
    };
    await runHooks(hooks, "startContainer", state, { container: executor });
    expect(seen).toEqual([["/bin/true"]]);
    expect(await runHooks({}, "createContainer", state)).toEqual({ warnings: [] });
  });
});

describe("parseHooks", () => {
  it("takes config.json's hooks and names each bad field", () => {
    expect(parseHooks({ prestart: [{ path: "/x", args: ["x", "-v"], env: ["A=1"], timeout: 5 }], poststop: null })).toEqual({
      prestart: [{ path: "/x", args: ["x", "-v"], env: ["A=1"], timeout: 5 }],
    });
    expect(parseHooks(undefined)).toEqual({});
    try {
      parseHooks({ prestart: [{ path: "x" }, { path: "/y", env: ["NOEQUALS"], timeout: 0 }], onBoot: [], poststart: {} });
      throw new Error("parsed");
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).issues.map((i) => i.path)).toEqual(["hooks.prestart[0].path", "hooks.prestart[1].env", "hooks.prestart[1].timeout", "hooks.onBoot", "hooks.poststart"]);
    }
  });
});

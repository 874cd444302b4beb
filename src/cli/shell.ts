/**
 * `warren shell NAME`: a login shell in a running container, on a pty. It
 * is `warren exec -t` of the user's shell from the container's
 * /etc/passwd, run as a login shell (`-l`) in the user's home, with HOME,
 * USER, LOGNAME and TERM set as login(1) would.
 * @module
 */
import { Container } from "../container/container.js";
import { execCommand } from "./exec.js";
import type { Io } from "./io.js";
import { named } from "./named.js";

export async function shellCommand(argv: string[], io: Io): Promise<number> {
  const a = named("shell", argv, { user: { type: "string", short: "u" } }, io);
  if (!a) return 0;
  const c = await Container.get(a.name, { root: a.root });
  c.unref();
  const u = await c.lookupUser((a.values.user as string | undefined) ?? "root");
  const shell = u.shell || "/bin/sh";
  const home = u.home || "/";
  const env = { HOME: home, USER: u.name, LOGNAME: u.name, SHELL: shell, TERM: process.env.TERM || "xterm-256color" };
  return execCommand(
    ["--root", a.root, "-t", "-u", u.name, "--cwd", home, ...Object.entries(env).flatMap(([k, v]) => ["-e", `${k}=${v}`]), a.name, "--", shell, "-l"],
    io,
  );
}

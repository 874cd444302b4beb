/**
 * Users and groups of a container, read from its own /etc/passwd and
 * /etc/group (through ./files.ts, so in the container's view): what `exec`
 * needs to run as `--user www-data`.
 * @module
 */
import { NotFoundError } from "../errors.js";
import type { ContainerHandle } from "./handle.js";
import { readFileText } from "./files.js";

export interface UserInfo {
  name: string;
  uid: number;
  gid: number;
  /** The groups a login gets (initgroups(3)): the primary group, then every group of /etc/group listing the user. */
  groups: number[];
  gecos: string;
  home: string;
  shell: string;
}

export interface GroupInfo {
  name: string;
  gid: number;
  members: string[];
}

function parseDb(text: string): string[][] {
  return text
    .split("\n")
    .filter((l) => l && !l.startsWith("#"))
    .map((l) => l.split(":"));
}

const isId = (v: string | number) => typeof v === "number" || /^\d+$/.test(v);

/**
 * A user of the container's /etc/passwd, by name or id (the first entry that
 * matches), with its supplementary groups from /etc/group: what
 * `exec(argv, {user: {uid, gid, groups}})` needs for `--user www-data`.
 * Rejects with NotFoundError when there is none.
 *
 * @example
 * ```ts
 * const u = await lookupUser(c, "www-data");
 * await c.exec(["php-fpm"], { user: { uid: u.uid, gid: u.gid, groups: u.groups }, cwd: u.home });
 * ```
 */
export async function lookupUser(c: ContainerHandle, nameOrId: string | number): Promise<UserInfo> {
  const passwd = parseDb(await readFileText(c, "/etc/passwd"));
  const byId = isId(nameOrId);
  const e = passwd.find((f) => f.length >= 4 && (byId ? f[2] === String(Number(nameOrId)) : f[0] === nameOrId));
  if (!e) throw new NotFoundError(`container "${c.name}": no user ${JSON.stringify(String(nameOrId))} in /etc/passwd`, { container: c.name });
  const name = e[0]!;
  const gid = Number(e[3]);
  const groupText = await readFileText(c, "/etc/group").catch((err) => {
    if (err instanceof NotFoundError) return "";
    throw err;
  });
  const groups = parseDb(groupText)
    .filter((f) => f.length >= 4 && /^\d+$/.test(f[2]!) && f[3]!.split(",").includes(name))
    .map((f) => Number(f[2]));
  groups.unshift(gid);
  return { name, uid: Number(e[2]), gid, groups: [...new Set(groups)], gecos: e[4] ?? "", home: e[5] ?? "/", shell: e[6] ?? "" };
}

/** A group of the container's /etc/group, by name or id. Rejects with NotFoundError when there is none. */
export async function lookupGroup(c: ContainerHandle, nameOrId: string | number): Promise<GroupInfo> {
  const byId = isId(nameOrId);
  const e = parseDb(await readFileText(c, "/etc/group")).find((f) => f.length >= 3 && (byId ? f[2] === String(Number(nameOrId)) : f[0] === nameOrId));
  if (!e) throw new NotFoundError(`container "${c.name}": no group ${JSON.stringify(String(nameOrId))} in /etc/group`, { container: c.name });
  return { name: e[0]!, gid: Number(e[2]), members: (e[3] ?? "").split(",").filter(Boolean) };
}

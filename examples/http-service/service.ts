/**
 * A small HTTP service that gives each of its users their own containers
 * (the "higher-level tool" use case): node:http, no framework.
 *
 *   POST   /containers        create and start one   → 201 {"name", "state"}
 *   GET    /containers        the user's containers  → 200 [{"name", "state", "memory"}] (bytes in use, null without the memory controller)
 *   DELETE /containers/NAME   stop and destroy one   → 204
 *
 * The user is the `x-user` header, as an authenticating proxy in front of
 * this service would set it; a user's containers are the ones named
 * `USER--…`, so ownership needs no database, and every user has a quota.
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";

import { Container, NotFoundError } from "warren";

export interface ServiceOptions {
  /** warren's state root. */
  root: string;
  /** The root filesystem each container gets, read-only; without it, warren's embedded default (the host's /usr). */
  rootfs?: string;
  /** Containers a user may have at once. */
  quota?: number;
}

const USER = /^[a-z][a-z0-9]{0,15}$/;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function createService(options: ServiceOptions): Server {
  const quota = options.quota ?? 3;
  const runtime = { root: options.root };
  const owned = (user: string, name: string) => name.startsWith(`${user}--`);

  async function mine(user: string): Promise<Container[]> {
    const all = await Container.list(runtime);
    return all.filter((c) => owned(user, c.name));
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const user = req.headers["x-user"];
    if (typeof user !== "string" || !USER.test(user)) throw new HttpError(401, "x-user header missing or not a user name");
    const url = new URL(req.url ?? "/", "http://localhost");
    const [, collection, name] = url.pathname.split("/");
    if (collection !== "containers") throw new HttpError(404, "no such route");

    if (req.method === "GET" && name === undefined) {
      const list = await mine(user);
      const stats = await Container.statsAll({ ...runtime, names: list.map((c) => c.name) }); // one sweep, running ones only
      return json(res, 200, list.map((c) => ({ name: c.name, state: c.state, memory: stats[c.name]?.memory?.current ?? null })));
    }
    if (req.method === "POST" && name === undefined) {
      if ((await mine(user)).length >= quota) throw new HttpError(429, `quota of ${quota} containers reached`);
      const c = await Container.create(
        `${user}--${randomBytes(3).toString("hex")}`,
        {
          ...(options.rootfs ? { rootfs: { path: options.rootfs, mode: "ro" as const } } : {}),
          init: ["/bin/sh", "-c", "trap 'exit 0' TERM; while :; do sleep 3600 & wait $!; done"],
          limits: { memory: { max: "128MiB" }, pids: { max: 64 } },
          bestEffortLimits: true, // a host without a controller (cgroup v1 owns it) warns rather than refuses
          stopTimeout: 3000,
        },
        runtime,
      );
      try {
        await c.start();
      } catch (e) {
        await c.destroy({ force: true });
        throw e;
      }
      c.unref(); // it outlives this request (and this process)
      return json(res, 201, { name: c.name, state: c.state });
    }
    if (req.method === "DELETE" && name !== undefined) {
      // Another user's container is "not found", not "forbidden": names are not disclosed.
      if (!owned(user, name)) throw new HttpError(404, "no such container");
      let c: Container;
      try {
        c = await Container.get(name, runtime);
      } catch (e) {
        if (e instanceof NotFoundError) throw new HttpError(404, "no such container");
        throw e;
      }
      await c.stop();
      await c.destroy();
      res.writeHead(204).end();
      return;
    }
    throw new HttpError(405, "method not allowed");
  }

  return createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (e instanceof HttpError) json(res, e.status, { error: e.message });
      else {
        console.error(e);
        json(res, 500, { error: "internal error" });
      }
    });
  });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}

// `node --import tsx service.ts` (as root): the service on :8080.
if (import.meta.url === `file://${process.argv[1]}`) {
  const service = createService({ root: process.env.WARREN_ROOT ?? "/var/lib/warren", ...(process.env.ROOTFS ? { rootfs: process.env.ROOTFS } : {}) });
  service.listen(Number(process.env.PORT ?? 8080), () => console.log("listening on", service.address()));
}

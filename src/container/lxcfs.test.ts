import { describe, expect, it } from "vitest";

import { HostError } from "../errors.js";
import { probeLxcfs } from "../plan/lxcfs.js";
import { hostLxcfs, lxcfsForStart } from "./lxcfs.js";

describe("lxcfsForStart", () => {
  it("a start with lxcfs: true and no lxcfs is a HostError naming the option; false does not look", () => {
    const none = () => probeLxcfs("", () => true);
    let err: unknown;
    try {
      lxcfsForStart("web", { lxcfs: true }, none);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HostError);
    expect(err).toMatchObject({ errno: "ENOENT", container: "web", path: "/proc/self/mountinfo" });
    expect((err as Error).message).toBe(
      'container "web" has `lxcfs: true` but no lxcfs mount (fs type fuse.lxcfs) in the host\'s mountinfo; is the lxcfs service running?: ENOENT',
    );
    expect(lxcfsForStart("web", { lxcfs: "auto" }, none)).toMatchObject({ ok: false });
    expect(lxcfsForStart("web", { lxcfs: false }, () => { throw new Error("probed"); })).toBeUndefined();
  });


  it("reads the host's mountinfo, and says so when it cannot", () => {
    expect(hostLxcfs("/nonexistent/mountinfo")).toEqual({ ok: false, errno: "ENOENT", reason: "cannot read `/nonexistent/mountinfo`" });
  });
});

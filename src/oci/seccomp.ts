/**
 * `linux.seccomp` of an OCI config as warren's `seccomp: {profile}`. The
 * compiler (plan/seccomp-profile.ts) checks it here, with the OCI field
 * paths, so `create` refuses a profile warren cannot install before
 * anything exists; the container then carries the profile (a record
 * holds JSON, not a BPF program) and each start compiles it again, in
 * about a millisecond.
 * @module
 */
import type { ContainerConfig } from "../config/schema.js";
import { ConfigError, type ConfigIssue } from "../errors.js";
import { compileSeccompProfile } from "../plan/seccomp-profile.js";

export { compileSeccompProfile, type CompiledSeccomp, type OciSeccompProfile } from "../plan/seccomp-profile.js";

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** Go's encoders write absent lists as null; the profile schema wants them absent. */
function withoutNulls(o: Json): Json {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null));
}

/**
 * Translates `linux.seccomp`: the config value, and notes (names no
 * table knows, skipped as runc skips them). Problems are ConfigIssues
 * under `linux.seccomp` added to `issues`.
 */
export function seccompFromOci(value: unknown, issues: ConfigIssue[], notes: string[]): ContainerConfig["seccomp"] | undefined {
  if (!isObject(value)) {
    issues.push({ path: "linux.seccomp", message: "must be an object" });
    return undefined;
  }
  const profile = withoutNulls(value);
  // listenerMetadata means nothing without a listener (refused below when there is one).
  if (profile.listenerPath === undefined || profile.listenerPath === "") {
    delete profile.listenerPath;
    delete profile.listenerMetadata;
  }
  if (Array.isArray(profile.syscalls)) {
    profile.syscalls = profile.syscalls.map((s) => {
      if (!isObject(s)) return s;
      const rule = withoutNulls(s);
      // runtime-spec 1.0.0-rc profiles named one call per rule.
      if (typeof rule.name === "string" && rule.names === undefined) {
        rule.names = [rule.name];
        delete rule.name;
      }
      if (Array.isArray(rule.args)) rule.args = rule.args.map((a) => (isObject(a) ? withoutNulls(a) : a));
      return rule;
    });
  }
  try {
    const { skipped } = compileSeccompProfile(profile);
    // Profiles list calls of every architecture (swapcontext is ppc's);
    // runc skips the ones libseccomp does not know with a debug message.
    if (skipped.length) notes.push(`linux.seccomp: no system call table knows ${skipped.join(", ")} (skipped)`);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    issues.push(...e.issues);
    return undefined;
  }
  return { profile: profile as Extract<ContainerConfig["seccomp"], { profile: unknown }>["profile"] };
}

/**
 * Turning a native spawn failure (op index, errno) into a SetupError that
 * names the step and what it was doing.
 * @module
 */
import { SetupError } from "../errors.js";
import { errnoName } from "../linux/errno.js";
import { PARENT_STEPS } from "../native/binding.js";
import { describeOp, type Op } from "../plan/ops.js";

const PARENT_DETAIL: Record<string, string> = {
  handshake: "release the child",
  clone: "clone3 the container's first process",
  "uid-map": "write uid_map",
  "gid-map": "write gid_map",
  setgroups: "write setgroups",
  cgroup: "open the container's cgroup",
  pidfd: "open a pidfd for the process",
  plan: "read the plan",
  "lock-mounts":
    "bind the read-only and idmapped host directories where the kernel locks them (EINVAL from an idmapped one: its filesystem may not support idmapped mounts)",
  "join-namespaces": "join the shared namespaces (setns)",
  "exec-helper": "run warren-exec, the sealed helper every process execs through",
  "fd-table": "give the first process a file descriptor table of its own",
};

function pathOf(op: Op): string | undefined {
  if ("path" in op) return op.path;
  if ("target" in op) return op.target;
  if (op.kind === "pivot-root") return op.root;
  if (op.kind === "exec") return op.file;
  return undefined;
}

function hintFor(op: Op, errno: number, what: string, detail?: number): string | undefined {
  const code = errnoName(errno);
  if (op.kind === "exec") {
    if (code === "ENOENT") return `\`${op.file}\` does not exist in the container (or an interpreter it names is missing)`;
    if (code === "EACCES") return `\`${op.file}\` is not executable`;
    if (code === "ENOEXEC") return `\`${op.file}\` is not a program this kernel can run`;
  }
  if (op.kind === "mount" && op.inRoot !== undefined) {
    // The directory is made when missing (mkdir is what can fail so).
    if (code === "ENOENT" || code === "ENOTDIR") return `the rootfs has no \`/${op.target}\` directory`;
    if (code === "EROFS" || code === "EACCES" || code === "EOVERFLOW") {
      return `the rootfs has no \`/${op.target}\` directory and it cannot be made there (read-only or not the container's): create it in the rootfs`;
    }
  }
  if ((op.kind === "mount" || op.kind === "move-mount") && op.noSymlinks && code === "ELOOP") {
    // The child names the component: the length of the prefix that is a symlink.
    if (detail) {
      const link = op.target.slice(0, detail);
      return `mount target \`${op.target}\`: \`${link}\` is a symlink in the container, which a mount target may not hold: name the path it leads to`;
    }
    return `\`${op.target}\` or one of the directories on its way is a symlink in the container, which a mount target may not be: name the path it leads to`;
  }
  if (op.kind === "write-file" && op.sysctl !== undefined) {
    if (code === "ENOENT") return "this kernel has no such sysctl (an interface's must name one the container has when it starts)";
    if (code === "EACCES" || code === "EPERM") return "this kernel keeps it read-only in the container's namespaces: it is one value for the whole machine";
    if (code === "EINVAL") return "the kernel refused the value";
  }
  if ((op.kind === "mount" || op.kind === "move-mount") && (op.mkdir || op.mkfile) && code === "EROFS") {
    return `\`${op.target}\` does not exist in the read-only rootfs (read-only from the start, so it cannot be made there): create it in the rootfs`;
  }
  if (op.kind === "setns" && code === "ESRCH") return `the ${what === "exec" ? "container" : "process"} is gone`;
  return undefined;
}

/** `detail`: what the child reported with the failure (the symlink prefix length of a mount target's ELOOP). */
export function setupError(container: string, what: string, ops: readonly Op[], opIndex: number, errno: number, detail?: number): SetupError {
  if (opIndex < 0) {
    const step = PARENT_STEPS[opIndex] ?? `parent-step-${opIndex}`;
    return new SetupError(what, step, errno, PARENT_DETAIL[step] ?? step, { container });
  }
  const op = ops[opIndex];
  if (!op) return new SetupError(what, "plan", errno, "the plan ended without exec", { container });
  const path = pathOf(op);
  return new SetupError(what, op.kind, errno, describeOp(op), {
    container,
    ...(path !== undefined ? { path } : {}),
    ...(hintFor(op, errno, what, detail) ? { hint: hintFor(op, errno, what, detail)! } : {}),
  });
}

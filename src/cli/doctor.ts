/**
 * `warren doctor [--containers N] [--json] [--sysctl-conf]`: whether this
 * host can run N containers, and what to change when it cannot.
 * @module
 */
import { doctor, sysctlConf, type CheckStatus } from "../doctor/doctor.js";
import { COMMON_OPTIONS, noArguments, splitArgs, UsageError } from "./args.js";
import { formatTable, type Io } from "./io.js";
import { USAGE } from "./usage.js";

const MARK: Record<CheckStatus, string> = { ok: "ok", warn: "WARN", fail: "FAIL" };

export async function doctorCommand(argv: string[], io: Io): Promise<number> {
  const parsed = splitArgs(argv, { ...COMMON_OPTIONS, containers: { type: "string", short: "n" }, json: { type: "boolean" }, "sysctl-conf": { type: "boolean" } }, 0, "doctor");
  if (parsed.values.help) {
    io.out(USAGE.doctor!);
    return 0;
  }
  noArguments("doctor", parsed);
  const raw = parsed.values.containers as string | undefined;
  const containers = raw === undefined ? undefined : Number(raw);
  if (containers !== undefined && (!Number.isInteger(containers) || containers < 1)) {
    throw new UsageError(`--containers: expected a positive integer, got ${JSON.stringify(raw)}`, "doctor");
  }
  const report = doctor(containers === undefined ? {} : { containers });
  if (parsed.values["sysctl-conf"]) {
    io.out(sysctlConf(report) || `# every sysctl already serves ${report.containers} containers`);
  } else if (parsed.values.json) {
    io.out(JSON.stringify(report, null, 2));
  } else {
    io.out(`kernel ${report.kernel}; sized for ${report.containers} containers\n`);
    io.out(formatTable([["", "CHECK", "HAVE", "WANT"], ...report.checks.map((c) => [MARK[c.status], c.id, c.value, c.want ?? ""])]));
    const todo = report.checks.filter((c) => c.status !== "ok" && c.fix);
    if (todo.length) io.out(`\nTo fix:\n${todo.map((c) => `  ${c.fix}    # ${c.id}: ${c.why}`).join("\n")}`);
  }
  return report.ok ? 0 : 1;
}

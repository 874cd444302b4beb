/**
 * The guest side of test/helpers/vm.ts runGuestScript: runs the named
 * scenarios (all by default, or those given as arguments) one after the
 * other and prints `@@RESULT <name> {ok, value | error}` for each; the host
 * side asserts on them.
 */
export async function runScenarios(scenarios: Record<string, () => Promise<unknown>>): Promise<void> {
  // The arguments, or (through the VM, which passes WARREN_* variables) WARREN_GUEST_SCENARIOS.
  const wanted = process.argv.length > 2 ? process.argv.slice(2) : (process.env.WARREN_GUEST_SCENARIOS ?? "").split(",").filter(Boolean);
  for (const name of wanted.length ? wanted : Object.keys(scenarios)) {
    let line: unknown;
    try {
      line = { ok: true, value: await scenarios[name]!() };
    } catch (e) {
      line = { ok: false, error: String((e as Error)?.stack ?? e) };
    }
    report(name, line);
  }
}

/** One `@@RESULT` line (for what runs outside a scenario, like a final cleanup). */
export function report(name: string, line: { ok: boolean; value?: unknown; error?: string } | unknown): void {
  console.log(`@@RESULT ${name} ${JSON.stringify(line)}`);
}

import { BaseSequencer, type TestSpecification } from "vitest/node";
import { defineConfig } from "vitest/config";

/** Kernel files in their usual order, but the leftover check last. */
class LeftoversLast extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const isLast = (f: TestSpecification) => f.moduleId.endsWith("/test/leftovers.test.ts");
    return [...sorted.filter((f) => !isLast(f)), ...sorted.filter(isLast)];
  }
}

// Kernel tests create namespaces, mounts and cgroups: they run one file at a
// time in one process so the leftover check at the end sees the whole suite.
export default defineConfig({
  test: {
    sequence: { sequencer: LeftoversLast },
    projects: [
      {
        test: {
          name: "unit",
          include: ["src/**/*.test.ts"],
        },
      },
      {
        // The examples import `warren` as users do: here, the sources.
        resolve: { alias: [{ find: /^warren$/, replacement: new URL("./src/index.ts", import.meta.url).pathname }] },
        test: {
          name: "kernel",
          include: ["test/**/*.test.ts"],
          globalSetup: ["test/helpers/global-setup.ts"],
          fileParallelism: false,
          testTimeout: 30_000,
          hookTimeout: 30_000,
          pool: "forks",
        },
      },
    ],
  },
});

import { defineConfig } from "vitest/config";

// Kernel tests create namespaces, mounts and cgroups: they run one file at a
// time in one process so the leftover check at the end sees the whole suite.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["src/**/*.test.ts"],
        },
      },
      {
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

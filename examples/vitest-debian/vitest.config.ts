import { defineConfig } from "vitest/config";

// Each file boots its own container; files run one after another here to
// keep a laptop's load low (they are independent: parallel works too).
export default defineConfig({
  test: {
    include: ["*.test.ts"],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});

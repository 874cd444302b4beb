// examples/vitest-debian's own config, with `warren` resolved to this checkout's sources.
import { mergeConfig } from "vitest/config";

import base from "../../examples/vitest-debian/vitest.config.js";

export default mergeConfig(base, {
  root: new URL("../../examples/vitest-debian", import.meta.url).pathname,
  resolve: { alias: [{ find: /^warren$/, replacement: new URL("../../src/index.ts", import.meta.url).pathname }] },
});

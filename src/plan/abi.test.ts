import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";

import type { NativeAbi } from "../native/binding.js";
import { PARENT_STEPS } from "../native/binding.js";
import { PLAN_ABI } from "./encode.js";
import { STEP_NAMES } from "./ops.js";

// The plan crosses the language boundary: TypeScript writes the buffer
// (encode.ts), C reads it (native/child/plan.h). The addon exports the
// constants as the compiler saw them; every one must match the encoder's.
const addon = resolve(import.meta.dirname, "../../build/Release/warren.node");
const built = existsSync(addon);

describe.skipIf(!built)("the native plan ABI (build/Release/warren.node; `npm run build:native` when skipped)", () => {
  const abi = () => (createRequire(import.meta.url)(addon) as { abi: NativeAbi }).abi;

  it("has the encoder's header, op layout, slots and flag bits", () => {
    const { steps: _steps, parentSteps: _parent, ...constants } = abi();
    expect(constants).toEqual(PLAN_ABI);
  });

  it("names the steps in the same order (the index is the op kind)", () => {
    expect(abi().steps).toEqual([...STEP_NAMES]);
  });

  it("numbers the parent's own steps as src/native/binding.ts names them", () => {
    expect(Object.fromEntries(Object.entries(abi().parentSteps).map(([k, v]) => [Number(k), v]))).toEqual(PARENT_STEPS);
  });
});

/**
 * The path schemas every part of the config uses (kept apart from
 * schema.ts so the devices schema can use them without a cycle).
 * @module
 */
import { z } from "zod";

import { containerPathProblem } from "./constants.js";

const noNul = (s: string) => !s.includes("\0");

/** An absolute, normalized-enough path: starts with `/`, no NUL, no `..` component. */
export const absolutePath = z
  .string()
  .min(1)
  .refine((p) => p.startsWith("/"), "must be an absolute path")
  .refine(noNul, "must not contain NUL")
  .refine((p) => !p.split("/").includes(".."), "must not contain `..`");

/** An absolute path inside the container that is a place in its tree (see {@link containerPathProblem}). */
export const containerPath = absolutePath.superRefine((p, ctx) => {
  const problem = containerPathProblem(p);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});


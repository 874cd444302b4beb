/**
 * Helpers for the CLI's unit tests (not part of the built CLI: only test
 * files import this).
 * @module
 */
import { expect } from "vitest";

import { UsageError } from "./args.js";
import type { Io } from "./io.js";

/** An Io that keeps what the CLI printed. */
export function capture(): Io & { stdout: string; stderr: string } {
  const io = {
    stdout: "",
    stderr: "",
    out(t: string) {
      io.stdout += t.endsWith("\n") ? t : `${t}\n`;
    },
    err(t: string) {
      io.stderr += t.endsWith("\n") ? t : `${t}\n`;
    },
  };
  return io;
}

/** The UsageError `f` throws (fails the test when it throws nothing or something else). */
export function usageError(f: () => unknown): UsageError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return e as UsageError;
  }
  throw new Error("expected a UsageError");
}

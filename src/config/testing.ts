/**
 * Helpers for unit tests of configuration (only test files import this).
 * @module
 */
import { expect } from "vitest";

import { ConfigError, type ConfigIssue } from "../errors.js";
import { resolveConfig } from "./resolve.js";

/** The issues of the ConfigError `input` is rejected with (fails the test when it is accepted). */
export function configIssues(input: unknown): ConfigIssue[] {
  try {
    resolveConfig(input as never);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).issues;
  }
  throw new Error("expected a ConfigError");
}

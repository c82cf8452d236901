import { describe, expect, test } from "bun:test";
import { checkpointMode, CHECKPOINT_MODES } from "../../../lib/sqlite/checkpoint";
import { UsageError } from "../../../lib/core/errors";
import { thrownBy } from "../_helpers";

describe("checkpointMode", () => {
  test("no mode is PASSIVE; any case of a known mode is accepted", () => {
    expect(checkpointMode("")).toBe("PASSIVE");
    expect(checkpointMode("truncate")).toBe("TRUNCATE");
    for (const m of CHECKPOINT_MODES) expect(checkpointMode(m)).toBe(m);
  });
  test("an unknown mode is a usage error naming the choices", () => {
    const err = thrownBy(UsageError, () => checkpointMode("SOMETIMES"));
    expect(err.message).toBe('bad value for --checkpoint: "SOMETIMES" (one of PASSIVE, FULL, RESTART, TRUNCATE)');
  });
});

import { afterEach, expect, it, vi } from "vitest";
import { holdExit } from "../src/exit.js";

// holdExit() replaces process.exit: here it wraps a stub, and the real one is put back after each test.
const realExit = process.exit.bind(process);
afterEach(() => {
  process.exit = realExit;
  vi.useRealTimers();
});

function stubbed(): ReturnType<typeof vi.fn> {
  const exit = vi.fn();
  process.exit = exit as unknown as typeof process.exit;
  return exit;
}

it("holds an early exit until its work is done; a second exit meanwhile is dropped", async () => {
  const exit = stubbed();
  let finish!: () => void;
  let settled = false;
  const before = vi.fn(() =>
    new Promise<void>((resolve) => (finish = resolve)).then(() => void (settled = true)),
  );
  holdExit(before, () => settled, 10_000);

  process.exit(11);
  process.exit(0); // Artillery's graceful shutdown, reached meanwhile
  expect(before).toHaveBeenCalledWith(11);
  expect(exit).not.toHaveBeenCalled();
  finish();
  await vi.waitFor(() => expect(exit).toHaveBeenCalledTimes(1));
  expect(exit).toHaveBeenCalledWith(11);
});

it("an exit once the work is done (Artillery's graceful one, after beforeExit) goes through at once", () => {
  const exit = stubbed();
  const before = vi.fn(() => Promise.resolve());
  holdExit(before, () => true, 10_000);
  process.exit(130);
  expect(exit).toHaveBeenCalledWith(130);
  expect(before).not.toHaveBeenCalled();
});

it("exits anyway after timeoutMs, and when the work fails", async () => {
  vi.useFakeTimers();
  const exit = stubbed();
  holdExit(
    () => new Promise<void>(() => undefined),
    () => false,
    5_000,
  );
  process.exit(11);
  await vi.advanceTimersByTimeAsync(4_999);
  expect(exit).not.toHaveBeenCalled();
  await vi.advanceTimersByTimeAsync(1);
  expect(exit).toHaveBeenCalledWith(11);

  const failing = stubbed();
  holdExit(
    () => Promise.reject(new Error("no")),
    () => false,
    5_000,
  );
  process.exit(1);
  await vi.advanceTimersByTimeAsync(0);
  expect(failing).toHaveBeenCalledWith(1);
});

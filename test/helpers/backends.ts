import type { Backend } from "../../src/backends/types.js";

/**
 * Backends on one storage at a time, for the contract suites: `fresh()` opens one on new storage (a new
 * file, a new schema), `restart()` closes every backend open and opens another on the same storage, as
 * a restarted process would; `closeAll()` closes what is open.
 */
export function restartable<Key>(
  newStorage: () => Key,
  open: (storage: Key) => Backend,
): { fresh(): Backend; restart(): Promise<Backend>; closeAll(): Promise<void> } {
  let storage: Key | undefined;
  const opened: Backend[] = [];
  const start = (): Backend => {
    if (storage === undefined) throw new Error("restart() before fresh()");
    const backend = open(storage);
    opened.push(backend);
    return backend;
  };
  const closeAll = async (): Promise<void> => {
    for (const backend of opened.splice(0)) await backend.close?.();
  };
  return {
    fresh() {
      storage = newStorage();
      return start();
    },
    async restart() {
      // A restarted process: the one before it is gone, and its lease with it.
      await closeAll();
      return start();
    },
    closeAll,
  };
}

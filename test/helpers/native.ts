/**
 * Why a native addon cannot load on this Node (it was built for another ABI), or `undefined` when it
 * loads. Any other failure is thrown: a broken install must fail the tests, not skip them.
 */
export async function nativeAddonProblem(name: string): Promise<string | undefined> {
  try {
    const mod = (await import(name)) as { default: new (file: string) => { close(): void } };
    new mod.default(":memory:").close();
    return undefined;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const code = (error as { code?: unknown }).code;
    if (code === "ERR_DLOPEN_FAILED" || /NODE_MODULE_VERSION/.test(message)) {
      const reason = message
        .replace(/^.*?(NODE_MODULE_VERSION)/s, "$1")
        .replace(/\s+/g, " ")
        .slice(0, 240);
      console.warn(`[skip] ${name} is built for another Node ABI: ${reason}`);
      return reason;
    }
    throw error;
  }
}

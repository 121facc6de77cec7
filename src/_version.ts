declare const __RUNHOOKS_VERSION__: string;

/** @internal The package version, inlined at build time. */
export const VERSION: string = typeof __RUNHOOKS_VERSION__ === "string" ? __RUNHOOKS_VERSION__ : "0.0.0-dev";

/** @internal */
export const USER_AGENT = `runhooks/${VERSION} (+https://www.npmjs.com/package/runhooks)`;

import type { NetworkOptions } from "../../src/delivery/address-guard.js";

/** Tests deliver to receivers on 127.0.0.1, which the default address guard refuses: they opt in. */
export const LOOPBACK: NetworkOptions = { allowPrivate: true };

/**
 * `runhooks/sqlite`: runhooks' data in an SQLite file on this host, over better-sqlite3, an optional peer
 * dependency (`npm install better-sqlite3@^12`). better-sqlite3 is loaded when a database is opened,
 * never on import; without it, opening throws a `ConfigError` that says what to install.
 *
 * @module sqlite
 */
export { sqliteBackend } from "./backend.js";
export type { SqliteBackendOptions } from "./backend.js";
export { sqliteStore } from "./store.js";
export type { SqliteStore, SqliteStoreOptions } from "./store.js";

/**
 * `runhooks/postgres`: runhooks' data in PostgreSQL (≥ 13), shared by every process that connects to
 * it, over node-postgres (`pg`), an optional peer dependency (`npm install pg@^8`). pg is loaded when a
 * store or backend is made, never on import; without it, that throws a `ConfigError` that says what to
 * install.
 *
 * @module postgres
 */
export { postgresStore } from "./store.js";
export type { PostgresStore, PostgresStoreOptions } from "./store.js";
export type { PostgresClient, PostgresConnectionOptions, PostgresPool } from "./database.js";
export { postgresBackend } from "./backend.js";
export type { PostgresBackendOptions } from "./backend.js";

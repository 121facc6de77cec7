/**
 * Test helpers for code that uses runhooks. They work with any test runner, except the two contract
 * suites, `testStore()` and `testFormatter()`, which register vitest tests and so need vitest (an
 * optional peer dependency): vitest is looked up only when one of them is called, and without it they
 * throw an Error saying to install it. Importing this module never loads vitest.
 *
 * @packageDocumentation
 */
export { startReceiver } from "./receiver.js";
export type { ReceivedRequest, ReceiverAnswer, ReceiverOptions, TestReceiver } from "./receiver.js";
export { fixtureEvents, sampleEventList, sampleEvents, sampleRun, sampleStats } from "./fixtures.js";
export type { FixtureEvent } from "./fixtures.js";
export { STORE_CASES, sampleRecord, testStore } from "./store-contract.js";
export type { StoreCaseId, TestStoreOptions } from "./store-contract.js";
export { testContext, testFormatter } from "./formatter-contract.js";
export type { TestFormatterOptions } from "./formatter-contract.js";

/**
 * Test helpers for code that uses runhooks. They work with any test runner, except the four contract
 * suites, which register vitest tests and so need vitest (an optional peer dependency):
 *
 * - `testStore()`: a `SubscriptionStore`;
 * - `testFormatter()`: a `Formatter`;
 * - `testQueue()`: a `DeliveryQueue` (a backend's `queue`), with its durable cases when given `reopen`;
 * - `testRunState()`: a `RunState` (a backend's `runState`), likewise.
 *
 * vitest is looked up only when one of them is called, and without it they throw an Error saying to
 * install it. Importing this module never loads vitest.
 *
 * @packageDocumentation
 */
export { startReceiver } from "./receiver.js";
export type { ReceivedRequest, ReceiverAnswer, ReceiverOptions, TestReceiver } from "./receiver.js";
export {
  fixtureEvents,
  sampleEventList,
  sampleEventVariants,
  sampleEvents,
  sampleRun,
  sampleStats,
} from "./fixtures.js";
export type { FixtureEvent, SampleEventVariants } from "./fixtures.js";
export { STORE_CASES, sampleRecord, testStore } from "./store-contract.js";
export type { StoreCaseId, TestStoreOptions } from "./store-contract.js";
export { testContext, testFormatter } from "./formatter-contract.js";
export type { TestFormatterOptions } from "./formatter-contract.js";
export { QUEUE_CASES, sampleDelivery, testQueue } from "./queue-contract.js";
export type { QueueCaseId, QueueFactory, TestQueueOptions } from "./queue-contract.js";
export { RUN_STATE_CASES, testRunState } from "./run-state-contract.js";
export type { RunStateCaseId, RunStateFactory, TestRunStateOptions } from "./run-state-contract.js";

export { startReceiver } from "./receiver.js";
export type { ReceivedRequest, ReceiverAnswer, ReceiverOptions, TestReceiver } from "./receiver.js";
export { fixtureEvents, sampleEventList, sampleEvents, sampleRun, sampleStats } from "./fixtures.js";
export type { FixtureEvent } from "./fixtures.js";
export { STORE_CASES, sampleRecord, testStore } from "./store-contract.js";
export type { StoreCaseId, TestStoreOptions } from "./store-contract.js";
export { testContext, testFormatter } from "./formatter-contract.js";
export type { TestFormatterOptions } from "./formatter-contract.js";

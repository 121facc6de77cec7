export { startReceiver } from "./receiver.js";
export type { ReceivedRequest, ReceiverAnswer, ReceiverOptions, TestReceiver } from "./receiver.js";
export { sampleEventList, sampleEvents, sampleRun, sampleStats } from "./fixtures.js";

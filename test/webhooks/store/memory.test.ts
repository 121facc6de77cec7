import { memoryStore } from "../../../src/webhooks/store/memory.js";
import { testStore } from "../../../src/testing/store-contract.js";

testStore("memoryStore()", () => memoryStore());

// CommonJS users load the ESM-only package with require() (Node >= 20.19 supports require(esm)).
const { createNotifier, EVENT_NAMES } = require("runhooks");
const testing = require("runhooks/testing");
const { createAdmin } = require("runhooks/admin");
const formatters = require("runhooks/formatters");

if (typeof createNotifier !== "function")
  throw new Error("createNotifier is missing from require('runhooks')");
if (EVENT_NAMES.length !== 8) throw new Error("EVENT_NAMES is incomplete");
if (typeof testing.startReceiver !== "function") throw new Error("require('runhooks/testing') is incomplete");
if (typeof createAdmin !== "function") throw new Error("require('runhooks/admin') is incomplete");
if (typeof formatters.escapeTeams !== "function")
  throw new Error("require('runhooks/formatters') is incomplete");
const notifier = createNotifier();
notifier.close().then(() => console.log(`smoke (CommonJS require, Node ${process.version}): ok`));

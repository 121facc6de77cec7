// Predator's constants the ported tests use (Zooz/predator src/common/consts.js, commit 42e50c7).
export const EVENT_FORMAT_TYPE_JSON = "json";
export const EVENT_FORMAT_TYPES = ["slack", "json", "teams", "discord"];
export const WEBHOOK_EVENT_TYPE_API_FAILURE = "api_failure";
export const WEBHOOK_EVENT_TYPE_FAILED = "failed";
export const WEBHOOK_EVENT_TYPES = [
  "started",
  "finished",
  "api_failure",
  "aborted",
  "failed",
  "benchmark_passed",
  "benchmark_failed",
  "in_progress",
];

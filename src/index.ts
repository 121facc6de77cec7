export { createNotifier } from "./notifier.js";
export type {
  CloseOptions,
  DisplayOptions,
  FlushOptions,
  Logger,
  FlushResult,
  Notifier,
  NotifierChannels,
  NotifierOptions,
  NotifierStats,
  NotifierWarning,
  Preview,
  TestResult,
  TestTarget,
} from "./notifier.js";

export { createEventBus } from "./bus.js";
export type { BusChannels, EventBus } from "./bus.js";
export type { Listener } from "./_emitter.js";

export { EVENT_NAMES, LATENCY_KEYS, OUTCOME_EVENTS, emptyStats, isEventName } from "./events.js";
export type {
  AbortedEvent,
  ApiFailureEvent,
  ApiFailures,
  BenchmarkConfig,
  BenchmarkFailedEvent,
  BenchmarkPassedEvent,
  BenchmarkResult,
  EventBase,
  EventInput,
  EventMap,
  EventName,
  FailedEvent,
  FinishedEvent,
  InProgressEvent,
  Latency,
  LoadPhase,
  LoadProfile,
  Run,
  RunError,
  RunEvent,
  RunInfo,
  RunLink,
  StartedEvent,
  Stats,
  StatsBatch,
} from "./events.js";

export type {
  FinishResult,
  IgnoredCall,
  RunTime,
  TimeOptions,
  RunChange,
  RunHandle,
  RunSnapshot,
  RunState,
} from "./run-tracker.js";
export { snapshotFromJSON, snapshotToJSON } from "./run-tracker.js";
export { successScore } from "./score.js";
export { memoryBackend } from "./backends/memory.js";
export type { Backend, BackendHooks, BackendLimits } from "./backends/types.js";

export type {
  Webhook,
  WebhookDefinition,
  WebhookInput,
  WebhookJSON,
  WebhookPatch,
  WebhookRecord,
  WebhookViewFields,
} from "./webhooks/model.js";
export type { RotateSecretOptions, WebhookScope, WebhooksApi } from "./webhooks/api.js";
export type { SubscriptionStore, WebhookFilter } from "./webhooks/store/types.js";
export { memoryStore } from "./webhooks/store/memory.js";

export { defineFormatter } from "./formatters/define.js";
export type { FormatterDefinition } from "./formatters/define.js";
export { BUILT_IN_FORMATS } from "./formatters/registry.js";
export { jsonFormatter } from "./formatters/json.js";
export type { JsonEnvelope, JsonFormatterOptions } from "./formatters/json.js";
export { slackFormatter } from "./formatters/slack.js";
export type { SlackFormatterOptions } from "./formatters/slack.js";
export { teamsFormatter } from "./formatters/teams.js";
export type { TeamsFormatterOptions } from "./formatters/teams.js";
export { discordFormatter } from "./formatters/discord.js";
export type { DiscordFormatterOptions } from "./formatters/discord.js";
export type { FormatContext, FormattedMessage, Formatter, FormatterLimits } from "./formatters/types.js";

export type { NetworkOptions } from "./delivery/address-guard.js";
export {
  WebhookVerificationError,
  generateSecret,
  isVerificationError,
  verifyWebhook,
} from "./delivery/signing.js";
export type { HeadersLike, VerifyOptions } from "./delivery/signing.js";
export { fetchTransport } from "./delivery/fetch-transport.js";
export type { FetchTransportOptions } from "./delivery/fetch-transport.js";
export { httpTransport } from "./delivery/http-transport.js";
export type { HttpTransportOptions } from "./delivery/http-transport.js";
export type { DeliveryQueue, DeliveryWorker, DropReason, WorkerContext } from "./delivery/queue.js";
export type { RateLimit, SharedRateLimits } from "./delivery/rate-limit.js";
export type { RetryOptions } from "./delivery/retry.js";
export type {
  CircuitBreaker,
  CircuitBreakerOptions,
  CircuitChange,
  CircuitState,
  ResolvedCircuitBreaker,
} from "./delivery/circuit.js";
export type {
  Delivery,
  DeliveryOutcome,
  DeliveryProgress,
  DeliveryTarget,
  DeliveryReport,
  Transport,
  TransportRequest,
  TransportResponse,
} from "./delivery/types.js";

export {
  BackendError,
  ConfigError,
  FormatError,
  ListenerError,
  RunhooksError,
  StoreError,
  TransportError,
  ValidationError,
  isBackendError,
  isConfigError,
  isFormatError,
  isListenerError,
  isRunhooksError,
  isStoreError,
  isTransportError,
  isValidationError,
  redactUrl,
} from "./errors.js";
export type { RunhooksErrorOptions, ValidationIssue } from "./errors.js";

// What the admin page's script receives: the CONFIG that adminPage() writes into the document, and the
// API's answers as the page reads them (the fields it uses only). Types only, neither Node's nor the
// DOM's: both the Node project (page.ts, the tests) and the browser project (client.ts) read this file.
// test/admin/page.test.ts checks that the API's wire types (wire.ts: webhooks, deliveries) still fit
// these.

/** @internal The `CONFIG` constant the page's script starts from. */
export interface PageConfig {
  /** The admin's base path as its handler sees requests; ends with "/". */
  base: string;
  events: readonly string[];
  /** The built-in formats the form offers; any other registered format can be typed in. */
  formats: readonly string[];
}

/** @internal A webhook in the list (`GET v1/webhooks`), as the page reads it. */
export interface PageWebhook {
  id: string;
  name: string;
  /** Masked: scheme and host only. */
  url: string;
  format_type: string;
  events: string[];
  global: boolean;
  enabled: boolean;
  context_id?: string | undefined;
  has_secret: boolean;
  /** Header names, values masked. */
  headers?: Record<string, string> | undefined;
  /** Present while its circuit is open. */
  circuit?: { state: "open" | "probing"; opened_at: string; failures: number; probe_at: string } | undefined;
}

/** @internal One delivery (`GET v1/webhooks/{id}/deliveries`), as the page reads it. */
export interface PageDelivery {
  at: string;
  event: string;
  run_id: string;
  attempt: number;
  final: boolean;
  outcome: string;
  reason?: string | undefined;
  status?: number | undefined;
  error?: string | undefined;
}

/** @internal A preview (`POST v1/webhooks/{id}/preview`), as the page reads it. */
export interface PagePreview {
  format_type: string;
  body: unknown;
  size: number;
  warnings: string[];
}

/** @internal A test's result (`POST v1/webhooks/test`, runhooks' own wire), as the page reads it. */
export interface PageTestResult {
  /** null (or left out) when no response came. */
  webhook_status_code?: number | null | undefined;
  is_successful: boolean;
  error?: string | undefined;
}

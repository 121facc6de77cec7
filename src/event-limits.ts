/**
 * @internal The size limits of an event's fields, one constant per limit. The zod schemas
 * (`events.ts`), the hand-written checks of the hot paths (`_fast-parse.ts`), the run tracker and the
 * fixtures read them from here, so a limit changes in one place. The validation messages quote them
 * (`must be at most 256 characters`, `at most 20 links`): changing one changes what users read.
 */
export const EVENT_LIMITS = Object.freeze({
  /** Characters of an id: run, test, job, tenant, ad hoc webhook and event ids. */
  id: 256,
  /** Characters of a long text: the run name, an abort reason, an error message. */
  text: 10_000,
  /** Characters of a short text: the environment, a link title, an error's name and code. */
  shortText: 200,
  /** Characters of a link's URL. */
  url: 2048,
  /** Links of a run. */
  links: 20,
  /** Labels of a run. */
  labels: 50,
  /** Characters of a label's name. */
  labelName: 100,
  /** Characters of a label's value. */
  labelValue: 1000,
  /** Ad hoc webhook ids a run names. */
  webhooks: 100,
  /** Phases of a load profile. */
  phases: 50,
  /** Earlier benchmark scores (`lastScores`). */
  scores: 20,
  /** Error kinds of one `errors` record. */
  errorKinds: 1000,
  /** Characters of an error kind (a key of `errors`). */
  errorKindLength: 200,
  /**
   * Status codes of one `codes` record. The key rule (three digits, 100 to 599) allows no more, so
   * this rejects nothing the schema accepts: it bounds the hand-written checks' walk.
   */
  statusCodes: 500,
} as const);

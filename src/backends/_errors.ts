import { BackendError, describe } from "../errors.js";

/**
 * @internal What a backend reports when a write or read of its storage fails while it runs: the
 * backend, what it could not do, the error, what follows for the deliveries (`consequence`, from
 * ": …"), and what to check (`check`, a sentence). Never thrown at a runner's call: reported on the
 * `error` channel.
 */
export function storageFailure(
  backend: string,
  operation: string,
  what: string,
  error: unknown,
  consequence: string,
  check: string,
): BackendError {
  return new BackendError(
    operation,
    `The ${backend} backend could not ${what} (${describe(error)})${consequence}. ${check}`,
    { cause: error },
  );
}

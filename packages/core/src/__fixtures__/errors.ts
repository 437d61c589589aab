import { WhittleError } from '@whittle/spec';

/** The WhittleError `action` throws; fails the test when it throws nothing or something else. */
export function thrown(action: () => unknown): WhittleError {
  try {
    action();
  } catch (error) {
    if (WhittleError.is(error)) return error;
    throw new Error(`expected a WhittleError, got ${String(error)}`, { cause: error });
  }
  throw new Error('expected a WhittleError, nothing was thrown');
}

/** The WhittleError the promise rejects with. */
export async function rejected(promise: Promise<unknown>): Promise<WhittleError> {
  try {
    await promise;
  } catch (error) {
    if (WhittleError.is(error)) return error;
    throw new Error(`expected a WhittleError, got ${String(error)}`, { cause: error });
  }
  throw new Error('expected a WhittleError, the promise resolved');
}

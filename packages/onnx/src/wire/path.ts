/**
 * Paths name a sub-message inside a serialized model: segments `<fieldNumber>:<index>` joined by `/`, where `index`
 * counts the occurrences of that field number within the parent message (0 for a singular field). The root message
 * is the empty path. Example: `7:0/1:2/5:0` is the first attribute of the third node of the main graph.
 */

export type PathSegment = [field: number, index: number];

export function pathOf(segments: ReadonlyArray<readonly [field: number, index: number]>): string {
  let path = '';
  for (const [field, index] of segments) {
    checkSegment(field, index, path);
    path = path === '' ? `${field}:${index}` : `${path}/${field}:${index}`;
  }
  return path;
}

/** Appends one segment to a path built by `pathOf`. */
export function childPath(parent: string, field: number, index: number): string {
  return parent === '' ? `${field}:${index}` : `${parent}/${field}:${index}`;
}

const SEGMENT = /^([1-9][0-9]*):(0|[1-9][0-9]*)$/;

/** Splits a path back into segments; throws on anything `pathOf` would not produce. */
export function parsePath(path: string): PathSegment[] {
  if (path === '') return [];
  return path.split('/').map((text) => {
    const match = SEGMENT.exec(text);
    if (match === null) throw new Error(`invalid message path '${path}': bad segment '${text}'`);
    const field = Number(match[1]);
    const index = Number(match[2]);
    checkSegment(field, index, path);
    return [field, index];
  });
}

const MAX_FIELD_NUMBER = 2 ** 29 - 1;

function checkSegment(field: number, index: number, path: string): void {
  if (!Number.isInteger(field) || field < 1 || field > MAX_FIELD_NUMBER) {
    throw new Error(`invalid message path segment: field number ${field} (after '${path}')`);
  }
  if (!Number.isSafeInteger(index) || index < 0) {
    throw new Error(`invalid message path segment: index ${index} (after '${path}')`);
  }
}

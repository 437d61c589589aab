/** Option names are camelCase in schemas and code; text and the CLI also accept kebab-case. */

/** `per-channel` -> `perChannel`; camelCase names come back unchanged. */
export function optionNameToCamelCase(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_, letter: string) => letter.toUpperCase());
}

/** `perChannel` -> `per-channel`. */
export function optionNameToKebabCase(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
}

/** Characters a pass or preset name may contain, so that every name can be written in the text form unquoted. */
export function isPassNameCharacter(character: string): boolean {
  return /^[A-Za-z0-9_.@/-]$/.test(character);
}

/** kebab-case names, optionally scoped the way third parties do: `fuse-gelu`, `acme/fuse-gelu`, `@acme/x`. */
export function isPassName(name: string): boolean {
  return /^[A-Za-z0-9_@][A-Za-z0-9_.@/-]*$/.test(name);
}

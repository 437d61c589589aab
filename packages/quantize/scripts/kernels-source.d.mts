/** The TypeScript module that carries weight-kernels.wat assembled (see kernels-source.mjs). */
export function weightKernelsModuleSource(text: string): string;

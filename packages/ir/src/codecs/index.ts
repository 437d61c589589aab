export * from './bfloat16.js';
export * from './float-bits.js';
export * from './float8.js';
export * from './float16.js';
export * from './packed-integers.js';

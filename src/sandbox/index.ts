export { startSandbox, type Sandbox } from './sandbox.js';
export { sandboxOptionsSchema, type SandboxOptionsInput } from './options.js';
export { sandboxConfigSnippet, type SandboxConfigSnippet } from './config-snippet.js';
export { MAGIC_AMOUNTS, magicAmountsText } from './magic-amounts.js';

#!/usr/bin/env node
// Production runs the compiled CLI; `npm run build` produces dist/.
import '../dist/cli/main.js';

// The entry of the virtual terminal's bundle (/terminal/assets/terminal.js, src/web/browser-bundle.ts).
import { terminalApp } from './terminal-app.js';

terminalApp();

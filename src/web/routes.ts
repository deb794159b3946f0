import express, { type Router } from 'express';
import type { WebDeps } from './deps.js';

/**
 * The web pages: the virtual terminal at /terminal and the operator console at /console
 * (with its JSON API under /console/api). Filled in by the web work; mounted by the daemon.
 */
export function webRoutes(_deps: WebDeps): Router {
  return express.Router();
}

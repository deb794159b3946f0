import { execFile } from 'node:child_process';
import type { Logger } from '../shared/logger.js';

/**
 * systemd's service notification protocol (sd_notify) for `Type=notify`: READY=1 once we
 * serve, STOPPING=1 when we begin to stop, WATCHDOG=1 while the event loop is alive.
 *
 * The protocol is one datagram on the unix socket named by `$NOTIFY_SOCKET`, and Node has
 * no unix datagram sockets. Rather than a native addon, each message is handed to the
 * `systemd-notify` helper that ships with systemd. The helper is a child process, so the
 * unit needs `NotifyAccess=all`; and since systemd attributes a message to a unit by the
 * sender's cgroup, a helper that exited before systemd read its message would be lost.
 * It does not exit early: without `--no-block`, systemd-notify (systemd 246 and later)
 * follows the message with a BARRIER=1 carrying a pipe and waits until systemd closes
 * it, that is until systemd has processed the message. So `ready()` resolving means
 * systemd has seen READY=1.
 */
export interface SystemdNotifier {
  /** Tells systemd start-up is complete (call after listening and starting the jobs). */
  ready(): Promise<void>;
  /** Tells systemd we are stopping (call first thing on SIGTERM). */
  stopping(): Promise<void>;
  /**
   * Sends WATCHDOG=1 every half `$WATCHDOG_USEC` (systemd `WatchdogSec=`) while the event
   * loop runs. Returns the function that stops it. A no-op without a watchdog. Start it
   * after `ready()`: systemd arms the watchdog at READY=1, or at the first WATCHDOG=1, so
   * an early ping would put the (synchronous) database checks of start-up under it.
   */
  startWatchdog(): () => void;
  /**
   * Asks systemd for `ms` more before it gives up on start-up (EXTEND_TIMEOUT_USEC, systemd 236
   * and later), with `status` shown by `systemctl status`. For start-up work whose length
   * grows with the database (the integrity check, a backup before migrating, building indexes),
   * which `TimeoutStartSec=` alone would cut short on a big file.
   */
  extendStartTimeout(ms: number, status: string): Promise<void>;
}

export interface SystemdNotifierOptions {
  /** The process environment (`NOTIFY_SOCKET`, `WATCHDOG_USEC`, `WATCHDOG_PID`, `PATH`). */
  env: Readonly<Record<string, string | undefined>>;
  logger: Logger;
  /** This process's id, compared with `WATCHDOG_PID`; defaults to `process.pid`. */
  pid?: number;
  /** The helper that sends one message; defaults to `systemd-notify` found on `PATH`. */
  command?: string;
  /** Milliseconds after which a helper is killed (it waits up to 5 s for systemd). */
  timeoutMs?: number;
}

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * Creates the notifier. Everything is a no-op when `NOTIFY_SOCKET` is unset (not started
 * by systemd, or not `Type=notify`). Sending never throws: a failure is logged, and
 * systemd reports what it did not receive (a start timeout, a watchdog timeout).
 * @example
 * const notifier = createSystemdNotifier({ env: process.env, logger });
 * await daemon.start();
 * await notifier.ready();
 * const stopWatchdog = notifier.startWatchdog();
 */
export function createSystemdNotifier(options: SystemdNotifierOptions): SystemdNotifier {
  const { env } = options;
  const socket = env['NOTIFY_SOCKET'];
  const logger = options.logger.child({ component: 'systemd-notify' });
  const command = options.command ?? 'systemd-notify';
  const timeoutMs = options.timeoutMs ?? 10_000;
  const pid = options.pid ?? process.pid;
  // Messages go out one at a time so that systemd sees READY=1 before STOPPING=1.
  let queue: Promise<boolean> = Promise.resolve(true);

  const run = (assignments: string[]): Promise<boolean> =>
    new Promise((resolve) => {
      const childEnv = { PATH: env['PATH'] ?? DEFAULT_PATH, NOTIFY_SOCKET: socket };
      execFile(command, assignments, { env: childEnv, timeout: timeoutMs, killSignal: 'SIGKILL' }, (error, _stdout, stderr) => {
        if (!error) return resolve(true);
        const code = (error as NodeJS.ErrnoException).code;
        const why = code === 'ENOENT' ? `${command} not found (install the systemd package or change Type=notify)` : String(stderr).trim() || error.message;
        logger.error('could not notify systemd', { message: assignments.join(' '), error: why });
        resolve(false);
      });
    });

  const send = (assignments: string[]): Promise<boolean> => {
    if (!socket) return Promise.resolve(false);
    queue = queue.then(() => run(assignments));
    return queue;
  };

  return {
    async ready() {
      if (await send(['READY=1', 'STATUS=serving'])) logger.info('told systemd we are ready');
    },
    async stopping() {
      await send(['STOPPING=1', 'STATUS=stopping']);
    },
    async extendStartTimeout(ms, status) {
      if (await send([`EXTEND_TIMEOUT_USEC=${Math.ceil(ms) * 1000}`, `STATUS=${status}`])) logger.info('asked systemd for more start-up time', { seconds: Math.ceil(ms / 1000), status });
    },
    startWatchdog() {
      const usec = Number(env['WATCHDOG_USEC']);
      const watchdogPid = env['WATCHDOG_PID'];
      if (!socket || !Number.isSafeInteger(usec) || usec <= 0) return () => undefined;
      // systemd sets WATCHDOG_PID to the main process; a child that inherited the
      // environment must not ping on its behalf.
      if (watchdogPid !== undefined && watchdogPid !== '' && Number(watchdogPid) !== pid) return () => undefined;
      const everyMs = Math.max(1, Math.floor(usec / 2_000));
      // A ping still in flight is enough: never let slow helpers pile up.
      let inFlight = false;
      const timer = setInterval(() => {
        if (inFlight) return;
        inFlight = true;
        void send(['WATCHDOG=1']).finally(() => (inFlight = false));
      }, everyMs);
      timer.unref();
      logger.info('systemd watchdog enabled', { pingEveryMs: everyMs });
      return () => clearInterval(timer);
    },
  };
}

import { readFileSync } from 'node:fs';
import { arch, cpus as listCpus, loadavg, platform, release, tmpdir, totalmem } from 'node:os';

/** Facts about the machine a run is on, so runs can be compared. */
export function machineFacts() {
  const cpus = listCpus();
  let disk = 'unknown';
  try {
    disk = readFileSync('/proc/mounts', 'utf8').split('\n').find((l) => l.split(' ')[1] === tmpdir())?.split(' ')[2] ?? 'same as /';
  } catch {
    // not Linux
  }
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${platform()} ${release()} ${arch()}`,
    tmpFilesystem: disk,
    date: new Date().toISOString(),
    /** Other work on the machine skews every figure: the 1-minute load average when the run began (and ended, set by main). */
    loadAverageAtStart: Math.round((loadavg()[0] ?? 0) * 100) / 100,
  };
}

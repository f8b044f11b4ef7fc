/**
 * The machine a run happened on, stated with every result (the README section, the JSON): a number means
 * nothing without the CPU, the core count, the runtime and how busy the machine was.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface MachineInfo {
  /** `model name` of /proc/cpuinfo (os.cpus() elsewhere). */
  readonly cpu: string;
  /** Logical CPUs available to this process. */
  readonly cores: number;
  readonly memory_gb: number;
  readonly os: string;
  readonly node: string;
  /** ISO 8601, UTC. */
  readonly date: string;
  /** 1-minute load average when the run started: above ~0.5 the machine was not idle. */
  readonly load_at_start: number;
}

export function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m !== null) return m[1].trim();
  } catch {
    // not Linux
  }
  return os.cpus()[0]?.model?.trim() || 'unknown CPU';
}

export function machineInfo(now: Date = new Date()): MachineInfo {
  return {
    cpu: cpuModel(),
    cores: os.availableParallelism(),
    memory_gb: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    date: now.toISOString(),
    load_at_start: Math.round(os.loadavg()[0] * 100) / 100,
  };
}

/** One line for humans: `Intel(R) Xeon(R) Processor, 2 cores, 23.6 GB, Linux 6.1 x64, Node v20.20.2, 2025-...`. */
export function describeMachine(m: MachineInfo): string {
  return `${m.cpu}, ${m.cores} logical cores, ${m.memory_gb} GB RAM, ${m.os}, Node ${m.node}; ${m.date.slice(0, 16).replace('T', ' ')} UTC; load average at start ${m.load_at_start}`;
}

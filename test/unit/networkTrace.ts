// Reading `strace -f -e trace=network` logs: every address a process connected or sent to, and
// which of them left the machine. Allowed: Unix sockets (IPC, nscd), netlink (the kernel), and
// loopback — except DNS (port 53) anywhere, loopback included (a local resolver forwards the
// name outside). Used by networkIsolation.test.ts.
import { spawnSync } from 'node:child_process';

export interface TracedAddress {
  syscall: string;
  family: string;
  /** IPv4/IPv6 address, when the family has one. */
  address?: string;
  port?: number;
  line: string;
}

const CALL = /\b(connect|sendto|sendmsg|sendmmsg)\(/;
const FAMILY = /sa_family=(AF_[A-Z0-9]+)/g;

/** Every socket address in connect/sendto/sendmsg/sendmmsg lines of an strace log. */
export function tracedAddresses(log: string): TracedAddress[] {
  const out: TracedAddress[] = [];
  for (const line of log.split('\n')) {
    const call = CALL.exec(line);
    if (!call) continue;
    for (const m of line.matchAll(FAMILY)) {
      // The address's own fields run up to the closing brace of its struct.
      const rest = line.slice(m.index);
      const struct = rest.slice(0, rest.indexOf('}') + 1 || rest.length);
      const port = /sin6?_port=htons\((\d+)\)/.exec(struct)?.[1];
      const address =
        /inet_addr\("([^"]+)"\)/.exec(struct)?.[1] ??
        /inet_pton\(AF_INET6?, "([^"]+)"/.exec(struct)?.[1];
      out.push({
        syscall: call[1] as string,
        family: m[1] as string,
        ...(address !== undefined ? { address } : {}),
        ...(port !== undefined ? { port: Number(port) } : {}),
        line: line.trim(),
      });
    }
  }
  return out;
}

const LOCAL_FAMILIES = new Set(['AF_UNIX', 'AF_LOCAL', 'AF_NETLINK', 'AF_UNSPEC']);

function isLoopback(address: string): boolean {
  const a = address.toLowerCase();
  return /^127\./.test(a) || a === '::1' || /^::ffff:127\./.test(a);
}

/** Why this address counts as leaving the machine (or asking DNS), or null when it is local. */
export function offMachine(a: TracedAddress): string | null {
  if (a.port === 53) return `DNS: ${a.syscall} to ${a.address ?? a.family} port 53`;
  if (LOCAL_FAMILIES.has(a.family)) return null;
  if ((a.family === 'AF_INET' || a.family === 'AF_INET6') && a.address && isLoopback(a.address)) {
    return null;
  }
  return `${a.syscall} to ${a.family} ${a.address ?? '?'}${a.port !== undefined ? `:${a.port}` : ''}`;
}

/** Whether `strace -f` can trace here (installed, and ptrace allowed); why not otherwise. */
export function straceUsable(): { ok: true } | { ok: false; why: string } {
  const r = spawnSync('strace', ['-f', '-qq', '-e', 'trace=network', '-o', '/dev/null', 'true'], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (r.error) return { ok: false, why: `strace not runnable: ${r.error.message}` };
  if (r.status !== 0) return { ok: false, why: `strace failed: ${r.stderr.trim().split('\n')[0]}` };
  return { ok: true };
}

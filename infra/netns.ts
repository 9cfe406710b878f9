/**
 * Hosts made of Linux network namespaces on this machine: one bridge, a veth pair per
 * host, a private /24 with no default route (nothing a host sends can leave the bridge),
 * and an nftables table per host to cut it off from another host's address. Packets are
 * dropped, not rejected: a real partition is silent, so a peer sees timeouts, never a
 * refusal. Needs root, `ip` (iproute2) and `nft` (nftables).
 *
 * Every cluster records its owner's pid before it creates anything; a cluster whose
 * owner is gone (a crashed or killed test) is removed by the next `NetnsCluster.create`,
 * processes included, so no namespace or bridge outlives its run for long.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const PREFIX = 'hfc-';
/** 10.231.<index>.0/24: far from the usual Docker, libvirt and VPN ranges. */
const SUBNET = '10.231';
const RECORDS = '/run/hfc-cluster';

export interface NetnsHost {
  readonly role: string;
  /** The namespace's name (`ip netns exec <ns> …`). */
  readonly ns: string;
  readonly ip: string;
  /** The root namespace's end of its veth pair, on the bridge. */
  readonly link: string;
}

interface Record_ {
  readonly pid: number;
  readonly namespaces: readonly string[];
  readonly bridge: string;
}

const run = (cmd: string, args: readonly string[], input?: string): string =>
  execFileSync(cmd, args, {
    encoding: 'utf8',
    stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    input,
  });
const ip = (...args: string[]): string => run('ip', args);

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Why this machine cannot build namespace hosts, or undefined when it can. */
export function netnsUnavailable(): string | undefined {
  if (process.platform !== 'linux') return `network namespaces need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'network namespaces need root (run as uid 0)';
  for (const [tool, pkg] of [
    ['ip', 'iproute2'],
    ['nft', 'nftables'],
  ] as const) {
    try {
      run(tool, ['-V']);
    } catch {
      return `\`${tool}\` is missing (Debian package ${pkg}; npm run setup installs it)`;
    }
  }
  try {
    ip('netns', 'list');
  } catch (e) {
    return `\`ip netns\` is unavailable: ${(e as Error).message}`;
  }
  return undefined;
}

/** The hfc- namespaces on this machine. */
export const listNamespaces = (): string[] =>
  ip('netns', 'list')
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((n) => n.startsWith(PREFIX));

const bridges = (): string[] =>
  ip('-o', 'link', 'show', 'type', 'bridge')
    .split('\n')
    .map((l) => l.split(':')[1]?.trim().split('@')[0] ?? '')
    .filter((n) => n.startsWith(PREFIX));

const indexOf = (name: string): number => Number(name.slice(PREFIX.length).split('-')[0]);

function pidsIn(ns: string): number[] {
  try {
    return ip('netns', 'pids', ns)
      .split('\n')
      .filter(Boolean)
      .map(Number)
      .filter((p) => p !== process.pid);
  } catch {
    return [];
  }
}

function killAllIn(ns: string): void {
  for (const pid of pidsIn(ns)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

function removeIndex(index: number): void {
  for (const ns of listNamespaces().filter((n) => indexOf(n) === index)) {
    killAllIn(ns);
    try {
      ip('netns', 'del', ns);
    } catch {
      // Removed by someone else meanwhile.
    }
  }
  // Deleting a namespace deletes its veth ends, and with them the bridge's; the bridge remains.
  for (const br of bridges().filter((b) => indexOf(b) === index)) {
    try {
      ip('link', 'del', br);
    } catch {
      // Already gone.
    }
  }
  rmSync(path.join(RECORDS, `${index}.json`), { force: true });
}

const recordOf = (index: number): Record_ | undefined => {
  const file = path.join(RECORDS, `${index}.json`);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record_;
  } catch {
    return undefined;
  }
};

/** Removes every hfc- cluster whose owner process is gone; returns the indices removed. */
export function removeStaleClusters(): number[] {
  mkdirSync(RECORDS, { recursive: true, mode: 0o700 });
  const indices = new Set<number>([
    ...listNamespaces().map(indexOf),
    ...bridges().map(indexOf),
    ...readdirSync(RECORDS).map((f) => Number.parseInt(f, 10)),
  ]);
  const removed: number[] = [];
  for (const i of indices) {
    if (!Number.isInteger(i)) continue;
    const r = recordOf(i);
    if (r && alive(r.pid)) continue;
    removeIndex(i);
    removed.push(i);
  }
  return removed;
}

/** The nftables table in each host: a set of addresses it can neither send to nor hear from. */
const PARTITION_TABLE = `table inet hfc {
  set cut { type ipv4_addr; }
  chain output { type filter hook output priority 0; ip daddr @cut drop; }
  chain input { type filter hook input priority 0; ip saddr @cut drop; }
}
`;

export class NetnsCluster {
  private destroyed = false;
  private readonly onExit = () => this.destroy();

  private constructor(
    readonly index: number,
    readonly bridge: string,
    /** The root namespace's address on the bridge: where the test itself talks from. */
    readonly gateway: string,
    private readonly hosts: ReadonlyMap<string, NetnsHost>,
  ) {
    process.once('exit', this.onExit);
  }

  /** A bridge and one namespace host per role. */
  static create(roles: readonly string[]): NetnsCluster {
    const why = netnsUnavailable();
    if (why) throw new Error(`cluster: ${why}`);
    if (new Set(roles).size !== roles.length || roles.length > 250) throw new Error(`cluster: bad roles ${roles}`);
    for (const r of roles) {
      if (!/^[a-z0-9]{1,20}$/.test(r)) throw new Error(`cluster: role '${r}' must be 1–20 of [a-z0-9]`);
    }
    removeStaleClusters();
    const used = new Set([...listNamespaces().map(indexOf), ...bridges().map(indexOf)]);
    let index = 0;
    for (let i = 1; i < 255 && !index; i++) {
      if (used.has(i)) continue;
      // The record claims the index atomically: 'wx' fails when another run took it.
      try {
        writeFileSync(
          path.join(RECORDS, `${i}.json`),
          JSON.stringify({
            pid: process.pid,
            namespaces: roles.map((r) => `${PREFIX}${i}-${r}`),
            bridge: `${PREFIX}${i}-br`,
          } satisfies Record_),
          { flag: 'wx', mode: 0o600 },
        );
        index = i;
      } catch {
        // Taken: try the next.
      }
    }
    if (!index) throw new Error('cluster: no free 10.231.x.0/24 subnet index');
    const bridge = `${PREFIX}${index}-br`;
    const gateway = `${SUBNET}.${index}.1`;
    const hosts = new Map<string, NetnsHost>();
    try {
      ip('link', 'add', bridge, 'type', 'bridge');
      ip('addr', 'add', `${gateway}/24`, 'dev', bridge);
      ip('link', 'set', bridge, 'up');
      roles.forEach((role, k) => {
        const h: NetnsHost = {
          role,
          ns: `${PREFIX}${index}-${role}`,
          ip: `${SUBNET}.${index}.${k + 2}`,
          // Numbered, not named: 15 characters is the kernel's limit for an interface name.
          link: `${PREFIX}${index}-h${k}`,
        };
        ip('netns', 'add', h.ns);
        hosts.set(role, h);
        ip('link', 'add', h.link, 'type', 'veth', 'peer', 'name', `${h.link}p`);
        ip('link', 'set', `${h.link}p`, 'netns', h.ns);
        ip('link', 'set', h.link, 'master', bridge, 'up');
        const inNs = (...args: string[]) => ip('-n', h.ns, ...args);
        inNs('link', 'set', `${h.link}p`, 'name', 'eth0');
        inNs('addr', 'add', `${h.ip}/24`, 'dev', 'eth0');
        inNs('link', 'set', 'eth0', 'up');
        inNs('link', 'set', 'lo', 'up');
        run('ip', ['netns', 'exec', h.ns, 'nft', '-f', '-'], PARTITION_TABLE);
      });
    } catch (e) {
      removeIndex(index);
      throw e;
    }
    return new NetnsCluster(index, bridge, gateway, hosts);
  }

  host(role: string): NetnsHost {
    const h = this.hosts.get(role);
    if (!h) throw new Error(`cluster: no host '${role}'`);
    return h;
  }

  /** argv that runs a command on a host: prepend it to the command's own. */
  launcher(role: string): string[] {
    return ['ip', 'netns', 'exec', this.host(role).ns];
  }

  pids(role: string): number[] {
    return pidsIn(this.host(role).ns);
  }

  /** SIGKILL to every process of the host, as a machine losing power; resolves once none is left. */
  async killHost(role: string): Promise<number> {
    const ns = this.host(role).ns;
    let killed = 0;
    for (let left = pidsIn(ns); left.length; left = pidsIn(ns)) {
      killed += left.length;
      killAllIn(ns);
      await sleep(100);
    }
    return killed;
  }

  /** Silently drops everything between `from` and `to` (both ways), until `heal`. */
  partition(from: string, to: string): void {
    this.nftCut(from, 'add', this.host(to).ip);
  }

  heal(from: string, to: string): void {
    this.nftCut(from, 'delete', this.host(to).ip);
  }

  /** The host's cable pulled (its veth down on the bridge): packets to it go nowhere. */
  unplug(role: string): void {
    ip('link', 'set', this.host(role).link, 'down');
  }

  plug(role: string): void {
    ip('link', 'set', this.host(role).link, 'up');
  }

  private nftCut(from: string, op: 'add' | 'delete', addr: string): void {
    run('ip', ['netns', 'exec', this.host(from).ns, 'nft', op, 'element', 'inet', 'hfc', 'cut', `{ ${addr} }`]);
  }

  /** Kills every process of every host, removes the namespaces, the bridge and the record. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    process.removeListener('exit', this.onExit);
    removeIndex(this.index);
  }
}

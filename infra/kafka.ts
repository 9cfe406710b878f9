/**
 * A Kafka 4 broker in KRaft mode (one process, broker and controller), from the jars
 * infra/kafka/install.sh puts in .tools/kafka/jars, run as a ManagedProcess like the
 * Temporal and S3 servers: `hepflow stack up --kafka` for the local stack, and the
 * tests' own brokers on free ports.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';
import { projectRoot, toolsDir } from '../src/paths.js';
import { ManagedProcess } from './managed-process.js';

export const KAFKA_JARS = path.join(toolsDir, 'kafka', 'jars');

export interface KafkaConfig {
  /** Logs, pid file, properties and the broker's data (log.dirs) go under this directory. */
  readonly dir: string;
  readonly ip: string;
  readonly port: number;
  readonly controllerPort: number;
  /** Java heap, e.g. '512m'. */
  readonly heap: string;
  /** More JVM options (the tests' brokers: a faster start instead of peak throughput). */
  readonly jvmOptions?: readonly string[];
}

export function kafkaConfigFromEnv(dataDir: string, env: NodeJS.ProcessEnv = process.env): KafkaConfig {
  const port = Number(env.HEPFLOW_KAFKA_PORT ?? 9092);
  if (!Number.isInteger(port) || port < 1 || port > 65534)
    throw new Error(`HEPFLOW_KAFKA_PORT must be a TCP port, got '${env.HEPFLOW_KAFKA_PORT}'`);
  return {
    dir: path.join(dataDir, 'kafka'),
    ip: env.HEPFLOW_STACK_IP ?? '127.0.0.1',
    port,
    controllerPort: port + 1,
    heap: env.HEPFLOW_KAFKA_HEAP ?? '512m',
  };
}

export const kafkaBootstrap = (c: KafkaConfig): string => `${c.ip}:${c.port}`;

/** Installs the jars when missing; throws with the reason when this machine cannot run Kafka. */
export function ensureKafkaInstalled(): void {
  try {
    execFileSync('bash', [path.join(projectRoot, 'infra', 'kafka', 'install.sh')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
  } catch (e) {
    const stderr = String((e as { stderr?: Buffer }).stderr ?? '').trim();
    throw new Error(stderr || `infra/kafka/install.sh failed: ${(e as Error).message}`);
  }
}

function portAnswers(ip: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: ip, port, timeout: 1_000 });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
    s.once('timeout', () => {
      s.destroy();
      resolve(false);
    });
  });
}

const java = (env: NodeJS.ProcessEnv = process.env): string => env.HEPFLOW_JAVA ?? 'java';

const files = (c: KafkaConfig) => ({
  dataDir: path.join(c.dir, 'data'),
  props: path.join(c.dir, 'server.properties'),
  log4j: path.join(c.dir, 'log4j2.properties'),
  classpath: `${KAFKA_JARS}${path.sep}*`,
});

/** The broker process for `c` (status and stop; start it with startKafka). */
export function kafkaBroker(c: KafkaConfig): ManagedProcess {
  const { props, log4j, classpath } = files(c);
  return new ManagedProcess(
    'kafka',
    c.dir,
    java(),
    [
      `-Xmx${c.heap}`,
      ...(c.jvmOptions ?? []),
      `-Dlog4j2.configurationFile=${log4j}`,
      '-cp',
      classpath,
      'kafka.Kafka',
      props,
    ],
    () => portAnswers(c.ip, c.port),
  );
}

/**
 * Starts the broker (idempotent): installs the jars if needed, writes its configuration
 * and formats its storage once (what kafka-storage.sh format does, via
 * kafka.tools.StorageTool) before the first start.
 */
export async function startKafka(c: KafkaConfig, timeoutMs = 120_000): Promise<'started' | 'already running'> {
  const { dataDir, props, log4j, classpath } = files(c);
  ensureKafkaInstalled();
  mkdirSync(c.dir, { recursive: true });
  writeFileSync(
    props,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.bootstrap.servers=${c.ip}:${c.controllerPort}`,
      `listeners=PLAINTEXT://${c.ip}:${c.port},CONTROLLER://${c.ip}:${c.controllerPort}`,
      `advertised.listeners=PLAINTEXT://${c.ip}:${c.port}`,
      'controller.listener.names=CONTROLLER',
      'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
      'inter.broker.listener.name=PLAINTEXT',
      `log.dirs=${dataDir}`,
      'num.partitions=1',
      // Delphes events as JSON run to a few hundred kB each; batches of them pass 1 MB.
      'message.max.bytes=16777216',
      // One broker: internal topics cannot have more replicas than that.
      'offsets.topic.replication.factor=1',
      'share.coordinator.state.topic.replication.factor=1',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      // A consumer group starts at once instead of waiting for more members.
      'group.initial.rebalance.delay.ms=0',
      '',
    ].join('\n'),
  );
  writeFileSync(
    log4j,
    [
      'rootLogger.level=WARN',
      'rootLogger.appenderRef.stdout.ref=STDOUT',
      'appender.stdout.type=Console',
      'appender.stdout.name=STDOUT',
      'appender.stdout.layout.type=PatternLayout',
      'appender.stdout.layout.pattern=[%d] %p %m (%c)%n',
      '',
    ].join('\n'),
  );
  if (!existsSync(path.join(dataDir, 'meta.properties'))) {
    const run = (args: string[]) =>
      execFileSync(java(), ['-cp', classpath, 'kafka.tools.StorageTool', ...args], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      }).trim();
    const clusterId = run(['random-uuid']).split('\n').pop()!;
    run(['format', '-t', clusterId, '-c', props, '--standalone']);
  }
  return kafkaBroker(c).start(timeoutMs);
}

import { stackClientEnv, stackConfigFromEnv, webUiUrl } from '../../infra/stack-config.js';
import { stackDown, stackStatus, stackUp } from '../../infra/stack.js';
import { kafkaBootstrap, kafkaBroker, kafkaConfigFromEnv, startKafka } from '../../infra/kafka.js';

export async function stackUpCommand(o: { kafka?: boolean }): Promise<void> {
  const config = stackConfigFromEnv();
  const r = await stackUp(config);
  console.log(
    `temporal: ${r.temporal} (gRPC ${config.temporal.ip}:${config.temporal.port}, web UI ${webUiUrl(config)})`,
  );
  console.log(`s3:       ${r.s3} (http://${config.s3.ip}:${config.s3.port}, bucket '${config.s3.bucket}')`);
  if (o.kafka) {
    const kafka = kafkaConfigFromEnv(config.dataDir);
    console.log(`kafka:    ${await startKafka(kafka)} (${kafkaBootstrap(kafka)}, KRaft)`);
  }
  console.log(`data:     ${config.dataDir}`);
}

export async function stackDownCommand(): Promise<void> {
  const config = stackConfigFromEnv();
  const r = await stackDown(config);
  console.log(`temporal: ${r.temporal ? 'stopped' : 'was not running'}`);
  console.log(`s3:       ${r.s3 ? 'stopped' : 'was not running'}`);
  if (await kafkaBroker(kafkaConfigFromEnv(config.dataDir)).stop()) console.log('kafka:    stopped');
}

export async function stackStatusCommand(): Promise<void> {
  const config = stackConfigFromEnv();
  const s = await stackStatus(config);
  const line = (x: { running: boolean; healthy: boolean; pid: number | undefined }) =>
    x.running ? `${x.healthy ? 'healthy' : 'UNHEALTHY'} (pid ${x.pid})` : 'stopped';
  console.log(`temporal: ${line(s.temporal)}  ${webUiUrl(config)}`);
  console.log(`s3:       ${line(s.s3)}  http://${config.s3.ip}:${config.s3.port}`);
  if (!s.temporal.healthy || !s.s3.healthy) process.exitCode = 1;
}

/**
 * Shell exports for this stack: what the `temporal` CLI and Temporal clients read
 * (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE), what S3 clients read (AWS_*), and the stack's
 * own ports, so later `hepflow` commands in that shell agree on them, UI links included.
 */
export async function stackEnvCommand(): Promise<void> {
  const config = stackConfigFromEnv();
  const vars = {
    ...stackClientEnv(config),
    HEPFLOW_TEMPORAL_PORT: String(config.temporal.port),
    HEPFLOW_TEMPORAL_UI_PORT: String(config.temporal.uiPort),
    HEPFLOW_S3_PORT: String(config.s3.port),
    HEPFLOW_DATA_DIR: config.dataDir,
    TEMPORAL_UI_ADDRESS: webUiUrl(config),
  };
  for (const [k, v] of Object.entries(vars)) console.log(`export ${k}=${shellQuote(v)}`);
}

const shellQuote = (v: string): string => (/^[\w@%+=:,./-]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`);

import { stackClientEnv, stackConfigFromEnv, webUiUrl } from '../../infra/stack-config.js';
import { stackDown, stackStatus, stackUp } from '../../infra/stack.js';
import { kafkaBootstrap, kafkaBroker, kafkaConfigFromEnv, startKafka } from '../../infra/kafka.js';
import { UsageError } from '../args.js';

export async function stackCommand(args: string[]): Promise<void> {
  const config = stackConfigFromEnv();
  const kafka = kafkaConfigFromEnv(config.dataDir);
  switch (args[0]) {
    case 'up': {
      if (args.length > 1 && args[1] !== '--kafka') throw new UsageError('usage: hepflow stack up [--kafka]');
      const r = await stackUp(config);
      console.log(`temporal: ${r.temporal} (gRPC ${config.temporal.ip}:${config.temporal.port}, web UI ${webUiUrl(config)})`);
      console.log(`s3:       ${r.s3} (http://${config.s3.ip}:${config.s3.port}, bucket '${config.s3.bucket}')`);
      if (args[1] === '--kafka') console.log(`kafka:    ${await startKafka(kafka)} (${kafkaBootstrap(kafka)}, KRaft)`);
      console.log(`data:     ${config.dataDir}`);
      return;
    }
    case 'down': {
      const r = await stackDown(config);
      console.log(`temporal: ${r.temporal ? 'stopped' : 'was not running'}`);
      console.log(`s3:       ${r.s3 ? 'stopped' : 'was not running'}`);
      if (await kafkaBroker(kafka).stop()) console.log('kafka:    stopped');
      return;
    }
    case 'status': {
      const s = await stackStatus(config);
      const line = (x: { running: boolean; healthy: boolean; pid: number | undefined }) =>
        x.running ? `${x.healthy ? 'healthy' : 'UNHEALTHY'} (pid ${x.pid})` : 'stopped';
      console.log(`temporal: ${line(s.temporal)}  ${webUiUrl(config)}`);
      console.log(`s3:       ${line(s.s3)}  http://${config.s3.ip}:${config.s3.port}`);
      if (!s.temporal.healthy || !s.s3.healthy) process.exitCode = 1;
      return;
    }
    case 'env': {
      for (const [k, v] of Object.entries(stackClientEnv(config))) console.log(`export ${k}=${v}`);
      return;
    }
    default:
      throw new UsageError(`usage: hepflow stack up [--kafka]|down|status|env`);
  }
}
